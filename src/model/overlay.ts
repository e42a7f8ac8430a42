/**
 * The overlay's model: two new keyed tables (FDB entries, neighbour entries), the extra
 * Link/Route attributes the overlay needs, and the pure derivations every node must agree on
 * (VTEP MAC and address of a node, encapsulation overhead). Pure; hashing via node:crypto.
 *
 * Ownership: FDB and neighbour entries are ours exactly when they sit on a device of
 * names.ts OVERLAY_ENTRY_DEVICES (`kube-vxlan`, `kube-vxlan6`); observe keeps
 * only those, so a diff never touches an entry on any other device.
 *
 * @category models
 */
import { createHash } from "node:crypto";
import { canonicalIp, ipFamily, networkAddress } from "./ip.ts";
import type { Family, Link, Route } from "./rows.ts";

// ---------------------------------------------------------------------------------------------
// tables

/**
 * One forwarding-database entry on a vxlan device: frames for `mac` go to the VTEP `dst`
 * (a node IP). The all-zero MAC is the flood entry (broadcast, unknown unicast), which may
 * have several `dst`s on one device, hence `dst` in the key. We only ever render `self`
 * (the vxlan driver's own table, not a bridge master's) and `permanent` entries; observed
 * entries carry what the kernel reports, so a learned or non-self entry on our device
 * differs from the desired one and is replaced.
 */
export interface FdbEntry {
  readonly dev: string;
  /** lower-case `aa:bb:cc:dd:ee:ff` */
  readonly mac: string;
  /** canonical remote VTEP IP (the peer's node IP) */
  readonly dst: string;
  readonly self: boolean;
  /** `permanent` for ours; the kernel's state word (`static`, …) for others. */
  readonly state: string;
}
export const fdbKey = (f: Pick<FdbEntry, "dev" | "mac" | "dst">): string => `${f.dev}/${f.mac}/${f.dst}`;

/**
 * One neighbour (ARP / NDP) entry on a vxlan device: the remote VTEP IP resolves to the
 * remote VTEP MAC without ever asking (we render only `permanent`).
 */
export interface Neighbor {
  readonly dev: string;
  /** canonical IP */
  readonly ip: string;
  readonly family: Family;
  readonly lladdr: string;
  /** `permanent` for ours; the kernel's (lower-cased) first state word for others. */
  readonly state: string;
}
export const neighborKey = (n: Pick<Neighbor, "dev" | "ip">): string => `${n.dev}/${n.ip}`;

/**
 * A FoU receive port (`ip [-6] fou add port P gue`): the kernel UDP socket that strips GUE
 * and hands the inner packet to ipip / ip6tnl; without it a peer's GUE packets are dropped.
 * Never deleted (like sysctls): observe reports only desired ports, so a foreign FoU port is
 * never planned, and one left after an encap switch is an idle socket.
 */
export interface FouPort {
  readonly family: Family;
  readonly port: number;
}
export const fouPortKey = (p: Pick<FouPort, "family" | "port">): string => `${p.family}/${p.port}`;

// ---------------------------------------------------------------------------------------------
// the overlay's attributes on Link and Route now live in rows.ts; these aliases keep the
// overlay files' names

export type { TunnelEncap } from "./rows.ts";
/** A Link (rows.ts: `address`, `tunnel.ttl`, `tunnel.encap`). */
export type OverlayLink = Link;
/** A Route (rows.ts: `onlink`). */
export type OverlayRoute = Route;

// ---------------------------------------------------------------------------------------------
// derivations every node computes alike for every other node

export type OverlayEncap = "ipip" | "fou" | "vxlan";
export type OverlayType = "subnet" | "full";

/**
 * The MAC of a node's vxlan device of one family: SHA-256 of `kube-router vxlan <family>
 * <node name>`, first 6 bytes, with the locally-administered bit set and the multicast bit
 * cleared. Derived from the node name (not its UID) so it survives a re-created Node object,
 * an agent restart and a re-created device; every peer derives the same value from the
 * snapshot, so no peer ever has to relearn it.
 */
export function vtepMac(nodeName: string, family: Family): string {
  const key = `${family} ${nodeName}`;
  const known = macMemo.get(key);
  if (known !== undefined) return known;
  if (macMemo.size >= 100_000) macMemo.clear();
  const mac = computeVtepMac(nodeName, family);
  macMemo.set(key, mac);
  return mac;
}
/** Cache of the pure vtepMac (a hash per peer per render is most of a 5,000-node render). */
const macMemo = new Map<string, string>();

