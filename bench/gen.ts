/**
 * Deterministic synthetic clusters for the benchmark: a ClusterSnapshot built directly (no
 * YAML), from a size of perf-anchors.md §3 and a seeded PRNG, so the same size always gives
 * a byte-identical snapshot (see snapshot-json.ts for the digest).
 *
 * Shape:
 * - nodes: node-0000 (the benchmarked node) … on 10.0.0.0/16, one /24 pod CIDR each, every
 *   25th node dual-stack (addressing.ts);
 * - namespaces `ns-NNNN` with a `team` label;
 * - one workload per Service with `endpointsPerService` pods, then "filler" workloads of 5
 *   pods each until the cluster has `clusterPods`; `localPods` of them run on node-0000, the
 *   rest are spread round robin over the other nodes;
 * - Services (ClusterIP; every 10th NodePort, every 50th LoadBalancer; some with a second
 *   TCP port or a UDP port; every 20th with ClientIP affinity), one EndpointSlice each whose
 *   endpoints are the workload's pods;
 * - NetworkPolicies selecting one workload each (filler workloads first, so M selects ≈300
 *   pods), in four shapes: pod-selector ingress, namespace+pod selector ingress, ingress with
 *   matchExpressions plus ipBlock egress, default-deny ingress; every 10th selects the whole
 *   namespace.
 */
import type {
  ClusterSnapshot, ContainerPort, EndpointSliceInfo, LabelSelector, NamespaceInfo, NetworkPolicyInfo, NodeInfo, PodInfo,
  PolicyRule, ServiceInfo, ServicePort,
} from "../src/model/cluster.ts";
import {
  MAX_NODES, NODE_PREFIX, PODS_PER_NODE, isDualStack, loadBalancerIp, nodeIp, nodeIp6, nodeName, podCidr, podCidr6, podIp,
  podIp6, serviceIp,
} from "./addressing.ts";
import { type Prng, mulberry32, seedOf } from "./prng.ts";
import { SIZES, type SizeName, type SizeSpec } from "./sizes.ts";

/** A generated cluster and the facts about it the benchmark needs. */
export interface GeneratedCluster {
  readonly spec: SizeSpec;
  readonly snapshot: ClusterSnapshot;
  /** The benchmarked node's name and InternalIP. */
  readonly selfNode: string;
  readonly selfIp: string;
  /** Prefix length of the subnet every node IP is on. */
  readonly nodePrefix: number;
}

/** The fixed seed every size's stream is derived from. */
export const SEED = "kube-router-ts bench v1";

const TIERS = ["frontend", "backend", "db"] as const;

interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly tier: (typeof TIERS)[number];
  readonly templateHash: string;
  readonly ports: readonly ContainerPort[];
  /** The Service fronting it, by index. */
  readonly service?: number;
}

interface PlacedPod {
  readonly info: PodInfo;
  readonly workload: Workload;
}

const selector = (matchLabels: Record<string, string>, matchExpressions: LabelSelector["matchExpressions"] = []): LabelSelector =>
  ({ matchLabels, matchExpressions });
const byKey = <T>(entries: [string, T][]): Map<string, T> => new Map(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const pad = (i: number, n = 4): string => String(i).padStart(n, "0");

/** The Service ports of Service `i`: http always, https every 4th, dns/UDP every 7th. */
function servicePorts(i: number, withNodePort: boolean): ServicePort[] {
  const ports: ServicePort[] = [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }];
  if (i % 4 === 0) ports.push({ name: "https", protocol: "TCP", port: 443, targetPort: 8443 });
  if (i % 7 === 0) ports.push({ name: "dns", protocol: "UDP", port: 53, targetPort: 5353 });
  if (!withNodePort) return ports;
  return ports.map((p, k) => ({ ...p, nodePort: 30000 + ((i * 3 + k) % 2768) }));
}

function nodes(spec: SizeSpec, rng: Prng): NodeInfo[] {
  return Array.from({ length: spec.nodes }, (_, i) => {
    const name = nodeName(i);
    const dual = isDualStack(i);
    const cidrs = dual ? [podCidr(i), podCidr6(i)] : [podCidr(i)];
    return {
      name,
      uid: rng.uuid(),
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "topology.kubernetes.io/zone": `zone-${String.fromCharCode(97 + (i % 3))}`,
      },
      annotations: {},
      podCIDR: podCidr(i),
      podCIDRs: cidrs,
      addresses: [
        { type: "InternalIP", address: nodeIp(i) },
        ...(dual ? [{ type: "InternalIP", address: nodeIp6(i) }] : []),
        { type: "Hostname", address: name },
      ],
      providerID: `bench://${name}`,
    };
  });
}

