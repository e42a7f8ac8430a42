/**
 * Test support for the firewall renderer: small clusters written as Kubernetes objects
 * (projected through the real projection, so API defaulting applies) and a render helper.
 */
import type { ClusterSnapshot, NamespaceInfo, NetworkPolicyInfo, NodeInfo, PodInfo } from "../../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../../src/model/config.ts";
import type { Chain, Ipset, NodeState } from "../../../src/model/state.ts";
import { renderFirewall } from "../../../src/render/firewall/index.ts";
import { projectNetworkPolicy } from "../../../src/sources/project.ts";

export const NODE1: NodeInfo = {
  name: "node1", uid: "u1", labels: {}, annotations: {}, podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"],
  addresses: [{ type: "InternalIP", address: "10.250.0.11" }, { type: "InternalIP", address: "fd00:250::11" }],
};
export const NODE2: NodeInfo = {
  name: "node2", uid: "u2", labels: {}, annotations: {}, podCIDR: "10.244.2.0/24", podCIDRs: ["10.244.2.0/24"],
  addresses: [{ type: "InternalIP", address: "10.250.0.12" }],
};

export interface PodOpts {
  readonly node?: string;
  readonly ips?: readonly string[];
  readonly ports?: PodInfo["ports"];
  readonly phase?: string;
  readonly hostNetwork?: boolean;
}

/** A pod; `node1` pods get 10.244.1.x, others 10.244.2.x unless `ips` is given. */
let nextIp = 10;
export function pod(ns: string, name: string, labels: Record<string, string>, o: PodOpts = {}): PodInfo {
  const node = o.node ?? "node1";
  const ips = o.ips ?? [`10.244.${node === "node1" ? 1 : 2}.${nextIp++}`];
  return {
    namespace: ns, name, labels, nodeName: node, hostNetwork: o.hostNetwork ?? false,
    phase: o.phase ?? "Running", hostIP: node === "node1" ? "10.250.0.11" : "10.250.0.12", podIPs: ips, ports: o.ports ?? [],
  };
}

export const ns = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({ name, labels });

/** A NetworkPolicy from its Kubernetes spec (projected, so defaulting applies). */
export function policy(namespace: string, name: string, spec: object): NetworkPolicyInfo {
  const r = projectNetworkPolicy({ metadata: { name, namespace }, spec });
  if (!("ok" in r)) throw new Error(JSON.stringify(r.warning));
  return r.ok;
}

export function cluster(parts: { pods?: PodInfo[]; namespaces?: NamespaceInfo[]; policies?: NetworkPolicyInfo[]; nodes?: NodeInfo[] }): ClusterSnapshot {
  const key = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;
  return {
    nodes: new Map((parts.nodes ?? [NODE1, NODE2]).map((n) => [n.name, n])),
    namespaces: new Map((parts.namespaces ?? []).map((n) => [n.name, n])),
    pods: new Map((parts.pods ?? []).map((p) => [key(p), p])),
    services: new Map(),
    endpointSlices: new Map(),
    networkPolicies: new Map((parts.policies ?? []).map((p) => [key(p), p])),
  };
}

export interface Rendered {
  readonly state: Partial<NodeState>;
  readonly warnings: readonly string[];
  readonly chains: ReadonlyMap<string, Chain>;
  readonly sets: ReadonlyMap<string, Ipset>;
}

/** Renders the firewall of node1 (IPv4 only unless `config` says otherwise). */
export function render(snapshot: ClusterSnapshot, config: Partial<NodeConfig> = {}, nodeName = "node1"): Rendered {
  const r = renderFirewall({ snapshot, config: { ...DEFAULT_CONFIG, ...config }, host: { interfaces: [], cniConf: { path: "/x" } }, nodeName });
  if (!("ok" in r)) throw new Error(r.error);
  const chains = new Map([...(r.ok.state.chains ?? new Map()).values()].map((c) => [`${c.family}/${c.name}`, c]));
  const sets = new Map([...(r.ok.state.ipsets ?? new Map()).values()].map((s) => [s.name, s]));
  return { state: r.ok.state, warnings: r.ok.warnings, chains, sets };
}

/** The set names a chain's rules match, in order. */
export function setsIn(chain: Chain | undefined): string[] {
  return (chain?.rules ?? []).flatMap((r) => [...r.matchAll(/--match-set (\S+) (src|dst)/g)].map((m) => m[1]!));
}

/** Sorted members of a set (throws when the set is missing). */
export function members(r: Rendered, name: string): string[] {
  const s = r.sets.get(name);
  if (s === undefined) throw new Error(`set ${name} not rendered; have ${[...r.sets.keys()].join(", ")}`);
  return [...s.members].sort();
}
