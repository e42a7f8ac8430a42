/**
 * The service proxy's render (`--run-service-proxy`): ClusterSnapshot + NodeConfig + HostFacts
 * → IPVS services and real servers plus their plumbing, warnings and the side outputs the
 * agent needs (health-check ports, DSR pod tunnels).
 *
 * Guarantees:
 * - pure and deterministic: Services are rendered in `namespace/name` order, endpoints sorted,
 *   fwmarks allocated in sorted order; same input ⇒ byte-identical output;
 * - bad input never fails the render: a rejected IP, an unknown annotation value, two Services
 *   claiming one VIP:port (both skipped for that VIP:port, one warning naming both — a conflict
 *   is data, never last-writer-wins) each give one warning line naming the objects and field;
 * - `--excluded-cidrs`: no IPVS service is rendered for a VIP inside them (those are never
 *   ours, see names.ts `ownsIpvsService`);
 * - a kernel without IPVS (`host.ipvs.available === false`) fails the controller with one line
 *   saying what to load; the engine then keeps the proxy's objects and the others still sync;
 * - incremental: per-Service results are memoised on input identity (service.ts), so one
 *   endpoint change re-renders one Service.
 *
 * @category render
 */
import { ChunkedTable } from "../../model/chunked-table.ts";
import { cidrContains } from "../../model/ip.ts";
import { IPVS_MODULES_HINT, KUBE_DUMMY_IF } from "../../model/names.ts";
import {
  type Address, type Chain, type Family, type IpvsReal, type IpvsService, type Jump, type Link, type NodeState, type PolicyRule, type Route,
  chainKey, ipsetKey, ipvsRealKey, ipvsServiceKey, jumpKey, linkKey, policyRuleKey, routeKey, sysctlKey,
} from "../../model/state.ts";
import { deepEqual } from "../../model/table.ts";
import { dsrTunnelKey, healthCheckKey } from "../../model/rows.ts";
import type { ControllerResult, RenderInput } from "../controller.ts";
import { skipReason } from "./annotations.ts";
import { type ProxyContext, proxyContext } from "./context.ts";
import { type DsrEntry, dsrPlumbing } from "./dsr.ts";
import { slicesByService } from "./endpoints.ts";
import { orNone } from "../none.ts";
import { allocateFwmarks, fwmarkKey } from "./fwmark.ts";
import { ipvsTimeouts, natRules, rpFilterSysctls, proxyIpsets, proxySysctls, servicesFirewall, vipPortMember } from "./plumbing.ts";
import { type DsrPod, type HealthCheck, type ServiceRender, type Virtual, renderService } from "./service.ts";

/** Kernel modules the proxy needs (what the one-line error asks to load). */

export interface ProxyRender {
  readonly result: ControllerResult;
  /** healthCheckNodePort servers wanted (sorted by port). */
  readonly healthChecks: readonly HealthCheck[];
  /** DSR tunnels wanted inside local endpoint pods (sorted). */
  readonly dsrPods: readonly (DsrPod & { readonly containerId?: string })[];
}

const EMPTY: Pick<ProxyRender, "healthChecks" | "dsrPods"> = { healthChecks: [], dsrPods: [] };

let sortedMemo: { services: RenderInput["snapshot"]["services"]; keys: string[] } | undefined;
function sortedServiceKeys(services: RenderInput["snapshot"]["services"]): string[] {
  if (sortedMemo?.services === services) return sortedMemo.keys;
  const keys = [...services.keys()].sort();
  sortedMemo = { services, keys };
  return keys;
}

