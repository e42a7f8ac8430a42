/**
 * Defined sets, the export and import policies and their assignment to the global RIB
 * (kube-router-features.md §5.4), with upstream's set and statement names and stable policy
 * names (`kube_router_export`, `kube_router_import`; upstream appends a growing version).
 *
 * Defined sets (IPv6 twins end in `v6`; only enabled families; never an empty set):
 * `podcidrdefinedset` (own pod CIDRs, exact length), `servicevipsdefinedset` (every VIP of
 * every Service, /32 or /128: the import policy must reject them all, and the export policy
 * only ever sees our own in the RIB), `defaultroutedefinedset` (0.0.0.0/0, ::/0),
 * `customimportrejectdefinedset` (annotation, length..32/128), `iBGPpeerset` (every node's
 * primary IP, us included, with `--enable-ibgp`), `externalpeerset`, `allpeerset` (both).
 *
 * Export (`default reject`), statements named prefix set + neighbor set, in this order:
 * own pod CIDRs × iBGP peer sets → accept; with external peers, for each external peer set:
 * VIPs → accept, then (with `--advertise-pod-cidr`) own pod CIDRs → accept, both with
 * next-hop-self (`--override-nexthop`), the node communities (ADD) and the AS-path prepend.
 * Import (`default accept`), for each all-peer set: VIPs, default routes, custom rejects →
 * reject. A statement is rendered only when both its sets are (upstream's empty-set guard).
 * Neighbor sets are split by the session address family, and every prefix family is paired
 * with every neighbor-set family (an IPv6 prefix over an IPv4 session matches too; upstream
 * only pairs v6 pod CIDRs with the IPv4 `iBGPpeerset`).
 *
 * A route-reflector server renders no sets, policies or assignments (upstream skips policy
 * programming on `rr.server` nodes). Pure; never throws.
 *
 * @category render
 */
import type { BgpActions, BgpDefinedSet, BgpPeer, BgpPolicy, BgpPolicyAssignment, BgpStatement } from "../../model/bgp.ts";
import { ipFamily } from "../../model/ip.ts";
import { BGP_POLICY, BGP_SET, bgpSetName } from "../../model/names.ts";
import type { Family } from "../../model/state.ts";
import type { BgpContext } from "./context.ts";
import { peerNodeFacts } from "./memo.ts";

export interface PolicyInput {
  readonly podCidrs: ReadonlyMap<Family, readonly string[]>;
  readonly vips: ReadonlyMap<Family, readonly string[]>;
  readonly customRejects: ReadonlyMap<Family, readonly string[]>;
  readonly externalPeers: readonly BgpPeer[];
  readonly communities: readonly string[];
  readonly prepend?: { readonly asn: number; readonly repeat: number };
}

export interface PolicyOutput {
  readonly definedSets: readonly BgpDefinedSet[];
  readonly policies: readonly BgpPolicy[];
  readonly assignments: readonly BgpPolicyAssignment[];
}

const maxLen = (f: Family): number => (f === "ipv6" ? 128 : 32);
const prefixLen = (cidr: string): number => Number(cidr.split("/")[1] ?? 0);
const hostPrefix = (ip: string): string => `${ip}/${ipFamily(ip) === "ipv6" ? 128 : 32}`;

function prefixSet(name: string, cidrs: readonly string[], max?: number): BgpDefinedSet {
  const prefixes = [...new Set(cidrs)].sort().map((prefix) => ({ prefix, maskLengthMin: prefixLen(prefix), maskLengthMax: max ?? prefixLen(prefix) }));
  return { type: "prefix", name, list: [], prefixes };
}
const neighborSet = (name: string, ips: Iterable<string>): BgpDefinedSet =>
  ({ type: "neighbor", name, list: [...new Set([...ips].map(hostPrefix))].sort(), prefixes: [] });

