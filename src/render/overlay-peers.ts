/**
 * Which path pod traffic to a peer node takes (kube-router-features.md §5.5), and the peer
 * facts the overlay renderers need. Pure.
 *
 * - `direct`: the peer's node IP is in a subnet connected to this host and the overlay type
 *   is `subnet` (or the overlay is off): the router's `<pod CIDR> via <node IP>` route.
 * - `overlay`: the overlay is on and the type is `full`, or the peer is on another subnet.
 * - `underlay`: the overlay is off and the peer is on another subnet: no route from us
 *   (upstream expects the underlay to route pod CIDRs); the caller warns, naming the peer.
 *
 * @category render
 */
import type { NodeInfo } from "../model/cluster.ts";
import type { HostFacts } from "../model/host.ts";
import { type Cidr, canonicalCidr, canonicalIp, cidrContains, ipFamily, parseCidr, parseIp } from "../model/ip.ts";
import { KUBE_BRIDGE } from "../model/names.ts";
import { isOverlayDevice } from "../model/ownership.ts";
import type { Family } from "../model/state.ts";
import { nodeIpOfFamily, nodePodCidrs } from "./node-facts.ts";

export type PeerPath = "direct" | "overlay" | "underlay";

/** Interfaces whose subnets say nothing about the underlay: ours, loopback. */
const notUnderlay = (name: string): boolean => name === "lo" || name === KUBE_BRIDGE || isOverlayDevice(name);

/** The subnets of this host's underlay interfaces, parsed once per render. */
export function underlaySubnets(host: HostFacts): readonly Cidr[] {
  return host.interfaces.flatMap((i) => (notUnderlay(i.name) ? [] : i.addrs.flatMap((a) => {
    const c = parseCidr(a);
    return c === undefined ? [] : [c];
  })));
}

/** True when `ip` lies in a subnet of an underlay interface of this host. */
export function onConnectedSubnet(host: HostFacts | readonly Cidr[], ip: string): boolean {
  const subnets = "interfaces" in host ? underlaySubnets(host) : host;
  const a = parseIp(ip);
  if (a === undefined) return false;
  for (const c of subnets) if (cidrContains(c, a)) return true;
  return false;
}

/** The path to a peer whose node IP (of the family in question) is `peerIp`. */
export function peerPath(cfg: { readonly enableOverlay: boolean; readonly overlayType: string }, host: HostFacts | readonly Cidr[], peerIp: string): PeerPath {
  const connected = onConnectedSubnet(host, peerIp);
  if (cfg.enableOverlay && (cfg.overlayType === "full" || !connected)) return "overlay";
  return connected ? "direct" : "underlay";
}

/** The host interface carrying `ip` (its name and MTU), if any. */
export function interfaceWithIp(host: HostFacts, ip: string): { readonly name: string; readonly mtu: number } | undefined {
  const want = canonicalIp(ip);
  return host.interfaces.find((i) => i.addrs.some((a) => canonicalIp(a.split("/")[0] ?? "") === want));
}

/** One node as the overlay sees it in one family: canonical node IP and valid pod CIDRs. */
export interface NodeFamilyFacts {
  readonly name: string;
  readonly family: Family;
  /** canonical; undefined when the node has no address of the family */
  readonly ip?: string;
  /** canonical pod CIDRs of the family, in the node's order */
  readonly cidrs: readonly string[];
}

/**
 * Facts per Node object: the snapshot store shares unchanged objects between syncs, so a
 * re-render parses only nodes that changed. A cache of a pure function: never changes a result.
 */
const factsMemo = new WeakMap<NodeInfo, Partial<Record<Family, NodeFamilyFacts>>>();

/** The node's facts in `family`. Invalid pod CIDRs are left out (the router warns about them). */
export function nodeFamilyFacts(node: NodeInfo, family: Family): NodeFamilyFacts {
  let m = factsMemo.get(node);
  if (m === undefined) factsMemo.set(node, (m = {}));
  return (m[family] ??= computeFacts(node, family));
}

function computeFacts(node: NodeInfo, family: Family): NodeFamilyFacts {
  const cidrs: string[] = [];
  for (const c of nodePodCidrs(node).cidrs) {
    const canonical = canonicalCidr(c);
    if (canonical !== undefined && (canonical.includes(":") ? "ipv6" : "ipv4") === family) cidrs.push(canonical);
  }
  const ip = canonicalIp(nodeIpOfFamily(node, family) ?? "");
  return { name: node.name, family, ...(ip !== undefined ? { ip } : {}), cidrs };
}

/** `/32` or `/128` of an address. */
export const hostPrefix = (ip: string): string => `${ip}/${ipFamily(ip) === "ipv6" ? 128 : 32}`;
