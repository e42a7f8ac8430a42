/**
 * The iproute2 driver: tables links, addresses, routes, rules.
 *
 * Observe runs five read-only dumps (concurrently): `ip -d -j addr show` (links and
 * addresses in one), `ip -4|-6 -j route show table all proto 17`, `ip -4|-6 -j rule show`.
 * It needs one route and one rule dump per family because `ip rule` defaults to IPv4 and a
 * family-less route dump prints no family (an IPv6 `default` would be ambiguous).
 *
 * Observed objects are canonical (canon.ts) and then aligned with desired where the model
 * says an attribute is not managed: a link's `mtu` (and, overlay, its MAC `address`) is dropped when the desired link has none,
 * and a route's `dev` is dropped when the desired route has a gateway but no `dev` (the kernel
 * fills in the device it resolved). So an unchanged desired state diffs empty.
 *
 * Failure: observe rejects with ExecError when a dump fails and with Error on malformed JSON;
 * scripts reject with ExecError when `ip` reports any failed line (see compile.ts).
 *
 * @category apply
 */
import type { HostInterface } from "../../model/host.ts";
import { ROUTE_PROTO } from "../../model/names.ts";
import type { Link, NodeState, Route } from "../../model/state.ts";
import type { OverlayLink } from "../../model/overlay.ts";
import type { Table } from "../../model/table.ts";
import type { Driver } from "../driver.ts";
import type { Exec } from "../exec.ts";
import { compileIp } from "./compile.ts";
import { parseAddrShow, parseRoutes, parseRules } from "./parse.ts";

/** The read-only command lines observe runs (also what the fake answers). */
export const IP_DUMPS = {
  addr: ["-d", "-j", "addr", "show"],
  route4: ["-4", "-j", "route", "show", "table", "all", "proto", ROUTE_PROTO],
  route6: ["-6", "-j", "route", "show", "table", "all", "proto", ROUTE_PROTO],
  rule4: ["-4", "-j", "rule", "show"],
  rule6: ["-6", "-j", "rule", "show"],
} as const;

const dump = async (exec: Exec, args: readonly string[]): Promise<string> => (await exec.run("ip", args)).stdout;

/** Drops observed attributes that the desired state leaves unmanaged (see the module comment). */
export function alignLinks(observed: Table<Link>, desired: Table<Link>): Table<Link> {
  const out = new Map<string, Link>();
  for (const [k, l] of observed) {
    const want = desired.get(k);
    let link = l as OverlayLink;
    if (want !== undefined && want.mtu === undefined && link.mtu !== undefined) {
      const { mtu: _drop, ...rest } = link;
      link = rest;
    }
    // overlay: a MAC is managed only where the desired link names one
    if (want !== undefined && (want as OverlayLink).address === undefined && link.address !== undefined) {
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

/** The iproute2 driver. Each instance reuses its last route parse while the dumps are unchanged. */
export function ipDriver(): Driver {
  let lastRoutes: { ipv4: string; ipv6: string; table: Table<Route> } | undefined;
  const routesOf = (ipv4: string, ipv6: string): Table<Route> => {
    if (lastRoutes?.ipv4 !== ipv4 || lastRoutes.ipv6 !== ipv6) lastRoutes = { ipv4, ipv6, table: parseRoutes({ ipv4, ipv6 }) };
    return lastRoutes.table;
  };
  return {
    name: "ip",
    tables: ["links", "addresses", "routes", "rules"],
    async observe(exec: Exec, desired: NodeState): Promise<Partial<NodeState>> {
      const [addr, route4, route6, rule4, rule6] = await Promise.all([
        dump(exec, IP_DUMPS.addr),
        dump(exec, IP_DUMPS.route4),
        dump(exec, IP_DUMPS.route6),
        dump(exec, IP_DUMPS.rule4),
        dump(exec, IP_DUMPS.rule6),
      ]);
      const a = parseAddrShow(addr);
      return {
        links: alignLinks(a.links, desired.links),
        addresses: a.addresses,
        routes: alignRoutes(routesOf(route4, route6), desired.routes),
        rules: parseRules({ ipv4: rule4, ipv6: rule6 }),
      };
    },
    scripts: compileIp,
  };
}

/**
 * Every interface of the node (HostFacts.interfaces): name, MTU and all addresses as
 * `ip/prefixlen` (both families, link-local included), from one `ip -d -j addr show`.
 * Rejects with ExecError if `ip` fails, Error on malformed JSON.
 */
export async function readHostInterfaces(exec: Exec): Promise<HostInterface[]> {
  return [...parseAddrShow(await dump(exec, IP_DUMPS.addr)).interfaces];
}
