/**
 * Test support for the IPVS driver (host tests and the guest tests in test/vm-guest/):
 * fast-check generators of owned IPVS states, foreign services, and small helpers.
 * Every generated state is valid for the kernel: VIPs in the service ranges below, real
 * servers of the service's family, ports ≥ 1, scheduler flags spelled flag-N.
 */
import fc from "fast-check";
import { canonicalReal, canonicalSchedFlags } from "../../src/apply/ipvs/syntax.ts";
import { type IpvsReal, type IpvsService, type NodeState, emptyNodeState, ipvsRealKey, ipvsServiceKey } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";

/** The ranges the generated VIPs live in (pass them as the driver's `serviceCidrs`). */
export const SERVICE_CIDRS = ["10.96.0.0/12", "fd00:96::/112"];
export const FOREIGN_VIPS = ["192.0.2.10", "192.0.2.11", "2001:db8::10"];

const VIPS4 = ["10.96.0.10", "10.96.0.11", "10.96.1.1"];
const VIPS6 = ["fd00:96::10", "fd00:96::a"];
const REALS4 = ["10.244.0.11", "10.244.0.12", "10.244.1.5"];
const REALS6 = ["fd00:244::11", "fd00:244::12"];
const SCHEDS = ["rr", "wrr", "lc", "wlc", "sh", "dh", "mh"];

export interface IpvsState {
  readonly ipvsServices: Map<string, IpvsService>;
  readonly ipvsReals: Map<string, IpvsReal>;
}

const arbAttrs = fc.record({
  scheduler: fc.constantFrom(...SCHEDS),
  flags: fc.subarray(["flag-1", "flag-2", "flag-3"]),
  persistent: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
}).map((a) => ({ ...a, flags: canonicalSchedFlags(a.flags, a.scheduler) }));

/** One service with its identity drawn from the pools. */
export const arbService: fc.Arbitrary<IpvsService> = fc.oneof(
  fc.record({ six: fc.boolean(), protocol: fc.constantFrom("tcp", "udp", "sctp") as fc.Arbitrary<"tcp" | "udp" | "sctp">, i: fc.nat(), port: fc.constantFrom(53, 80, 443, 30080) , a: arbAttrs })
    .map(({ six, protocol, i, port, a }) => {
      const pool = six ? VIPS6 : VIPS4;
      return { family: six ? "ipv6" : "ipv4", protocol, address: pool[i % pool.length]!, port, scheduler: a.scheduler, flags: a.flags, ...(a.persistent !== undefined ? { persistent: a.persistent } : {}) } as IpvsService;
    }),
  fc.record({ six: fc.boolean(), mark: fc.constantFrom(1, 4660, 16383), a: arbAttrs }).map(({ six, mark, a }) =>
    ({ family: six ? "ipv6" : "ipv4", protocol: "fwmark", address: "", port: 0, fwmark: mark, scheduler: a.scheduler, flags: a.flags, ...(a.persistent !== undefined ? { persistent: a.persistent } : {}) }) as IpvsService),
);

/** Real servers for a service (family of the service; tunnel for fwmark services). */
export const arbReals = (s: IpvsService): fc.Arbitrary<IpvsReal[]> => {
  const key = ipvsServiceKey(s);
  const pool = s.family === "ipv6" ? REALS6 : REALS4;
  return fc.uniqueArray(
    fc.record({ address: fc.constantFrom(...pool), port: fc.constantFrom(53, 8080, 8443), weight: fc.constantFrom(0, 1, 1, 1, 5), forward: s.protocol === "fwmark" ? fc.constant("tunnel" as const) : fc.constantFrom("masq", "masq", "route") as fc.Arbitrary<"masq" | "route"> })
      .map((r) => canonicalReal({ service: key, ...r } as IpvsReal, s)),
    { maxLength: 3, selector: (r) => ipvsRealKey(r) },
  );
};

/** A whole owned IPVS state (services unique by key). */
export const arbIpvsState: fc.Arbitrary<IpvsState> = fc.uniqueArray(arbService, { maxLength: 6, selector: (s) => ipvsServiceKey(s) })
  .chain((svcs) => fc.tuple(...svcs.map((s) => arbReals(s))).map((rs) => stateOf(svcs, rs.flat())));

/** Foreign services (VIPs outside the ranges, never on kube-dummy-if), each with a real. */
export const arbForeign: fc.Arbitrary<IpvsState> = fc.subarray(FOREIGN_VIPS).map((vips) => {
  const svcs: IpvsService[] = vips.map((v) => ({ family: v.includes(":") ? "ipv6" : "ipv4", protocol: "tcp", address: v, port: 80, scheduler: "rr", flags: [] }));
  const reals: IpvsReal[] = svcs.map((s) => ({ service: ipvsServiceKey(s), address: s.family === "ipv6" ? "2001:db8::99" : "192.0.2.99", port: 80, weight: 1, forward: "masq" }));
  return stateOf(svcs, reals);
});

export function stateOf(svcs: readonly IpvsService[], reals: readonly IpvsReal[]): IpvsState {
  return {
    ipvsServices: new Map(svcs.map((s) => [ipvsServiceKey(s), s])),
    ipvsReals: new Map(reals.map((r) => [ipvsRealKey(r), r])),
  };
}

/** A NodeState with only the IPVS tables set (sorted). */
export function nodeWith(s: IpvsState): NodeState {
  return { ...emptyNodeState(), ipvsServices: sortedTable(s.ipvsServices), ipvsReals: sortedTable(s.ipvsReals) };
}

/** Union of two IPVS states. */
export function union(a: IpvsState, b: IpvsState): IpvsState {
  return { ipvsServices: new Map([...a.ipvsServices, ...b.ipvsServices]), ipvsReals: new Map([...a.ipvsReals, ...b.ipvsReals]) };
}
