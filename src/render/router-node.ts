/**
 * The router's per-node facts, memoised per Node object (object-memo.ts): a re-render after
 * one node changed parses only that node, and its unchanged neighbours keep their direct-route
 * chunk by identity, so building and diffing the routes table costs O(nodes changed) chunks
 * (model/chunked-table.ts). Pure: the same node and context give equal results.
 *
 * @category render
 */
import type { NodeInfo } from "../model/cluster.ts";
import { type Cidr, canonicalCidr, canonicalIp, ipFamily } from "../model/ip.ts";
import { canonicalMember } from "../model/ipset-members.ts";
import { ROUTE_PROTO } from "../model/names.ts";
import { type Family, type Route, routeKey } from "../model/state.ts";
import { ObjectMemo } from "./object-memo.ts";
import { onConnectedSubnet } from "./overlay-peers.ts";
import { nodeIpOfFamily, nodeIps, nodePodCidrs } from "./node-facts.ts";

/** Valid pod CIDRs of a node per enabled family, with warnings for invalid ones. */
export function podCidrsByFamily(node: NodeInfo, families: readonly Family[], warn: (m: string) => void): Map<Family, string[]> {
  const { cidrs, field } = nodePodCidrs(node);
  const out = new Map<Family, string[]>(families.map((f) => [f, []]));
  for (const c of cidrs) {
    const canonical = canonicalCidr(c);
    const fam = canonical === undefined ? undefined : ipFamily(canonical.split("/")[0] ?? "");
    if (canonical === undefined || fam === undefined) { warn(`Node ${node.name}: ${field}: invalid pod CIDR "${c}", ignored`); continue; }
    out.get(fam)?.push(canonical);
  }
  return out;
}

/** One node as the router sees it. */
export interface RouterNodeStep {
  /** Its valid pod CIDRs, per family (members of kube-router-pod-subnets). */
  readonly cidrs: readonly (readonly [Family, string])[];
  /** Its canonical InternalIP/ExternalIP addresses, per family (members of kube-router-node-ips). */
  readonly addrs: readonly (readonly [Family, string])[];
  /**
   * The same as ipset members (model/ipset-members.ts canonicalMember: `hash:net` for pod
   * CIDRs, `hash:ip` for addresses), or the one-line error (naming the node) for a value that is none.
   */
  readonly members: readonly { readonly family: Family; readonly type: "hash:net" | "hash:ip"; readonly member?: string; readonly error?: string }[];
  /** `via <node IP>` routes to its pod CIDRs when it is a peer on a connected subnet (never shared between renders' callers: read-only). */
  readonly routes: ReadonlyMap<string, Route>;
  /** Warnings about this node, in the order the router reports them. */
  readonly warnings: readonly string[];
}

const memo = new ObjectMemo<NodeInfo, RouterNodeStep>();

/** What a node's step depends on besides the node: one per render and role (this node or a peer). */
export interface RouterNodeContext {
  readonly families: readonly Family[];
  /** Whether the node is this node (no route to itself). */
  readonly self: boolean;
  /** This host's underlay subnets. */
  readonly subnets: readonly Cidr[];
  /** Equal for equal contexts (the memo key). */
  readonly key: string;
}

/** The context of this node's step and of its peers' steps, for one render. */
export function routerNodeContexts(families: readonly Family[], subnets: readonly Cidr[]): { readonly self: RouterNodeContext; readonly peer: RouterNodeContext } {
  const base = `${families.join(",")}|${JSON.stringify(subnets)}`;
  return { self: { families, self: true, subnets, key: `${base}|self` }, peer: { families, self: false, subnets, key: `${base}|peer` } };
}

/** The router's view of `node` in `ctx` (memoised on the node object and `ctx.key`). */
export function routerNodeStep(node: NodeInfo, ctx: RouterNodeContext): RouterNodeStep {
  return memo.get(node, "router", ctx.key, ctx, computeStep);
}

/** The ipset member of one pod CIDR or address of `node`, or the one-line error naming the node. */
function memberOf(node: string, family: Family, type: "hash:net" | "hash:ip", value: string): RouterNodeStep["members"][number] {
  try { return { family, type, member: canonicalMember(type, family === "ipv6" ? "inet6" : "inet", value) }; } catch (e) { return { family, type, error: `Node ${node}: ${(e as Error).message}` }; }
}

function computeStep(node: NodeInfo, { families, self, subnets }: RouterNodeContext): RouterNodeStep {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const cidrs = podCidrsByFamily(node, families, warn);
  const addrs: [Family, string][] = [];
  for (const ip of nodeIps(node)) {
    const canonical = canonicalIp(ip);
    const fam = ipFamily(ip);
    if (canonical !== undefined && fam !== undefined && families.includes(fam)) addrs.push([fam, canonical]);
  }
  const routes = new Map<string, Route>();
  const pairs: (readonly [Family, string])[] = [];
  for (const f of families) for (const c of cidrs.get(f) ?? []) pairs.push([f, c]);
  const members: RouterNodeStep["members"][number][] = [];
  for (const [f, c] of pairs) members.push(memberOf(node.name, f, "hash:net", c));
  for (const [f, a] of addrs) members.push(memberOf(node.name, f, "hash:ip", a));
  const step = { cidrs: pairs, addrs, members, routes, warnings };
  if (self) return step;
  if (pairs.length === 0) {
    warn(`Node ${node.name}: ${nodePodCidrs(node).field}: no pod CIDR; no route to its pods`);
    return step;
  }
  for (const f of families) {
    const dsts = cidrs.get(f) ?? [];
    if (dsts.length === 0) continue;
    const via = canonicalIp(nodeIpOfFamily(node, f) ?? "");
    if (via === undefined) { warn(`Node ${node.name}: status.addresses: no ${f} address; no ${f} route to its pods`); continue; }
    // another subnet: the overlay carries it (or, overlay off, the underlay: renderOverlay warns)
    if (!onConnectedSubnet(subnets, via)) continue;
    for (const dst of dsts) {
      const r: Route = { family: f, table: "main", dst, via, proto: ROUTE_PROTO };
      routes.set(routeKey(r), r);
    }
  }
  return step;
}

const deduped = new WeakMap<ReadonlyMap<string, Route>, { readonly removed: string; readonly chunk: ReadonlyMap<string, Route> }>();

/**
 * The direct-route chunks of the nodes (`[node name, step]` in snapshot order), one route per
 * key: when two nodes route the same pod CIDR (a duplicate podCIDR), the later node in
 * snapshot order keeps it, as a plain map built in that order would. A chunk that loses a key
 * is rebuilt once and then reused while the same keys are lost.
 */
export function uniqueRouteChunks(steps: readonly (readonly [string, RouterNodeStep])[]): [string, ReadonlyMap<string, Route>][] {
  const seen = new Set<string>();
  const out: [string, ReadonlyMap<string, Route>][] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const [name, step] = steps[i]!;
    if (step.routes.size === 0) continue;
    const lost = [...step.routes.keys()].filter((k) => seen.has(k));
    for (const k of step.routes.keys()) seen.add(k);
    out.push([name, lost.length === 0 ? step.routes : without(step.routes, lost)]);
  }
  return out;
}

function without(chunk: ReadonlyMap<string, Route>, lost: readonly string[]): ReadonlyMap<string, Route> {
  const sig = lost.join(" ");
  const hit = deduped.get(chunk);
  if (hit !== undefined && hit.removed === sig) return hit.chunk;
  const out = new Map([...chunk].filter(([k]) => !lost.includes(k)));
  deduped.set(chunk, { removed: sig, chunk: out });
  return out;
}
