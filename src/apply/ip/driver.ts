/**
 * The iproute2 driver: tables links, addresses, routes, rules, neighbours.
 *
 * Observe runs six read-only dumps (concurrently): `ip -d -j addr show` (links and
 * addresses in one), `ip -4|-6 -j route show table all proto 17`, `ip -4|-6 -j rule show`,
 * `ip -j neigh show` (both families; only entries on our vxlan devices are kept, neigh.ts);
 * and, only while FoU receive ports are desired, `ip [-6] -j fou show` (fou.ts).
 * It needs one route and one rule dump per family because `ip rule` defaults to IPv4 and a
 * family-less route dump prints no family (an IPv6 `default` would be ambiguous).
 *
 * Observed objects are canonical (canon.ts) and then aligned with desired where the model
 * says an attribute is not managed: a link's `mtu` (and, overlay, its MAC `address`) is dropped when the desired link has none,
 * and a route's `dev` is dropped when the desired route has a gateway but no `dev` (the kernel
 * fills in the device it resolved). So an unchanged desired state diffs empty.
 *
 * Full sync after a re-create: a link re-created (kind, vxlan or tunnel attributes changed:
 * an `--overlay-encap` switch) or deleted loses every address, route, neighbour and FDB entry
 * the kernel held on it, also those the plan did not mention (they were unchanged). After a
 * batch that did so has run, `wantsFullSync` names the links until the next observe, so the
 * runtime's next sync observes and re-adds them (issue 11: ipip → fou converges in two syncs,
 * the second requested by the driver).
 *
 * Failure: observe rejects with ExecError when a dump fails and with Error on malformed JSON;
 * scripts reject with ExecError when `ip` reports any failed line (see compile.ts).
 *
 * @category apply
 */
import type { HostInterface } from "../../model/host.ts";
import { ROUTE_PROTO } from "../../model/names.ts";
import type { NodePlan } from "../../model/plan.ts";
import type { Link, NodeState, Route } from "../../model/state.ts";
import type { Table } from "../../model/table.ts";
import { ORDER, type Driver, type Script } from "../driver.ts";
import type { Exec } from "../exec.ts";
import { compileIp, linksRecreated } from "./compile.ts";
import { FOU_DUMPS, observedFouPorts } from "./fou.ts";
import { NEIGH_DUMP, parseNeighbors } from "./neigh.ts";
import { type AddrShow, parseAddrShow, parseRoutes, parseRules } from "./parse.ts";

/** The read-only command lines observe runs (also what the fake answers). */
export const IP_DUMPS = {
  addr: ["-d", "-j", "addr", "show"],
  route4: ["-4", "-j", "route", "show", "table", "all", "proto", ROUTE_PROTO],
  route6: ["-6", "-j", "route", "show", "table", "all", "proto", ROUTE_PROTO],
  rule4: ["-4", "-j", "rule", "show"],
  rule6: ["-6", "-j", "rule", "show"],
  neigh: NEIGH_DUMP,
} as const;

const dump = async (exec: Exec, args: readonly string[]): Promise<string> => (await exec.run("ip", args)).stdout;

/**
 * The last `ip -d -j addr show` text and its parse. Host facts and the driver's observe read
 * the same (shared) dump in one sync, so it is parsed once; on a proxy node it holds every
 * Service IP (kube-dummy-if), ~20 ms of parsing at L. Between syncs the text rarely repeats
 * (`-d` prints bridge timers). parseAddrShow is pure, so equal text gives an equal parse; the
 * parse is shared, never mutated.
 */
let lastAddrShow: { readonly text: string; readonly parsed: AddrShow } | undefined;
const addrShowOf = (text: string): AddrShow => {
  if (lastAddrShow?.text !== text) lastAddrShow = { text, parsed: parseAddrShow(text) };
  return lastAddrShow.parsed;
};

/** Drops observed attributes that the desired state leaves unmanaged (see the module comment). */
export function alignLinks(observed: Table<Link>, desired: Table<Link>): Table<Link> {
  const out = new Map<string, Link>();
  for (const [k, l] of observed) {
    const want = desired.get(k);
    let link = l;
    if (want !== undefined && want.mtu === undefined && link.mtu !== undefined) {
      const { mtu: _drop, ...rest } = link;
      link = rest;
    }
    // overlay: a MAC is managed only where the desired link names one
    if (want !== undefined && want.address === undefined && link.address !== undefined) {
      const { address: _drop, ...rest } = link;
      link = rest;
    }
    out.set(k, link);
  }
  return out;
}

