/**
 * One peer of the overlay in one family, as data, memoised per Node object (object-memo.ts):
 * what renderOverlay would do with it before any cross-peer check (skip it, warn, or reach it
 * with these FDB entries, neighbour, routes or tunnel link), with its rows already in chunk
 * maps. renderOverlay then runs the cheap cross-peer claims (one VTEP, node IP, tunnel name
 * and route key per peer) over the steps, so a re-render after one node changed recomputes
 * one step and reuses every other chunk by identity. Pure.
 *
 * @category render
 */
import type { NodeInfo } from "../model/cluster.ts";
import type { Cidr } from "../model/ip.ts";
import { type FdbEntry, type Neighbor, type OverlayEncap, type OverlayLink, type OverlayRoute, fdbKey, neighborKey, vtepAddress } from "../model/overlay.ts";
import { type Family, routeKey } from "../model/state.ts";
import { ObjectMemo } from "./object-memo.ts";
import { type NodeFamilyFacts, nodeFamilyFacts, peerPath } from "./overlay-peers.ts";
import { tunnelPeer } from "./overlay-tunnels.ts";
import { vxlanPeer } from "./overlay-vxlan.ts";

/** Everything about this node a peer step depends on, besides the peer. */
export interface PeerContext {
  readonly family: Family;
  readonly encap: OverlayEncap;
  readonly port: number;
  readonly enableOverlay: boolean;
  readonly overlayType: string;
  readonly subnets: readonly Cidr[];
  readonly me: NodeFamilyFacts;
  readonly myVtep: string | undefined;
  readonly linkMtu: number | undefined;
  /** A string equal for equal contexts (the memo key). */
  readonly key: string;
}

/** The rows that reach one peer, and the keys it must hold alone. */
export interface PeerReach {
  readonly kind: "vxlan" | "tunnel";
  /** Claims in order: [claim key, what (for the warning)]; the first taken one skips the peer. */
  readonly claims: readonly (readonly [string, string])[];
  /** Its routes (claimed all or none) and their claim keys (`route/<key>`), in the same order. */
  readonly routes: readonly OverlayRoute[];
  readonly routeClaims: readonly string[];
  readonly routeChunk: ReadonlyMap<string, OverlayRoute>;
  readonly fdbChunk: ReadonlyMap<string, FdbEntry>;
  readonly neighborChunk: ReadonlyMap<string, Neighbor>;
  readonly linkChunk: ReadonlyMap<string, OverlayLink>;
}

/** What to do with one peer: nothing, warn, or reach it. */
export type PeerStep = { readonly skip: true; readonly warning?: string } | { readonly skip: false; readonly reach: PeerReach };

const memo = new ObjectMemo<NodeInfo, PeerStep>();
/** A chunk of rows by key, in the given order. */
function chunkOf<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const r of rows) m.set(keyOf(r), r);
  return m;
}
const routeChunk = (routes: readonly OverlayRoute[]): Map<string, OverlayRoute> => chunkOf(routes, routeKey);
const routeClaims = (routes: readonly OverlayRoute[]): string[] => routes.map(routeClaimKey);
const routeClaimKey = (r: OverlayRoute): string => `route/${routeKey(r)}`;
const EMPTY = new Map<never, never>();
const SKIP: PeerStep = { skip: true };

/** The step of `peer` in `ctx.family` (memoised on the peer object and `ctx.key`). */
export function overlayPeerStep(peer: NodeInfo, ctx: PeerContext): PeerStep {
  return memo.get(peer, ctx.family, ctx.key, ctx, computeStep);
}

function computeStep(peer: NodeInfo, ctx: PeerContext): PeerStep {
  const { family, me } = ctx;
  const p = nodeFamilyFacts(peer, family);
  if (p.cidrs.length === 0) return SKIP; // the router warns about nodes without a pod CIDR
  if (p.ip === undefined) return { skip: true, warning: `overlay: Node ${peer.name}: no ${family} address for its ${family} pod CIDRs; skipped` };
  const path = peerPath(ctx, ctx.subnets, p.ip);
  if (path === "direct") return SKIP;
  if (path === "underlay") {
    return { skip: true, warning: `router: Node ${peer.name} (${p.ip}) is on another subnet and --enable-overlay=false: no route to its pods ${p.cidrs.join(",")} (underlay routing expected)` };
  }
  if (me.ip === undefined) return { skip: true, warning: `overlay: Node ${peer.name}: this node has no ${family} address; no ${family} overlay to it` };
  if (me.cidrs.length === 0 || ctx.myVtep === undefined) return SKIP; // our own missing pod CIDR is the router's error
  if (ctx.encap === "vxlan") {
    const peerVtep = vtepAddress(p.cidrs[0] ?? "");
    if (peerVtep === undefined) return SKIP;
    const v = vxlanPeer({ family, peerName: peer.name, peerIp: p.ip, peerVtep, peerCidrs: p.cidrs });
    return {
      skip: false,
      reach: {
        kind: "vxlan", claims: [[`vtep/${peerVtep}`, `VTEP ${peerVtep}`], [`fdb/${p.ip}`, `node IP ${p.ip}`]], routes: v.routes, routeClaims: routeClaims(v.routes), routeChunk: routeChunk(v.routes),
        fdbChunk: chunkOf(v.fdb, fdbKey), neighborChunk: new Map([[neighborKey(v.neighbor), v.neighbor]]), linkChunk: EMPTY,
      },
    };
  }
  const t = tunnelPeer({ family, encap: ctx.encap, port: ctx.port, localIp: me.ip, peerIp: p.ip, peerCidrs: p.cidrs, ...(ctx.linkMtu !== undefined ? { mtu: ctx.linkMtu } : {}) });
  return {
    skip: false,
    reach: {
      kind: "tunnel", claims: [[`link/${t.link.name}`, `tunnel ${t.link.name} (node IP ${p.ip})`]], routes: t.routes, routeClaims: routeClaims(t.routes), routeChunk: routeChunk(t.routes),
      fdbChunk: EMPTY, neighborChunk: EMPTY, linkChunk: new Map([[t.link.name, t.link]]),
    },
  };
}
