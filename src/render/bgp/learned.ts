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
 * `learnedRouteTable` gives the same routes for the driver's learned table (model/learned-rib.ts)
 * as a ChunkedTable with one chunk per learned chunk, each rendered once per chunk object (and
 * host context): a sync after a best-path event renders and diffs only the chunks that changed.
 * The snapshot rules (pod CIDRs, VIPs) are applied after the memo, by looking the snapshot's
 * prefixes up in the learned table, so a Service change costs no chunk render.
 *
 * @category render
 */
import type { LearnedPath } from "../../model/bgp.ts";
import { ChunkedTable } from "../../model/chunked-table.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import { canonicalCidr, canonicalIp, cidrContains, ipFamily } from "../../model/ip.ts";
import { learnedBucket } from "../../model/learned-rib.ts";
import { KUBE_BRIDGE, ROUTE_PROTO } from "../../model/names.ts";
import { type Family, type Route, routeKey } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { enabledFamilies, nodeIps, nodePodCidrs } from "../node-facts.ts";
import { serviceVipPrefixes } from "./memo.ts";

export interface LearnedRoutesInput {
  readonly snapshot: ClusterSnapshot;
  readonly config: Pick<NodeConfig, "enableIpv4" | "enableIpv6">;
  readonly host: HostFacts;
  readonly nodeName: string;
}

/** What the per-path rules need of the host and config (not of the rest of the snapshot). */
interface HostContext {
  readonly families: readonly Family[];
  readonly ownIps: ReadonlySet<string>;
  readonly connected: readonly string[];
  /** Equal keys ⇔ equal contexts (the chunk memo's validity). */
  readonly key: string;
}

function hostContext(input: LearnedRoutesInput): HostContext {
  const families = enabledFamilies(input.config);
  const self = input.snapshot.nodes.get(input.nodeName);
  const ownIps = new Set([
    ...(self ? nodeIps(self) : []),
    ...input.host.interfaces.flatMap((i) => i.addrs.map((a) => a.split("/")[0] ?? "")),
  ].flatMap((a) => { const v = canonicalIp(a); return v ? [v] : []; }));
  const connected = input.host.interfaces.filter((i) => i.name !== "lo" && i.name !== KUBE_BRIDGE).flatMap((i) => i.addrs);
  return { families, ownIps, connected, key: `${families.join(",")}|${[...ownIps].sort().join(",")}|${connected.join(",")}` };
}

const routedMemo = new WeakMap<ClusterSnapshot, ReadonlySet<string>>();
/** Prefixes the snapshot routes itself: every node's pod CIDR and every Service VIP host prefix (memoised per snapshot). */
function routedBySnapshot(snapshot: ClusterSnapshot): ReadonlySet<string> {
  const hit = routedMemo.get(snapshot);
  if (hit) return hit;
  const routed = new Set<string>();
  for (const node of snapshot.nodes.values()) for (const c of nodePodCidrs(node).cidrs) { const v = canonicalCidr(c); if (v) routed.add(v); }
  for (const s of snapshot.services.values()) for (const [, p] of serviceVipPrefixes(s)) routed.add(p);
  routedMemo.set(snapshot, routed);
  return routed;
}

/** Renders paths by the host rules (not the snapshot's routed prefixes) into `best` (route key → route and peer). */
function renderPaths(ctx: HostContext, paths: Iterable<LearnedPath>, best: Map<string, { route: Route; peer: string }>, warnings: string[]): void {
  // next hops repeat (one per peer): canonical form and "on a connected subnet" computed once each
  const viaOf = new Map<string, string | undefined>();
  const reachable = new Map<string, boolean>();
  for (const p of paths) {
    const prefix = canonicalCidr(p.prefix);
    let via = viaOf.get(p.nextHop);
    if (!viaOf.has(p.nextHop)) { via = canonicalIp(p.nextHop); viaOf.set(p.nextHop, via); }
    const family = prefix === undefined ? undefined : prefix.includes(":") ? "ipv6" : "ipv4";
    if (prefix === undefined || family === undefined) { warnings.push(`bgp: learned path from ${p.peer}: ${JSON.stringify(p.prefix)} is not a CIDR; not installed`); continue; }
    if (via === undefined || ipFamily(via) !== family) { warnings.push(`bgp: learned path ${prefix} from ${p.peer}: next hop ${JSON.stringify(p.nextHop)} is not an ${family} address; not installed`); continue; }
    if (!ctx.families.includes(family)) continue;
    if (prefix.endsWith("/0") || ctx.ownIps.has(via)) continue;
    let onLink = reachable.get(via);
    if (onLink === undefined) { onLink = ctx.connected.some((a) => cidrContains(a, via)); reachable.set(via, onLink); }
    if (!onLink) continue;
    const route: Route = { family, table: "main", dst: prefix, via, proto: ROUTE_PROTO };
    const key = routeKey(route);
    const prev = best.get(key);
    if (prev === undefined || via < (prev.route.via ?? "") || (via === prev.route.via && p.peer < prev.peer)) best.set(key, { route, peer: p.peer });
  }
}