/** Renders the sets, policies and assignments; see the module comment. */
export function renderPolicies(ctx: BgpContext, input: PolicyInput): PolicyOutput {
  if (ctx.rrServer !== undefined) return { definedSets: [], policies: [], assignments: [] };
  const { families } = ctx;
  const sets = new Map<string, BgpDefinedSet>();
  const add = (s: BgpDefinedSet) => { if (s.prefixes.length > 0 || s.list.length > 0) sets.set(s.name, s); };

  const ibgpIps = new Map<Family, string[]>(families.map((f) => [f, []]));
  if (ctx.config.enableIbgp) {
    for (const node of ctx.snapshot.nodes.values()) {
      const { primaryIp, primaryFamily } = peerNodeFacts(node);
      if (primaryIp !== undefined && primaryFamily !== undefined) ibgpIps.get(primaryFamily)?.push(primaryIp);
    }
  }
  const externalIps = new Map<Family, string[]>(families.map((f) => [f, []]));
  for (const p of input.externalPeers) {
    const f = ipFamily(p.neighborAddress);
    if (f !== undefined) externalIps.get(f)?.push(p.neighborAddress);
  }
  for (const f of families) {
    add(prefixSet(bgpSetName(BGP_SET.podCidr, f), input.podCidrs.get(f) ?? []));
    add(prefixSet(bgpSetName(BGP_SET.serviceVips, f), input.vips.get(f) ?? []));
    add(prefixSet(bgpSetName(BGP_SET.defaultRoute, f), [f === "ipv6" ? "::/0" : "0.0.0.0/0"]));
    add(prefixSet(bgpSetName(BGP_SET.customImportReject, f), input.customRejects.get(f) ?? [], maxLen(f)));
    add(neighborSet(bgpSetName(BGP_SET.ibgpPeers, f), ibgpIps.get(f) ?? []));
    add(neighborSet(bgpSetName(BGP_SET.externalPeers, f), externalIps.get(f) ?? []));
    add(neighborSet(bgpSetName(BGP_SET.allPeers, f), [...(ibgpIps.get(f) ?? []), ...(externalIps.get(f) ?? [])]));
  }

  const statement = (prefixBase: string, pf: Family, neighborBase: string, nf: Family, actions: BgpActions): BgpStatement[] => {
    const p = bgpSetName(prefixBase, pf);
    const n = bgpSetName(neighborBase, nf);
    if (!sets.has(p) || !sets.has(n)) return [];
    return [{ name: p + n, conditions: { prefixSet: { name: p, match: "any" }, neighborSet: { name: n, match: "any" } }, actions }];
  };

  const exportStatements: BgpStatement[] = [];
  for (const pf of families) for (const nf of families) exportStatements.push(...statement(BGP_SET.podCidr, pf, BGP_SET.ibgpPeers, nf, { route: "accept" }));
  if (input.externalPeers.length > 0) {
    const actions: BgpActions = {
      route: "accept",
      ...(input.communities.length > 0 ? { community: { type: "add", communities: input.communities } } : {}),
      ...(input.prepend !== undefined ? { asPrepend: input.prepend } : {}),
      ...(ctx.config.overrideNexthop ? { nexthopSelf: true } : {}),
    };
    for (const nf of families) {
      for (const pf of families) exportStatements.push(...statement(BGP_SET.serviceVips, pf, BGP_SET.externalPeers, nf, actions));
      if (ctx.config.advertisePodCidr) for (const pf of families) exportStatements.push(...statement(BGP_SET.podCidr, pf, BGP_SET.externalPeers, nf, actions));
    }
  }

  const importStatements: BgpStatement[] = [];
  for (const nf of families) {
    for (const base of [BGP_SET.serviceVips, BGP_SET.defaultRoute, BGP_SET.customImportReject]) {
      for (const pf of families) importStatements.push(...statement(base, pf, BGP_SET.allPeers, nf, { route: "reject" }));
    }
  }

  return {
    definedSets: [...sets.values()],
    policies: [
      { name: BGP_POLICY.export, statements: exportStatements },
      { name: BGP_POLICY.import, statements: importStatements },
    ],
    assignments: [
      { direction: "export", policies: [BGP_POLICY.export], defaultAction: "reject" },
      { direction: "import", policies: [BGP_POLICY.import], defaultAction: "accept" },
    ],
  };
}