function namespaces(spec: SizeSpec): NamespaceInfo[] {
  return Array.from({ length: spec.namespaces }, (_, i) => {
    const name = `ns-${pad(i)}`;
    return { name, labels: { "kubernetes.io/metadata.name": name, team: `team-${i % 8}` } };
  });
}

/** Service workloads first (index = Service index), then filler workloads of 5 pods. */
function workloads(spec: SizeSpec, nsNames: readonly string[], rng: Prng): Workload[] {
  const out: Workload[] = [];
  const ns = (k: number): string => nsNames[k % nsNames.length]!;
  for (let i = 0; i < spec.services; i++) {
    const ports: ContainerPort[] = servicePorts(i, false).map((p) => ({ name: p.name ?? "", containerPort: p.targetPort as number, protocol: p.protocol }));
    out.push({ name: `svc-${pad(i, 5)}`, namespace: ns(i), replicas: spec.endpointsPerService, tier: TIERS[i % 3]!, templateHash: rng.hex(10), ports, service: i });
  }
  let left = spec.clusterPods - spec.services * spec.endpointsPerService;
  for (let j = 0; left > 0; j++) {
    const replicas = Math.min(5, left);
    left -= replicas;
    out.push({ name: `app-${pad(j, 5)}`, namespace: ns(spec.services + j), replicas, tier: TIERS[j % 3]!, templateHash: rng.hex(10), ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] });
  }
  return out;
}

/** Node index of every pod: `localPods` on node 0 (picked at random), the rest round robin. */
function placement(spec: SizeSpec, rng: Prng): number[] {
  const order = Array.from({ length: spec.clusterPods }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nodeOf = new Array<number>(spec.clusterPods);
  order.forEach((pod, k) => { nodeOf[pod] = k < spec.localPods || spec.nodes === 1 ? 0 : 1 + ((k - spec.localPods) % (spec.nodes - 1)); });
  return nodeOf;
}

function pods(spec: SizeSpec, wls: readonly Workload[], rng: Prng): PlacedPod[] {
  const nodeOf = placement(spec, rng);
  const used = new Array<number>(spec.nodes).fill(0);
  const out: PlacedPod[] = [];
  for (const w of wls) {
    for (let r = 0; r < w.replicas; r++) {
      const n = nodeOf[out.length]!;
      const slot = used[n]!++;
      if (slot >= PODS_PER_NODE) throw new Error(`gen ${spec.name}: node ${nodeName(n)} would get more than ${PODS_PER_NODE} pods`);
      out.push({
        workload: w,
        info: {
          namespace: w.namespace,
          name: `${w.name}-${w.templateHash}-${rng.suffix(5)}`,
          labels: { app: w.name, tier: w.tier, "pod-template-hash": w.templateHash },
          nodeName: nodeName(n),
          hostNetwork: false,
          phase: "Running",
          hostIP: nodeIp(n),
          podIPs: isDualStack(n) ? [podIp(n, slot), podIp6(n, slot)] : [podIp(n, slot)],
          ports: w.ports,
          terminationGracePeriodSeconds: 30,
        },
      });
    }
  }
  return out;
}

function service(i: number, namespace: string): ServiceInfo {
  const type = i % 50 === 49 ? "LoadBalancer" : i % 10 === 9 ? "NodePort" : "ClusterIP";
  const name = `svc-${pad(i, 5)}`;
  const local = type === "LoadBalancer" && i % 100 === 99;
  return {
    namespace, name, labels: { app: name }, annotations: {},
    type,
    clusterIPs: [serviceIp(i)],
    externalIPs: [],
    loadBalancerIngress: type === "LoadBalancer" ? [{ ip: loadBalancerIp(i), ipMode: "VIP" }] : [],
    ports: servicePorts(i, type !== "ClusterIP"),
    ...(i % 20 === 0 ? { sessionAffinity: "ClientIP", sessionAffinityTimeoutSeconds: 10800 } as const : { sessionAffinity: "None" } as const),
    externalTrafficPolicy: local ? "Local" : "Cluster",
    internalTrafficPolicy: "Cluster",
    ...(local ? { healthCheckNodePort: 32000 + (i % 700) } : {}),
  };
}

function endpointSlice(svc: ServiceInfo, members: readonly PodInfo[], rng: Prng): EndpointSliceInfo {
  return {
    namespace: svc.namespace,
    name: `${svc.name}-${rng.suffix(5)}`,
    serviceName: svc.name,
    addressType: "IPv4",
    ports: svc.ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.targetPort as number, protocol: p.protocol })),
    endpoints: members.map((p) => ({
      addresses: [p.podIPs[0]!],
      ready: true, serving: true, terminating: false,
      ...(p.nodeName !== undefined ? { nodeName: p.nodeName } : {}),
      targetRef: { namespace: p.namespace, name: p.name },
    })),
  };
}

