/**
 * The vxlan overlay (our addition; upstream declined it, #1011), as data. Pure.
 *
 * One device per family, `kube-vxlan` (IPv4 underlay) / `kube-vxlan6` (IPv6 underlay):
 * VNI and UDP port from the config, `local` = our node IP, bound to the interface carrying
 * it, learning off, MAC = model/overlay.ts vtepMac(our node name, family). IPv4: our VTEP
 * address (vtepAddress: the network address of our first IPv4 pod CIDR) as /32 on the
 * device. IPv6: no address of ours; the VTEP is the device's own EUI-64 link-local address
 * (vtepLinkLocal; see there why).
 *
 * Per peer on that device:
 * - FDB `00:00:00:00:00:00 dst <peer IP>` (flood: broadcast / unknown unicast) and
 *   `<peer VTEP MAC> dst <peer IP>`, both `self permanent`;
 * - neighbour `<peer VTEP IP> lladdr <peer VTEP MAC> nud permanent` (no ARP/NDP ever);
 * - `<peer pod CIDR> via <peer VTEP IP> dev kube-vxlan onlink proto 17` in main for each
 *   peer pod CIDR of the family, and `<peer IP>/32 via <peer VTEP IP> … onlink` in table 77
 *   (pods reach the peer's node IP through the overlay, like upstream's tunnels); IPv6 the
 *   same via the link-local VTEP, without `onlink`.
 * 5,000 peers are 10,000 FDB entries, 5,000 neighbours and 5,000+ routes on one device.
 *
 * @category render
 */
import { KUBE_VXLAN, KUBE_VXLAN6, OVERLAY_TABLE, ROUTE_PROTO } from "../model/names.ts";
import { type FdbEntry, type Neighbor, type OverlayLink, type OverlayRoute, vtepCidr, vtepLinkLocal, vtepMac } from "../model/overlay.ts";
import type { Address, Family } from "../model/state.ts";
import { hostPrefix } from "./overlay-peers.ts";

/** The vxlan device name of a family. */
export const vxlanDevice = (family: Family): string => (family === "ipv4" ? KUBE_VXLAN : KUBE_VXLAN6);

const ZERO_MAC = "00:00:00:00:00:00";

export interface VxlanDeviceInput {
  readonly family: Family;
  readonly nodeName: string;
  readonly localIp: string;
  /** the interface carrying `localIp`, when known */
  readonly underlayDev?: string;
  readonly vni: number;
  readonly port: number;
  /** our IPv4 VTEP address (ignored for IPv6) */
  readonly vtep: string;
  readonly mtu?: number;
}

/** Our device and (IPv4) its address. */
export function vxlanDeviceState(d: VxlanDeviceInput): { link: OverlayLink; address?: Address } {
  const name = vxlanDevice(d.family);
  const link: OverlayLink = {
    name,
    kind: "vxlan",
    up: true,
    ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
    address: vtepMac(d.nodeName, d.family),
    vxlan: { id: d.vni, local: d.localIp, ...(d.underlayDev !== undefined ? { dev: d.underlayDev } : {}), port: d.port, learning: false },
  };
  return d.family === "ipv4" ? { link, address: { dev: name, cidr: vtepCidr(d.vtep) } } : { link };
}

export interface VxlanPeerInput {
  readonly family: Family;
  readonly peerName: string;
  readonly peerIp: string;
  /** the peer's IPv4 VTEP address (IPv6 derives the link-local one from the MAC) */
  readonly peerVtep: string;
  readonly peerCidrs: readonly string[];
}

/** The gateway address of a peer's VTEP in `family`. */
export function peerGateway(family: Family, peerName: string, peerVtep4: string): string {
  return family === "ipv4" ? peerVtep4 : vtepLinkLocal(vtepMac(peerName, family));
}

/** The FDB entries, neighbour and routes that reach one peer. */
export function vxlanPeer(p: VxlanPeerInput): { fdb: FdbEntry[]; neighbor: Neighbor; routes: OverlayRoute[] } {
  const dev = vxlanDevice(p.family);
  const mac = vtepMac(p.peerName, p.family);
  const via = peerGateway(p.family, p.peerName, p.peerVtep);
  const routes = [peerRoute(p.family, OVERLAY_TABLE, hostPrefix(p.peerIp), via, dev)];
  for (const c of p.peerCidrs) routes.push(peerRoute(p.family, "main", c, via, dev));
  return {
    fdb: [
      { dev, mac: ZERO_MAC, dst: p.peerIp, self: true, state: "permanent" },
      { dev, mac, dst: p.peerIp, self: true, state: "permanent" },
    ],
    neighbor: { dev, ip: via, family: p.family, lladdr: mac, state: "permanent" },
    routes,
  };
}

/** A route through the vxlan device to a peer's VTEP (IPv4: `onlink`, the VTEP is on no subnet of ours). */
function peerRoute(family: Family, table: string, dst: string, via: string, dev: string): OverlayRoute {
  return { family, table, dst, via, dev, proto: ROUTE_PROTO, ...(family === "ipv4" ? { onlink: true } : {}) };
}
