/** Shared inputs of the route extender's render tests: §8's E1 cluster and config. */
import type { ConfigMapInfo, NodeInfo } from "../../../src/model/cluster.ts";
import { emptySnapshot, type ClusterSnapshot } from "../../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../../src/model/config.ts";
import type { HostFacts } from "../../../src/model/host.ts";

export function node(name: string, ip: string, podCIDR: string | undefined, more: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name, uid: `uid-${name}`, labels: {}, annotations: {}, ...(podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : { podCIDRs: [] }),
    addresses: [{ type: "InternalIP", address: ip }], ...more,
  };
}

export const MASTER = { taints: [{ key: "node-role.kubernetes.io/master", effect: "NoSchedule" }] };

/** E1: cp-1 (master), worker-a, worker-b. */
export const E1_NODES: readonly NodeInfo[] = [
  node("cp-1", "10.0.0.10", "10.244.0.0/24", MASTER),
  node("worker-a", "10.0.0.11", "10.244.1.0/24"),
  node("worker-b", "10.0.0.12", "10.244.2.0/24"),
];

export const E1_CONFIG: NodeConfig = {
  ...DEFAULT_CONFIG, runRouteExtender: true, routeExtenderNetwork: "192.168.254.0/24", routeExtenderVni: "200", routeExtenderPort: "8472", routeExtenderVtepIp: "10.102.33.209",
};

export function snapshot(nodes: readonly NodeInfo[], data?: Record<string, string>): ClusterSnapshot {
  const cm: ConfigMapInfo | undefined = data === undefined ? undefined : { namespace: "kube-system", name: "kube-chorus-router", data, resourceVersion: "1" };
  return { ...emptySnapshot(), nodes: new Map(nodes.map((n) => [n.name, n])), configMaps: new Map(cm ? [["kube-system/kube-chorus-router", cm]] : []) };
}

export const HOST = (ip: string): HostFacts => ({ interfaces: [{ name: "eth0", mtu: 1500, addrs: [`${ip}/24`] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" } });
