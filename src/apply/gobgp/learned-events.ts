/**
 * GoBGP's best-path events (WatchEvent, table filter TYPE_BEST with `init`) applied to the
 * learned RIB (model/learned-rib.ts). GoBGP sends, per destination whose best path changed,
 * the new best path, or the old best marked `isWithdraw` when no path is left; with `init` the
 * first message is every current best path, taken atomically with the registration, so an
 * empty RIB plus every message in order is GoBGP's RIB as of the last message. (When BGP is
 * not started yet at registration no `init` comes, and the RIB is empty, which is the same.)
 *
 * Per path: a best path learned from a peer sets its prefix; a withdrawal, or one of our own
 * paths becoming the best (no neighbour), removes the prefix's learned path. Prefixes and
 * addresses are canonicalised here, once (a text that does not parse is kept as it came, so
 * the render warns about it). Non-unicast paths are ignored. Never throws.
 *
 * @category apply
 */
import type { LearnedPath } from "../../model/bgp.ts";
import { canonicalCidr, canonicalIp } from "../../model/ip.ts";
import type { LearnedRib } from "../../model/learned-rib.ts";
import type { WPath } from "./wire.ts";

/** The neighbour a path came from, "" for our own (GoBGP leaves it empty; older servers said "<nil>"). */
export const neighborOf = (p: Pick<WPath, "neighborIp">): string =>
  p.neighborIp === undefined || p.neighborIp === "<nil>" || p.neighborIp === "invalid IP" ? "" : p.neighborIp;

/** Applies one event's paths; returns how many changed the learned RIB and how many were best paths from peers. */
export function applyBestPaths(rib: LearnedRib, paths: readonly WPath[]): { changed: number; fromPeers: number } {
  let changed = 0;
  let fromPeers = 0;
  // next hops and peers repeat along an event: canonicalised once per run of equal values
  let lastHop = "";
  let lastHopCanon = "";
  let lastPeer = "";
  let lastPeerCanon = "";
  for (const w of paths) {
    const pfx = w.nlri?.prefix;
    const afi = w.family?.afi;
    if (pfx == null || (afi !== "AFI_IP" && afi !== "AFI_IP6")) continue;
    const text = `${pfx.prefix}/${pfx.prefixLen}`;
    const prefix = canonicalCidr(text) ?? text;
    const neighbor = neighborOf(w);
    if (w.isWithdraw === true || neighbor === "") {
      if (rib.delete(prefix)) changed++;
      continue;
    }
    fromPeers++;
    let nextHop = "";
    for (const a of w.pattrs) {
      if (a.nextHop) { nextHop = a.nextHop.nextHop; break; }
      if (a.mpReach && nextHop === "") nextHop = a.mpReach.nextHops[0] ?? "";
    }
    if (nextHop !== lastHop) { lastHop = nextHop; lastHopCanon = canonicalIp(nextHop) ?? nextHop; }
    if (neighbor !== lastPeer) { lastPeer = neighbor; lastPeerCanon = canonicalIp(neighbor) ?? neighbor; }
    const path: LearnedPath = { family: afi === "AFI_IP" ? "ipv4" : "ipv6", prefix, nextHop: lastHopCanon, peer: lastPeerCanon };
    if (rib.set(path)) changed++;
  }
  return { changed, fromPeers };
}