function computeVtepMac(nodeName: string, family: Family): string {
  const b = createHash("sha256").update(`kube-router vxlan ${family} ${nodeName}`).digest().subarray(0, 6);
  const bytes = [...b];
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return bytes.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * A node's IPv4 VTEP address: the network address of its first IPv4 pod CIDR (flannel's
 * scheme: 10.244.3.0/24 → 10.244.3.0). IPAM never hands it out (host-local starts at .1 for
 * the gateway, .2 for pods), so it cannot clash with a pod. It sits as /32 on the node's own
 * kube-vxlan and is the `onlink` gateway of the node's pod CIDRs on every peer. Undefined for
 * an invalid CIDR.
 */
export function vtepAddress(podCidr: string): string | undefined {
  return networkAddress(podCidr);
}
/** The VTEP address as a host prefix (`/32` or `/128`). */
export function vtepCidr(vtep: string): string {
  return `${vtep}/${ipFamily(vtep) === "ipv6" ? 128 : 32}`;
}

/**
 * A node's IPv6 VTEP address: the EUI-64 link-local address of its kube-vxlan6 MAC
 * in canonical text (`5a:ed:ba:46:f3:fc` → `fe80::58ed:baff:fe46:f3fc`), the address the kernel itself gives
 * the device. Why not the pod CIDR's first address as for IPv4: the kernel checks an IPv6
 * `onlink` gateway against the route table the route goes into, and refuses ("Nexthop has
 * invalid gateway or device mismatch") when the gateway is routed through another device —
 * which it is whenever a direct `<pod CIDR> via <node IP>` route is being replaced by the
 * overlay one (a `subnet` → `full` switch; seen on 6.18). A link-local gateway needs neither
 * `onlink` nor an address of ours, and is never looked up in a table.
 */
export function vtepLinkLocal(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  const eui = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const groups = [0, 2, 4, 6].map((i) => (((eui[i] ?? 0) << 8) | (eui[i + 1] ?? 0)).toString(16));
  const text = `fe80:0:0:0:${groups.join(":")}`;
  return canonicalIp(text) ?? text;
}

/**
 * Bytes the encapsulation adds to each packet, by the underlay's family:
 * ipip 20 (outer IPv4) / ip6tnl 48 (outer IPv6 40 + the 8-byte tunnel encapsulation limit
 * destination option that ip6tnl adds by default, `encaplimit 4`: the kernel's own default
 * ip6tnl MTU on a 1500 link is 1452);
 * fou (GUE) 32 = 20 IPv4 + 8 UDP + 4 GUE / 60 over IPv6 (48 + 8 UDP + 4 GUE);
 * vxlan 50 = 20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet / 70 over IPv6 (the kernel's own
 * default MTU for a vxlan on a 1500 link: 1450, 1430).
 * The IPv6 tunnel figures were measured on Debian's 6.1 kernel in the qemu VM tier
 * (test/vm-guest/overlay-tunnels.test.ts): with 40, a pod packet of the advertised MTU gets
 * "packet too big" (the path MTU the kernel reports through ip6tnl is 1452).
 */
export function encapOverhead(encap: OverlayEncap, underlay: Family): number {
  const ip = underlay === "ipv6" ? 40 : 20;
  const tunnel = underlay === "ipv6" ? ip + 8 : ip; // ip6tnl's encapsulation limit option
  switch (encap) {
    case "ipip": return tunnel;
    case "fou": return tunnel + 8 + 4;
    case "vxlan": return ip + 8 + 8 + 14;
  }
}

/**
 * The largest MTU that fits through the overlay of every family in use: `underlayMtu` minus
 * the largest overhead among `families` (none given ⇒ the underlay MTU). Never below the
 * IPv4 minimum of 68 (IPv6 needs 1280; a smaller result on an IPv6 overlay is the
 * operator's underlay problem and the kernel refuses it when applied).
 */
export function overlayMtu(underlayMtu: number, encap: OverlayEncap, families: readonly Family[]): number {
  const overhead = Math.max(0, ...families.map((f) => encapOverhead(encap, f)));
  return Math.max(68, underlayMtu - overhead);
}