const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/** Kernel routes for learned paths, sorted by key, with one warning per malformed path. */
export function learnedRoutes(input: LearnedRoutesInput, paths: Iterable<LearnedPath>): { routes: Route[]; warnings: string[] } {
  const warnings: string[] = [];
  const best = new Map<string, { route: Route; peer: string }>();
  renderPaths(hostContext(input), paths, best, warnings);
  const routed = routedBySnapshot(input.snapshot);
  const routes = [...best.entries()].filter(([, v]) => !routed.has(v.route.dst)).sort(byKey).map(([, v]) => v.route);
  return { routes, warnings: [...new Set(warnings)] };
}

interface ChunkRender { readonly key: string; readonly routes: ReadonlyMap<string, Route>; readonly warnings: readonly string[] }
const chunkMemo = new WeakMap<ReadonlyMap<string, LearnedPath>, ChunkRender>();

/**
 * One learned chunk rendered by the host rules (memoised on the chunk object and the host
 * context). The chunk's keys are distinct canonical prefixes, so each path gives at most one
 * route and no two give the same one; a path whose prefix is not its key is skipped (it would
 * give another chunk's route). Same rules and warnings as renderPaths.
 */
function renderChunk(ctx: HostContext, chunk: ReadonlyMap<string, LearnedPath>): ChunkRender {
  const hit = chunkMemo.get(chunk);
  if (hit !== undefined && hit.key === ctx.key) return hit;
  const routes = new Map<string, Route>();
  const warnings: string[] = [];
  const hops = new Map<string, { via: string | undefined; family: Family | undefined; onLink: boolean }>();
  for (const [key, p] of chunk) {
    const prefix = canonicalCidr(p.prefix);
    if (prefix === undefined) { warnings.push(`bgp: learned path from ${p.peer}: ${JSON.stringify(p.prefix)} is not a CIDR; not installed`); continue; }
    if (prefix !== key) continue;
    let hop = hops.get(p.nextHop);
    if (hop === undefined) {
      const via = canonicalIp(p.nextHop);
      const family = via === undefined ? undefined : ipFamily(via);
      hop = { via, family, onLink: via !== undefined && ctx.connected.some((a) => cidrContains(a, via)) };
      hops.set(p.nextHop, hop);
    }
    const family: Family = prefix.includes(":") ? "ipv6" : "ipv4";
    if (hop.via === undefined || hop.family !== family) { warnings.push(`bgp: learned path ${prefix} from ${p.peer}: next hop ${JSON.stringify(p.nextHop)} is not an ${family} address; not installed`); continue; }
    if (!ctx.families.includes(family) || prefix.endsWith("/0") || ctx.ownIps.has(hop.via) || !hop.onLink) continue;
    routes.set(routeKeyOf(prefix), { family, table: "main", dst: prefix, via: hop.via, proto: ROUTE_PROTO });
  }
  const out = { key: ctx.key, routes, warnings };
  chunkMemo.set(chunk, out);
  return out;
}

/** routeKey of the main-table route to a canonical prefix. */
const routeKeyOf = (prefix: string): string => (prefix.includes(":") ? "ipv6/main/" : "ipv4/main/") + prefix;

/**
 * The routes of a learned table (see the module comment): for a ChunkedTable from
 * model/learned-rib.ts, a ChunkedTable of routes whose unchanged chunks are the same objects as
 * last time; for any other table, the routes of its values, sorted.
 */
export function learnedRouteTable(input: LearnedRoutesInput, table: Table<LearnedPath>): { routes: Table<Route>; warnings: string[] } {
  if (!(table instanceof ChunkedTable)) {
    const r = learnedRoutes(input, table.values());
    return { routes: sortedTable(r.routes.map((x) => [routeKey(x), x])), warnings: r.warnings };
  }
  const ctx = hostContext(input);
  const routed = routedBySnapshot(input.snapshot);
  const chunks = table.chunks as readonly (readonly [string, ReadonlyMap<string, LearnedPath>])[];
  // the snapshot's prefixes that are also learned, per chunk (looked up where they would be)
  const dropped = new Map<string, Set<string>>();
  const byName = new Map(chunks);
  const mark = (prefix: string): void => {
    const bucket = learnedBucket(prefix);
    if (!byName.get(bucket)?.has(prefix)) return;
    let set = dropped.get(bucket);
    if (set === undefined) dropped.set(bucket, (set = new Set()));
    set.add(routeKeyOf(prefix));
  };
  if (routed.size <= table.size) for (const p of routed) mark(p);
  else for (const [, chunk] of chunks) for (const k of chunk.keys()) if (routed.has(k)) mark(k);
  const warnings: string[] = [];
  const out: (readonly [string, ReadonlyMap<string, Route>])[] = [];
  for (const [name, chunk] of chunks) {
    const r = renderChunk(ctx, chunk);
    warnings.push(...r.warnings);
    const drop = dropped.get(name);
    out.push([name, drop === undefined ? r.routes : new Map([...r.routes].filter(([k]) => !drop.has(k)))]);
  }
  return { routes: new ChunkedTable(out), warnings: [...new Set(warnings)] };
}
