/**
 * Fixture for the overlay render tests: a cluster of nodes on two underlay subnets
 * (10.250.1.0/24 + fd00:250:1::/64 and 10.250.2.0/24 + fd00:250:2::/64), pod CIDRs
 * 10.244.N.0/24 and fd00:244:N::/64, and this node's host facts (eth0 on subnet 1).
 */
import { type ClusterSnapshot, type NodeInfo, emptySnapshot } from "../../src/model/cluster.ts";
import type { HostFacts } from "../../src/model/host.ts";
import type { OverlayConfig } from "../../src/render/overlay.ts";

/** Node N on subnet `s` (1 or 2); `v6` adds the IPv6 address and pod CIDR. */
export function node(n: number, s: number, v6 = false, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name: `node${n}`, uid: `uid-${n}`, labels: {}, annotations: {},
    podCIDR: `10.244.${n}.0/24`, podCIDRs: [`10.244.${n}.0/24`, ...(v6 ? [`fd00:244:${n}::/64`] : [])],
    addresses: [{ type: "InternalIP", address: `10.250.${s}.1${n}` }, ...(v6 ? [{ type: "InternalIP", address: `fd00:250:${s}::1${n}` }] : [])],
    ...extra,
  };
}

export const snapshot = (nodes: readonly NodeInfo[]): ClusterSnapshot => ({ ...emptySnapshot(), nodes: new Map(nodes.map((n) => [n.name, n])) });

/** This node's host: eth0 (MTU 1500) on subnet 1 with node1's addresses, plus lo and kube-bridge. */
export const host = (mtu = 1500): HostFacts => ({
  interfaces: [
    { name: "lo", mtu: 65536, addrs: ["127.0.0.1/8", "::1/128"] },
    { name: "eth0", mtu, addrs: ["10.250.1.11/24", "fd00:250:1::11/64"] },
    { name: "kube-bridge", mtu, addrs: ["10.244.1.1/24"] },
  ],
  cniConf: { path: "/nonexistent/10-kuberouter.conf" },
});

export const cfg = (o: Partial<OverlayConfig> = {}): OverlayConfig => ({
  enableIpv4: true, enableIpv6: false, enableOverlay: true, overlayType: "subnet", overlayEncap: "vxlan", overlayEncapPort: 0, autoMtu: true, ...o,
});

/** Nodes 1, 2 on subnet 1; 3, 4 on subnet 2. */
export const fourNodes = (v6 = false): NodeInfo[] => [node(1, 1, v6), node(2, 1, v6), node(3, 2, v6), node(4, 2, v6)];
