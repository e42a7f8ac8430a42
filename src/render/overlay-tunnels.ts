/**
 * kube-router's ipip / fou overlay for one peer in one family (kube-router-features.md
 * §5.5), as data. Pure.
 *
 * Per peer: a link `tun-<11 hex>` (names.ts tunnelName of the peer IP), kind `ipip` (IPv4)
 * or `ip6tnl` (IPv6, mode ip6ip6), `local` = our node IP, `remote` = the peer's; with fou
 * also `ttl 225` and GUE encapsulation to the encap port. Routes: `<peer IP>/32|128 dev tun
 * table 77` (pods reach the peer's node IP through the tunnel too, see the rule in
 * overlay.ts) and each peer pod CIDR `dev tun src <our node IP> proto 17` in main.
 *
 * Departure from the brief: the pod-CIDR route carries no `onlink`: it has no gateway, and
 * the kernel (6.18 here) refuses `onlink` on a gateway-less route ("Invalid flags for nexthop
 * - PERVASIVE and ONLINK can not be set").
 *
 * @category render
 */
import { FOU_TUNNEL_TTL, OVERLAY_TABLE, ROUTE_PROTO, tunnelName } from "../model/names.ts";
import type { OverlayLink, OverlayRoute } from "../model/overlay.ts";
import type { Family } from "../model/state.ts";
import { hostPrefix } from "./overlay-peers.ts";

export interface TunnelPeerInput {
  readonly family: Family;
  readonly encap: "ipip" | "fou";
  /** the UDP port of GUE (fou only) */
  readonly port: number;
  readonly localIp: string;
  readonly peerIp: string;
  readonly peerCidrs: readonly string[];
  /** link MTU when managed (`--auto-mtu`) */
  readonly mtu?: number;
}

/** The tunnel link and routes for one peer. */
export function tunnelPeer(p: TunnelPeerInput): { link: OverlayLink; routes: OverlayRoute[] } {
  const name = tunnelName(p.peerIp);
  const link: OverlayLink = {
    name,
    kind: p.family === "ipv4" ? "ipip" : "ip6tnl",
    up: true,
    ...(p.mtu !== undefined ? { mtu: p.mtu } : {}),
    tunnel: {
      local: p.localIp,
      remote: p.peerIp,
      ...(p.encap === "fou" ? { ttl: FOU_TUNNEL_TTL, encap: { type: "gue" as const, dport: p.port } } : {}),
    },
  };
  const routes: OverlayRoute[] = [
    { family: p.family, table: OVERLAY_TABLE, dst: hostPrefix(p.peerIp), dev: name, proto: ROUTE_PROTO },
    ...p.peerCidrs.map((dst): OverlayRoute => ({ family: p.family, table: "main", dst, dev: name, src: p.localIp, proto: ROUTE_PROTO })),
  ];
  return { link, routes };
}