function policy(k: number, w: Workload): NetworkPolicyInfo {
  const podSelector = k % 10 === 9 ? selector({}) : selector({ app: w.name });
  const base = { namespace: w.namespace, name: `np-${pad(k)}-${w.name}`, podSelector };
  const tcp = (port: number) => ({ protocol: "TCP", port });
  switch (k % 4) {
    case 0:
      return { ...base, policyTypes: ["Ingress"], ingress: [{ peers: [{ podSelector: selector({ tier: "frontend" }) }], ports: [tcp(8080)] }], egress: [] };
    case 1:
      return {
        ...base, policyTypes: ["Ingress"],
        ingress: [{ peers: [{ namespaceSelector: selector({ team: `team-${k % 8}` }), podSelector: selector({ tier: "backend" }) }], ports: [tcp(8080), tcp(8443)] }],
        egress: [],
      };
    case 2: {
      const ingress: PolicyRule[] = [{ peers: [{ podSelector: selector({}, [{ key: "tier", operator: "In", values: ["frontend", "backend"] }]) }] }];
      const egress: PolicyRule[] = [
        { peers: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.96.0.0/12"] } }], ports: [tcp(443), { protocol: "UDP", port: 53 }] },
      ];
      return { ...base, policyTypes: ["Ingress", "Egress"], ingress, egress };
    }
    default:
      return { ...base, policyTypes: ["Ingress"], ingress: [], egress: [] };
  }
}

/** Builds the cluster of `size` (a name of sizes.ts or a custom spec). Pure and deterministic. */
export function generateCluster(size: SizeName | SizeSpec): GeneratedCluster {
  const spec = typeof size === "string" ? SIZES[size] : size;
  if (spec.nodes < 1 || spec.nodes > MAX_NODES) throw new Error(`gen ${spec.name}: nodes must be 1..${MAX_NODES}`);
  if (spec.services * spec.endpointsPerService > spec.clusterPods) throw new Error(`gen ${spec.name}: more endpoints than pods`);
  if (spec.localPods > spec.clusterPods) throw new Error(`gen ${spec.name}: more local pods than pods`);
  const rng = mulberry32(seedOf(`${SEED}/${spec.name}/${JSON.stringify(spec)}`));

  const nodeList = nodes(spec, rng);
  const nsList = namespaces(spec);
  const wls = workloads(spec, nsList.map((n) => n.name), rng);
  const podList = pods(spec, wls, rng);

  const services: [string, ServiceInfo][] = [];
  const slices: [string, EndpointSliceInfo][] = [];
  const members = new Map<number, PodInfo[]>();
  for (const p of podList) {
    if (p.workload.service === undefined) continue;
    const list = members.get(p.workload.service);
    if (list) list.push(p.info);
    else members.set(p.workload.service, [p.info]);
  }
  for (const w of wls) {
    if (w.service === undefined) continue;
    const svc = service(w.service, w.namespace);
    services.push([`${svc.namespace}/${svc.name}`, svc]);
    const slice = endpointSlice(svc, members.get(w.service) ?? [], rng);
    slices.push([`${slice.namespace}/${slice.name}`, slice]);
  }

  const fillers = wls.filter((w) => w.service === undefined);
  const targets = fillers.length > 0 ? fillers : wls;
  const policies = Array.from({ length: spec.policies }, (_, k) => policy(k, targets[k % targets.length]!));

  const snapshot: ClusterSnapshot = {
    nodes: byKey(nodeList.map((n) => [n.name, n])),
    namespaces: byKey(nsList.map((n) => [n.name, n])),
    pods: byKey(podList.map((p) => [`${p.info.namespace}/${p.info.name}`, p.info])),
    services: byKey(services),
    endpointSlices: byKey(slices),
    networkPolicies: byKey(policies.map((p) => [`${p.namespace}/${p.name}`, p])),
  };
  return { spec, snapshot, selfNode: nodeName(0), selfIp: nodeIp(0), nodePrefix: NODE_PREFIX };
}
