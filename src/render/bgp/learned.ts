/**
 * learnedRoutes: which BGP-learned best paths become kernel routes (kube-router-features.md
 * §5.5, issue 10). Pure; never throws.
 *
 * A learned path becomes `<prefix> via <next hop> proto 17` in the main table when:
 * - its family is enabled, its prefix is a valid CIDR and its next hop a valid address of the
 *   same family (otherwise: one warning, skipped);
 * - it is not a default route (`/0`);
 * - the snapshot does not already route it: it is not any node's pod CIDR (routes to other
 *   nodes' pods are rendered from the snapshot by router.ts, so pods have a network before any
 *   BGP session is up);
 * - it is not a Service VIP host route of the cluster (cluster, external or LB IP);
 * - the next hop is not one of this node's addresses, and lies on a directly connected subnet
 *   of this host (else the kernel refuses the gateway; reaching a next hop on another subnet
 *   needs a tunnel, which is the overlay's business — such paths are skipped silently).
 * Several paths for one prefix (the shell should pass best paths only): the lowest next hop,
 * then the lowest peer, wins. Output sorted by route key; input order does not matter.
 * Withdrawn paths are simply absent from the input, so their routes are no longer desired and
 * the differ removes them.
 *
 * @category render
 */
import type { LearnedPath } from "../../model/bgp.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import { canonicalCidr, canonicalIp, cidrContains, ipFamily } from "../../model/ip.ts";
import { KUBE_BRIDGE, ROUTE_PROTO } from "../../model/names.ts";
import { type Route, routeKey } from "../../model/state.ts";
import { enabledFamilies, nodeIps, nodePodCidrs } from "../node-facts.ts";

export interface LearnedRoutesInput {
  readonly snapshot: ClusterSnapshot;
  readonly config: Pick<NodeConfig, "enableIpv4" | "enableIpv6">;
  readonly host: HostFacts;
  readonly nodeName: string;
}

/** Kernel routes for learned paths, sorted by key, with one warning per malformed path. */
export function learnedRoutes(input: LearnedRoutesInput, paths: readonly LearnedPath[]): { routes: Route[]; warnings: string[] } {
  const warnings: string[] = [];
  const families = enabledFamilies(input.config);
  const routed = new Set<string>();
  for (const node of input.snapshot.nodes.values()) {
    for (const c of nodePodCidrs(node).cidrs) { const v = canonicalCidr(c); if (v) routed.add(v); }
  }
  for (const s of input.snapshot.services.values()) {
    for (const text of [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIngress.flatMap((i) => (i.ip ? [i.ip] : []))]) {
      const ip = canonicalIp(text);
      if (ip) routed.add(`${ip}/${ipFamily(ip) === "ipv6" ? 128 : 32}`);
    }
  }
  const self = input.snapshot.nodes.get(input.nodeName);
  const ownIps = new Set([
    ...(self ? nodeIps(self) : []),
    ...input.host.interfaces.flatMap((i) => i.addrs.map((a) => a.split("/")[0] ?? "")),
  ].flatMap((a) => { const v = canonicalIp(a); return v ? [v] : []; }));
  const connected = input.host.interfaces.filter((i) => i.name !== "lo" && i.name !== KUBE_BRIDGE).flatMap((i) => i.addrs);

  const best = new Map<string, { route: Route; peer: string }>();
  // next hops repeat (one per peer): canonical form and "on a connected subnet" computed once each
  const viaOf = new Map<string, string | undefined>();
  const reachable = new Map<string, boolean>();
  for (const p of paths) {
    const prefix = canonicalCidr(p.prefix);
    let via = viaOf.get(p.nextHop);
    if (!viaOf.has(p.nextHop)) { via = canonicalIp(p.nextHop); viaOf.set(p.nextHop, via); }
    const family = prefix === undefined ? undefined : ipFamily(prefix.split("/")[0] ?? "");
    if (prefix === undefined || family === undefined) { warnings.push(`bgp: learned path from ${p.peer}: ${JSON.stringify(p.prefix)} is not a CIDR; not installed`); continue; }
    if (via === undefined || ipFamily(via) !== family) { warnings.push(`bgp: learned path ${prefix} from ${p.peer}: next hop ${JSON.stringify(p.nextHop)} is not an ${family} address; not installed`); continue; }
    if (!families.includes(family)) continue;
    if (prefix.endsWith("/0") || routed.has(prefix) || ownIps.has(via)) continue;
    let onLink = reachable.get(via);
    if (onLink === undefined) { onLink = connected.some((a) => cidrContains(a, via)); reachable.set(via, onLink); }
    if (!onLink) continue;
    const route: Route = { family, table: "main", dst: prefix, via, proto: ROUTE_PROTO };
    const key = routeKey(route);
    const prev = best.get(key);
    if (prev === undefined || via < (prev.route.via ?? "") || (via === prev.route.via && p.peer < prev.peer)) best.set(key, { route, peer: p.peer });
  }
  const routes = [...best.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v.route);
  return { routes, warnings: [...new Set(warnings)] };
}