/** Drops a resolved `dev` from observed gateway routes whose desired twin names no device. */
export function alignRoutes(observed: Table<Route>, desired: Table<Route>): Table<Route> {
  const out = new Map<string, Route>();
  for (const [k, r] of observed) {
    const want = desired.get(k);
    if (want !== undefined && want.dev === undefined && want.via !== undefined && r.via !== undefined && r.dev !== undefined) {
      const { dev: _drop, ...rest } = r;
      out.set(k, rest);
    } else out.set(k, r);
  }
  return out;
}

/**
 * The desired FoU ports that exist: `ip [-6] -j fou show` only for a family with desired
 * ports (no read at all otherwise). A dump that fails (no `fou` module loaded yet: the
 * generic-netlink family is missing) means none: `fou add` loads the module.
 */
async function observeFouPorts(exec: Exec, desired: NodeState): Promise<NodeState["fouPorts"]> {
  const families = new Set([...desired.fouPorts.values()].map((p) => p.family));
  if (families.size === 0) return new Map();
  const read = async (f: "ipv4" | "ipv6") => (families.has(f) ? exec.run("ip", FOU_DUMPS[f]).then((r) => r.stdout, () => "[]") : undefined);
  const [ipv4, ipv6] = await Promise.all([read("ipv4"), read("ipv6")]);
  return observedFouPorts(desired.fouPorts, { ...(ipv4 !== undefined ? { ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}) });
}

/** The iproute2 driver. Each instance reuses its last route parse while the dumps are unchanged. */
export function ipDriver(): Driver {
  let lastRoutes: { ipv4: string; ipv6: string; table: Table<Route> } | undefined;
  const routesOf = (ipv4: string, ipv6: string): Table<Route> => {
    if (lastRoutes?.ipv4 !== ipv4 || lastRoutes.ipv6 !== ipv6) lastRoutes = { ipv4, ipv6, table: parseRoutes({ ipv4, ipv6 }) };
    return lastRoutes.table;
  };
  // the aligned routes of the last observe, reused (same object) for the same parse and desired routes
  let lastAligned: { parsed: Table<Route>; desired: Table<Route>; aligned: Table<Route> } | undefined;
  const alignedRoutes = (parsed: Table<Route>, desired: Table<Route>): Table<Route> => {
    if (lastAligned?.parsed !== parsed || lastAligned.desired !== desired) lastAligned = { parsed, desired, aligned: alignRoutes(parsed, desired) };
    return lastAligned.aligned;
  };
  /** Links re-created by a batch that ran since the last observe (see the module comment). */
  let recreated: string[] = [];
  return {
    name: "ip",
    tables: ["links", "addresses", "routes", "rules", "neighbors", "fouPorts"],
    async observe(exec: Exec, desired: NodeState): Promise<Partial<NodeState>> {
      recreated = [];
      const [addr, route4, route6, rule4, rule6, neigh] = await Promise.all([
        dump(exec, IP_DUMPS.addr),
        dump(exec, IP_DUMPS.route4),
        dump(exec, IP_DUMPS.route6),
        dump(exec, IP_DUMPS.rule4),
        dump(exec, IP_DUMPS.rule6),
        dump(exec, IP_DUMPS.neigh),
      ]);
      const a = addrShowOf(addr);
      return {
        links: alignLinks(a.links, desired.links),
        addresses: a.addresses,
        routes: alignedRoutes(routesOf(route4, route6), desired.routes),
        rules: parseRules({ ipv4: rule4, ipv6: rule6 }),
        neighbors: parseNeighbors(neigh),
        fouPorts: await observeFouPorts(exec, desired),
      };
    },
    scripts(plan: NodePlan): Script[] {
      const scripts = compileIp(plan);
      const again = linksRecreated(plan.links);
      if (again.length === 0) return scripts;
      // the ipAdd batch re-creates them: from then on the kernel has dropped what was on them
      return scripts.map((s) => (s.order !== ORDER.ipAdd || s.title.startsWith("ip -6") ? s : {
        ...s,
        run: async (exec: Exec) => {
          recreated = [...new Set([...recreated, ...again])];
          await s.run(exec);
        },
      }));
    },
    wantsFullSync: () => (recreated.length === 0 ? undefined : `links re-created (their routes, addresses and entries must be re-added): ${recreated.join(", ")}`),
  };
}

/**
 * Every interface of the node (HostFacts.interfaces): name, MTU and all addresses as
 * `ip/prefixlen` (both families, link-local included), from one `ip -d -j addr show`.
 * Rejects with ExecError if `ip` fails, Error on malformed JSON.
 */
export async function readHostInterfaces(exec: Exec): Promise<HostInterface[]> {
  return [...addrShowOf(await dump(exec, IP_DUMPS.addr)).interfaces];
}