/** Renders the proxy with its side outputs (see the module comment). */
export function renderProxyFull(input: RenderInput): ProxyRender {
  const { snapshot, config, host, nodeName } = input;
  if (host.ipvs?.available === false) {
    const why = host.ipvs.reason ? ` (${host.ipvs.reason})` : "";
    return { ...EMPTY, result: { error: `proxy: the kernel has no IPVS${why}; load it with: ${IPVS_MODULES_HINT}; the service proxy stays off (its kernel objects untouched) until IPVS is available, the other controllers keep running`, warnings: [] } };
  }
  const node = snapshot.nodes.get(nodeName);
  if (node === undefined) return { ...EMPTY, result: { error: `proxy: Node ${nodeName} not found in the cluster`, warnings: [] } };
  const ctx = proxyContext(config, host, node, nodeName);
  if (ctx.nodeIp.size === 0) return { ...EMPTY, result: { error: `proxy: Node ${nodeName}: status.addresses: host IP unknown (no InternalIP or ExternalIP)`, warnings: [] } };
  const warnings: string[] = [];
  const index = slicesByService(snapshot.endpointSlices);
  const renders: ServiceRender[] = [];
  for (const key of sortedServiceKeys(snapshot.services)) {
    const s = snapshot.services.get(key)!;
    if (skipReason(s) !== undefined) continue;
    const r = renderService(ctx, s, index.get(key), snapshot.pods);
    renders.push(r);
    for (const w of r.warnings) warnings.push(w);
  }

  // Conflicts: a VIP:port claimed by two Services is skipped for both (memoised: usually no
  // Service's VIP:ports changed since the last render).
  const { conflicted, lines, blocked } = conflicts(renders);
  warnings.push(...lines);

  // Each Service's share (its final virtuals: conflicts and excluded CIDRs dropped), memoised
  // per Service render so unchanged Services give the very same chunks.
  const shares: Share[] = [];
  for (const r of renders) {
    const sh = share(ctx, r, blocked.size === 0 ? "" : blocked.get(r.ref) ?? "", conflicted);
    shares.push(sh);
    for (const w of sh.warnings) warnings.push(w);
  }

  // DSR fwmarks, allocated over the sorted set of DSR keys.
  const dsrKeys: string[] = [];
  const withDsr: Share[] = [];
  for (const sh of shares) if (sh.dsr.length > 0) withDsr.push(sh);
  for (const sh of withDsr) for (const v of sh.dsr) dsrKeys.push(fwmarkKey(v.vip, v.protocol, v.port));
  const { marks, errors: markErrors } = allocateFwmarks(dsrKeys);
  for (const e of markErrors) warnings.push(`proxy: ${e}`);

  const serviceChunks: (readonly [string, ReadonlyMap<string, IpvsService>])[] = [];
  const realChunks: (readonly [string, ReadonlyMap<string, IpvsReal>])[] = [];
  const dsrEntries: DsrEntry[] = [];
  let sloppy = false;
  for (const sh of shares) {
    serviceChunks.push(sh.serviceChunk);
    realChunks.push(sh.realChunk);
    if (sh.dsr.length === 0) continue;
    // DSR: the keys depend on the fwmarks, allocated across Services above
    const d = dsrShare(sh, marks);
    serviceChunks.push([`${sh.ref}\u0000dsr`, d.services]);
    realChunks.push([`${sh.ref}\u0000dsr`, d.reals]);
    for (const e of d.entries) dsrEntries.push(e);
    if (d.sloppy) sloppy = true;
  }
  const ipvsServices = new ChunkedTable(serviceChunks);
  const ipvsReals = new ChunkedTable(realChunks);
  const plumbing = sharedPlumbing(ctx, shares, withDsr, marks);
  const addresses = plumbing.addresses;
  let routes = plumbing.routes;
  const { vips, vipPorts } = plumbing;

  const hairpin = new Map<Family, string[]>();
  for (const r of renders) for (const h of r.hairpin) (hairpin.get(h.family) ?? hairpin.set(h.family, []).get(h.family)!).push(h.rule);
  for (const [f, rules] of hairpin) hairpin.set(f, [...new Set(rules)].sort());

  const fw = servicesFirewall(ctx);
  const nat = natRules(ctx, hairpin);
  warnings.push(...nat.warnings);
  dsrEntries.sort((a, b) => (a.fwmark - b.fwmark));
  const mtu = ctx.nodeMtu ?? 1500;
  if (dsrEntries.length > 0 && ctx.nodeMtu === undefined) warnings.push(`proxy: no host interface carries the node IP; DSR TCPMSS assumes MTU 1500`);
  const dsr = dsrPlumbing(dsrEntries, mtu);
  if (dsr.routes.length > 0) {
    const withDsr = new Map(routes);
    for (const rt of dsr.routes) withDsr.set(routeKey(rt), rt);
    routes = withDsr;
  }

  const link: Link = { name: KUBE_DUMMY_IF, kind: "dummy", up: true };
  const chains: Chain[] = [...fw.chains, ...nat.chains, ...dsr.chains];
  const jumps: Jump[] = [...fw.jumps, ...nat.jumps, ...dsr.jumps];
  const rules: PolicyRule[] = dsr.rules;
  const state: Partial<NodeState> = {
    ipvsServices,
    ipvsReals,
    links: new Map([[linkKey(link), link]]),
    addresses,
    routes,
    rules: new Map(rules.map((r) => [policyRuleKey(r), r])),
    ipsets: new Map(proxyIpsets(ctx, vips, vipPorts).map((s) => [ipsetKey(s), s])),
    chains: new Map(chains.map((c) => [chainKey(c), c])),
    jumps: new Map(jumps.map((j) => [jumpKey(j), j])),
    sysctls: new Map([...proxySysctls(sloppy), ...rpFilterSysctls(host.rpFilter, ctx.nodeIface)].map((s) => [sysctlKey(s), s])),
    ipvsTimeouts: ipvsTimeouts(ctx.config),
  };

  const healthChecks: HealthCheck[] = [];
  const podsWanted: DsrPod[] = [];
  for (const r of renders) {
    if (r.health) healthChecks.push(r.health);
    for (const p of r.dsrPods) podsWanted.push(p);
  }
  healthChecks.sort((a, b) => a.port - b.port || (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  const dsrVips = new Set(dsrEntries.map((e) => e.vip));
  const dsrPods = podsWanted.filter((p) => dsrVips.has(p.vip)).map((p) => {
    const pod = snapshot.pods.get(p.pod);
    return { ...p, ...(pod?.containerID !== undefined ? { containerId: pod.containerID } : {}) };
  });
  const uniq = new Map(dsrPods.map((p) => [`${p.pod}|${p.podIp}|${p.vip}`, p]));
  const sortedPods = [...uniq.keys()].sort().map((k) => uniq.get(k)!);
  const full: Partial<NodeState> = {
    ...state,
    healthChecks: healthCheckTable(healthChecks),
    // a pod without a container ID is not running yet: its tunnel comes with the pod update that names one
    dsrTunnels: new Map(sortedPods.flatMap((p) => (p.containerId === undefined ? [] : [[dsrTunnelKey(p), p] as const]))),
  };
  return { result: { ok: { state: full, warnings } }, healthChecks, dsrPods: sortedPods };
}

/** One listener per port: the first Service in port, namespace/name order keeps a shared port (the API forbids sharing). */
function healthCheckTable(checks: readonly HealthCheck[]): ReadonlyMap<string, HealthCheck> {
  const out = new Map<string, HealthCheck>();
  for (const h of checks) if (!out.has(healthCheckKey(h))) out.set(healthCheckKey(h), h);
  return out;
}

/** One Service's final share of the tables (see `share`). */
interface Share {
  readonly ref: string;
  /** Non-DSR IPVS services and their real servers (chunks of the chunked tables). */
  readonly serviceChunk: readonly [string, ReadonlyMap<string, IpvsService>];
  readonly realChunk: readonly [string, ReadonlyMap<string, IpvsReal>];
  readonly addresses: readonly (readonly [string, Address])[];
  readonly routes: readonly (readonly [string, Route])[];
  /** kube-router-svip members, in virtual order. */
  readonly vips: readonly (readonly [Family, string])[];
  /** kube-router-svip-prt members, in virtual order; DSR ones only once their fwmark is allocated. */
  readonly vipPorts: readonly { readonly family: Family; readonly member: string; readonly dsrKey?: string }[];
  /** Final DSR virtuals, in order. */
  readonly dsr: readonly Virtual[];
  /** `--excluded-cidrs` warnings. */
  readonly warnings: readonly string[];
}

interface Conflicts {
  /** VIP:port → the Services claiming it. */
  readonly conflicted: ReadonlyMap<string, ReadonlySet<string>>;
  readonly lines: readonly string[];
  /** Service ref → its conflicted VIP:ports, joined (the share memo's key). */
  readonly blocked: ReadonlyMap<string, string>;
}

const vipKeysMemo = new WeakMap<ServiceRender, readonly string[]>();
const vipKeysOf = (r: ServiceRender): readonly string[] => {
  let k = vipKeysMemo.get(r);
  if (k === undefined) vipKeysMemo.set(r, (k = r.virtuals.map((v) => v.vipKey)));
  return k;
};
const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a === b || (a.length === b.length && a.every((x, i) => x === b[i]));

let conflictMemo: { renders: readonly ServiceRender[]; result: Conflicts } | undefined;

/** VIP:ports claimed by two Services (memoised on the Services' refs and VIP:port lists, compared by value). */
function conflicts(renders: readonly ServiceRender[]): Conflicts {
  const m = conflictMemo;
  if (m && m.renders.length === renders.length && renders.every((r, i) => { const p = m.renders[i]!; return r === p || (r.ref === p.ref && sameStrings(vipKeysOf(r), vipKeysOf(p))); })) {
    conflictMemo = { renders, result: m.result };
    return m.result;
  }
  const claimants = new Map<string, string>();
  const conflicted = new Map<string, Set<string>>();
  for (const r of renders) {
    const ref = r.ref;
    for (const k of vipKeysOf(r)) {
      const prev = claimants.get(k);
      if (prev === undefined) claimants.set(k, ref);
      else if (prev !== ref) (conflicted.get(k) ?? conflicted.set(k, new Set([prev])).get(k)!).add(ref);
    }
  }
  const lines: string[] = [];
  const blockedLists = new Map<string, string[]>();
  for (const [k, rs] of [...conflicted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`proxy: ${k} is claimed by Services ${[...rs].sort().join(", ")}; skipped for all of them until only one claims it`);
    for (const ref of rs) (blockedLists.get(ref) ?? blockedLists.set(ref, []).get(ref)!).push(k);
  }
  const blocked = new Map([...blockedLists].map(([ref, ks]) => [ref, ks.join("\n")]));
  const result: Conflicts = { conflicted, lines, blocked };
  conflictMemo = { renders, result };
  return result;
}

const shareMemo = new WeakMap<ServiceRender, { readonly ctx: ProxyContext; readonly blocked: string; readonly share: Share }>();

/**
 * One Service's final virtuals: conflicted VIP:ports skipped, the same VIP:port twice in one
 * Service first wins, VIPs inside --excluded-cidrs dropped (with a warning). Memoised on the
 * Service render, the context and the Service's conflicted VIP:ports.
 */
function share(ctx: ProxyContext, r: ServiceRender, blocked: string, conflicted: ReadonlyMap<string, unknown>): Share {
  const hit = shareMemo.get(r);
  if (hit && hit.ctx === ctx && hit.blocked === blocked) return hit.share;
  const excluded = ctx.config.excludedCidrs;
  const taken = new Set<string>();
  const services = new Map<string, IpvsService>();
  const reals = new Map<string, IpvsReal>();
  const addresses: (readonly [string, Address])[] = [];
  const routes: (readonly [string, Route])[] = [];
  const vips: (readonly [Family, string])[] = [];
  const vipPorts: { family: Family; member: string; dsrKey?: string }[] = [];
  const dsr: Virtual[] = [];
  const warnings: string[] = [];
  for (const v of r.virtuals) {
    if (conflicted.has(v.vipKey) || taken.has(v.vipKey)) continue;
    if (excluded.length > 0 && excluded.some((c) => cidrContains(c, v.vip))) {
      warnings.push(`Service ${v.ref}: ${v.vip} is inside --excluded-cidrs; no IPVS service rendered for it`);
      continue;
    }
    taken.add(v.vipKey);
    vips.push([v.family, v.vip]);
    const e = v.entries;
    if (e === undefined) {
      dsr.push(v);
      vipPorts.push({ family: v.family, member: vipPortMember(v.family, v.vip, v.protocol, v.port), dsrKey: fwmarkKey(v.vip, v.protocol, v.port) });
      continue;
    }
    services.set(e.key, v.service);
    for (const real of e.reals) reals.set(ipvsRealKey(real), real);
    if (e.address) addresses.push(e.address);
    if (e.route) routes.push(e.route);
    vipPorts.push({ family: v.family, member: e.member });
  }
  const result: Share = {
    ref: r.ref, serviceChunk: [r.ref, services], realChunk: [r.ref, reals],
    addresses: orNone(addresses), routes: orNone(routes), vips: orNone(vips), vipPorts: orNone(vipPorts), dsr: orNone(dsr), warnings: orNone(warnings),
  };
  shareMemo.set(r, { ctx, blocked, share: result });
  return result;
}

interface DsrShare {
  readonly marks: readonly (number | undefined)[];
  readonly services: ReadonlyMap<string, IpvsService>;
  readonly reals: ReadonlyMap<string, IpvsReal>;
  readonly entries: readonly DsrEntry[];
  readonly sloppy: boolean;
}
const dsrMemo = new WeakMap<Share, DsrShare>();

/** A Service's DSR virtual services once the fwmarks are known (memoised on the share and its marks). */
function dsrShare(sh: Share, marks: ReadonlyMap<string, number>): DsrShare {
  const own = sh.dsr.map((v) => marks.get(fwmarkKey(v.vip, v.protocol, v.port)));
  const hit = dsrMemo.get(sh);
  if (hit && hit.marks.every((m, i) => m === own[i])) return hit;
  const services = new Map<string, IpvsService>();
  const reals = new Map<string, IpvsReal>();
  const entries: DsrEntry[] = [];
  let sloppy = false;
  sh.dsr.forEach((v, i) => {
    const mark = own[i];
    if (mark === undefined) return;
    const svc: IpvsService = { ...v.service, fwmark: mark };
    entries.push({ family: v.family, vip: v.vip, protocol: v.protocol, port: v.port, fwmark: mark });
    if (svc.scheduler === "mh") sloppy = true;
    const key = ipvsServiceKey(svc);
    services.set(key, svc);
    for (const real of v.reals) {
      const r: IpvsReal = real.graceSeconds === undefined
        ? { service: key, address: real.address, port: real.port, weight: real.weight, forward: real.forward }
        : { service: key, address: real.address, port: real.port, weight: real.weight, forward: real.forward, graceSeconds: real.graceSeconds };
      reals.set(ipvsRealKey(r), r);
    }
  });
  const result: DsrShare = { marks: own, services, reals, entries, sloppy };
  dsrMemo.set(sh, result);
  return result;
}

interface Plumbing {
  readonly addresses: ReadonlyMap<string, Address>;
  readonly routes: ReadonlyMap<string, Route>;
  readonly vips: ReadonlyMap<Family, Set<string>>;
  readonly vipPorts: ReadonlyMap<Family, Set<string>>;
}

const samePairs = <T>(a: readonly (readonly [string, T])[], b: readonly (readonly [string, T])[]): boolean =>
  a === b || (a.length === b.length && a.every(([k, v], i) => k === b[i]![0] && deepEqual(v, b[i]![1])));
const sameShared = (a: Share, b: Share): boolean =>
  a === b || (samePairs(a.addresses, b.addresses) && samePairs(a.routes, b.routes) && samePairs(a.vips, b.vips) &&
    a.vipPorts.length === b.vipPorts.length && a.vipPorts.every((p, i) => p.family === b.vipPorts[i]!.family && p.member === b.vipPorts[i]!.member && p.dsrKey === b.vipPorts[i]!.dsrKey));

let plumbingMemo: { ctx: ProxyContext; shares: readonly Share[]; missing: string; result: Plumbing } | undefined;

/**
 * The tables every Service adds to (VIP addresses and local routes, shared by Services with one
 * VIP; the VIP ipsets' members), in Service order. Memoised: reused while every Service's part
 * is equal by value and the same DSR keys lack a fwmark, so the member sets keep their identity.
 */
function sharedPlumbing(ctx: ProxyContext, shares: readonly Share[], withDsr: readonly Share[], marks: ReadonlyMap<string, number>): Plumbing {
  const missing: string[] = [];
  for (const sh of withDsr) for (const p of sh.vipPorts) if (p.dsrKey !== undefined && !marks.has(p.dsrKey)) missing.push(p.dsrKey);
  const miss = missing.join("\n");
  const m = plumbingMemo;
  if (m && m.ctx === ctx && m.missing === miss && m.shares.length === shares.length && shares.every((sh, i) => sameShared(sh, m.shares[i]!))) {
    plumbingMemo = { ...m, shares };
    return m.result;
  }
  const addresses = new Map<string, Address>();
  const routes = new Map<string, Route>();
  const vips = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  const vipPorts = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  for (const sh of shares) {
    for (const [k, a] of sh.addresses) addresses.set(k, a);
    for (const [k, rt] of sh.routes) routes.set(k, rt);
    for (const [f, vip] of sh.vips) vips.get(f)?.add(vip);
    for (const p of sh.vipPorts) if (p.dsrKey === undefined || marks.has(p.dsrKey)) vipPorts.get(p.family)?.add(p.member);
  }
  const result: Plumbing = { addresses, routes, vips, vipPorts };
  plumbingMemo = { ctx, shares, missing: miss, result };
  return result;
}

/** The controller's render: the proxy's tables and warnings (or its one error line). */
export function renderProxy(input: RenderInput): ControllerResult {
  return renderProxyFull(input).result;
}
