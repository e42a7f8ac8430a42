/**
 * renderBgp: (snapshot, config, host facts, node name) → the node's desired BGP tables.
 * Pure and deterministic: no I/O, clock or randomness; the same input gives byte-identical
 * output whatever the iteration order of the snapshot's maps; every table is sorted by key.
 *
 * Failure modes: bad input never throws. An unusable value costs only what depends on it
 * (one peer, one community, one prefix) and is reported as one warning line naming the node,
 * annotation or flag and the value (passwords are never shown). The render fails as a whole
 * (`error`, so the engine keeps the observed BGP state) only when BGP cannot run on this node:
 * the node is not in the snapshot, has no IP, or has no usable `node.asn` with
 * `--nodes-full-mesh=false`.
 *
 * @category render
 */
import type { HostFacts } from "../../model/host.ts";
import {
  type BgpGlobal, type BgpHostFacts, type BgpState,
  bgpAssignmentKey, bgpDefinedSetKey, bgpGlobalKey, bgpPathKey, bgpPeerKey, bgpPolicyKey,
} from "../../model/bgp.ts";
import { canonicalIp, ipFamily, parseIp } from "../../model/ip.ts";
import { sortedTable } from "../../model/table.ts";
import type { RenderInput } from "../controller.ts";
import { type BgpContext, bgpContext } from "./context.ts";
import { customImportRejects, localAddresses, nodeCommunities, pathPrepend } from "./node.ts";
import { fnv32a, uint32ToIPv4 } from "./parse.ts";
import { allClusterVips, ownPodCidrs, renderPaths } from "./paths.ts";
import { externalPeers, ibgpPeers } from "./peers.ts";
import { renderPolicies } from "./policies.ts";

/** Render input with the optional BGP host facts (passwords-file content, learned paths). */
export type BgpRenderInput = RenderInput & { readonly host: HostFacts & BgpHostFacts };

/** Same shape as a controller's result: the tables and warnings, or one error line. */
export type BgpRenderResult =
  | { readonly ok: { readonly state: BgpState; readonly warnings: readonly string[] } }
  | { readonly error: string; readonly warnings: readonly string[] };

/**
 * The router ID: `--router-id` as given (an IPv4 address), `generate` = FNV-1a 32 of the primary
 * IP in Go's 16-byte `net.IP` form, rendered as IPv4; empty = the primary IP when IPv4. An
 * invalid value, or empty on an IPv6-primary node (upstream refuses to start), falls back to
 * `generate` with a warning.
 */
export function routerId(ctx: Pick<BgpContext, "config" | "primaryIp" | "primaryFamily" | "warn">): string {
  const given = ctx.config.routerId.trim();
  const generated = () => {
    const ip = parseIp(ctx.primaryIp);
    const bytes = ip === undefined ? [] : ip.family === "ipv4" ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.bytes] : [...ip.bytes];
    return uint32ToIPv4(fnv32a(bytes));
  };
  if (given === "generate") return generated();
  if (given !== "") {
    if (ipFamily(given) === "ipv4") return canonicalIp(given) ?? given;
    ctx.warn(`bgp: --router-id: ${JSON.stringify(given)} is not an IPv4 address or "generate"; using the generated ID`);
    return generated();
  }
  if (ctx.primaryFamily === "ipv4") return ctx.primaryIp;
  ctx.warn(`bgp: --router-id: required when the primary node IP (${ctx.primaryIp}) is IPv6; using the generated ID`);
  return generated();
}

function renderGlobal(ctx: BgpContext): BgpGlobal {
  const annotated = localAddresses(ctx.self, ctx.families, ctx.warn);
  let listen = annotated ?? ctx.families.flatMap((f) => { const ip = ctx.nodeIp.get(f); return ip ? [ip] : []; });
  if (annotated !== undefined) {
    const onHost = new Set(ctx.host.interfaces.flatMap((i) => i.addrs.map((a) => canonicalIp(a.split("/")[0] ?? ""))));
    for (const ip of annotated) if (!onHost.has(ip)) ctx.warn(`bgp: Node ${ctx.self.name}: metadata.annotations[kube-router.io/bgp-local-addresses]: ${ip} is not an address of this host; gobgpd cannot listen on it`);
    if (listen.length === 0) {
      ctx.warn(`bgp: Node ${ctx.self.name}: metadata.annotations[kube-router.io/bgp-local-addresses]: no usable address; listening on the node IPs`);
      listen = ctx.families.flatMap((f) => { const ip = ctx.nodeIp.get(f); return ip ? [ip] : []; });
    }
  }
  return {
    asn: ctx.asn,
    routerId: routerId(ctx),
    listenPort: ctx.config.bgpPort,
    listenAddresses: [...listen].sort(),
    ...(ctx.gracefulRestart ? { gracefulRestart: ctx.gracefulRestart } : {}),
  };
}

/** Renders the BGP tables for `input.nodeName`; see the module comment. */
export function renderBgp(input: BgpRenderInput): BgpRenderResult {
  const warnings: string[] = [];
  const seen = new Set<string>();
  const warn = (m: string) => { if (!seen.has(m)) { seen.add(m); warnings.push(m); } };
  const ctx = bgpContext(input, warn);
  if ("error" in ctx) return { error: ctx.error, warnings };

  const global = renderGlobal(ctx);
  const ibgp = ibgpPeers(ctx);
  const external = externalPeers(ctx, new Set(ibgp.map(bgpPeerKey)));
  const podCidrs = ownPodCidrs(ctx);
  const paths = renderPaths(ctx, podCidrs);
  const prepend = pathPrepend(ctx.self, warn);
  const policy = renderPolicies(ctx, {
    podCidrs,
    vips: allClusterVips(ctx),
    customRejects: customImportRejects(ctx.self, ctx.families, warn),
    externalPeers: external,
    communities: nodeCommunities(ctx.self, warn),
    ...(prepend !== undefined ? { prepend } : {}),
  });

  const state: BgpState = {
    bgpGlobal: sortedTable([[bgpGlobalKey(global), global]]),
    bgpPeers: sortedTable([...ibgp, ...external].map((p) => [bgpPeerKey(p), p])),
    bgpPaths: sortedTable(paths.map((p) => [bgpPathKey(p), p])),
    bgpDefinedSets: sortedTable(policy.definedSets.map((s) => [bgpDefinedSetKey(s), s])),
    bgpPolicies: sortedTable(policy.policies.map((p) => [bgpPolicyKey(p), p])),
    bgpAssignments: sortedTable(policy.assignments.map((a) => [bgpAssignmentKey(a), a])),
  };
  return { ok: { state, warnings } };
}
