/** Test support: small builders for proxy render inputs (projected records, not YAML). */
import type { ClusterSnapshot, EndpointSliceInfo, NodeInfo, PodInfo, ServiceInfo } from "../../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../../src/model/config.ts";
import type { HostFacts } from "../../../src/model/host.ts";
import type { RenderInput } from "../../../src/render/controller.ts";

export const node = (name: string, ip: string, cidr: string, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  name, uid: `uid-${name}`, labels: {}, annotations: {}, podCIDR: cidr, podCIDRs: [cidr],
  addresses: [{ type: "InternalIP", address: ip }], ...extra,
});

export const service = (name: string, clusterIP: string, extra: Partial<ServiceInfo> = {}): ServiceInfo => ({
  namespace: "default", name, labels: {}, annotations: {}, type: "ClusterIP", clusterIPs: [clusterIP], externalIPs: [],
  loadBalancerIngress: [], ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }], sessionAffinity: "None",
  externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster", ...extra,
});

export const slice = (svc: string, eps: readonly [ip: string, node: string, extra?: Partial<EndpointSliceInfo["endpoints"][number]>][], opts: { name?: string; port?: number; portName?: string; family?: "IPv4" | "IPv6" } = {}): EndpointSliceInfo => ({
  namespace: "default", name: opts.name ?? `${svc}-1`, serviceName: svc, addressType: opts.family ?? "IPv4",
  ports: [{ ...(opts.portName ? { name: opts.portName } : {}), port: opts.port ?? 8080, protocol: "TCP" }],
  endpoints: eps.map(([ip, n, extra]) => ({ addresses: [ip], ready: true, serving: true, terminating: false, nodeName: n, ...extra })),
});

export const pod = (ns: string, name: string, extra: Partial<PodInfo> = {}): PodInfo => ({
  namespace: ns, name, labels: {}, hostNetwork: false, podIPs: [], ports: [], ...extra,
});

export function snapshot(o: { nodes?: NodeInfo[]; services?: ServiceInfo[]; slices?: EndpointSliceInfo[]; pods?: PodInfo[] }): ClusterSnapshot {
  return {
    nodes: new Map((o.nodes ?? [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "10.250.0.12", "10.244.2.0/24")]).map((n) => [n.name, n])),
    namespaces: new Map(),
    pods: new Map((o.pods ?? []).map((p) => [`${p.namespace}/${p.name}`, p])),
    services: new Map((o.services ?? []).map((s) => [`${s.namespace}/${s.name}`, s])),
    endpointSlices: new Map((o.slices ?? []).map((s) => [`${s.namespace}/${s.name}`, s])),
    networkPolicies: new Map(),
  };
}

export const HOST: HostFacts = {
  interfaces: [{ name: "lo", mtu: 65536, addrs: ["127.0.0.1/8"] }, { name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }],
  cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" },
};

export const input = (snap: ClusterSnapshot, cfg: Partial<NodeConfig> = {}, host: HostFacts = HOST): RenderInput =>
  ({ snapshot: snap, config: { ...DEFAULT_CONFIG, ...cfg }, host, nodeName: "node1" });
