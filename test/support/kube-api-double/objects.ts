/**
 * Kubernetes objects for tests, in API shape: small builders for each kind the agent watches,
 * and `apiObjectsOf(snapshot)`, the inverse of the projection (model records → API objects),
 * used to serve a generated benchmark cluster through the double.
 */
import { createHash } from "node:crypto";
import type {
  ClusterSnapshot, EndpointSliceInfo, LabelSelector, NetworkPolicyInfo, NodeInfo, PodInfo, PolicyRule, ServiceInfo,
} from "../../../src/model/cluster.ts";
import type { ResourceName } from "./resources.ts";
import type { KubeObject } from "./store.ts";

/** A managedFields entry like the ones kubectl/kubelet leave; `noise` adds it to built objects. */
const MANAGED_FIELDS = [
  { manager: "kubelet", operation: "Update", apiVersion: "v1", time: "2024-01-01T00:00:00Z", fieldsType: "FieldsV1", fieldsV1: { "f:status": { "f:conditions": {}, "f:podIPs": {} } } },
];

export function node(name: string, opts: { ip?: string; podCIDR?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    metadata: { name, labels: opts.labels ?? { "kubernetes.io/hostname": name } },
    spec: opts.podCIDR ? { podCIDR: opts.podCIDR, podCIDRs: [opts.podCIDR] } : {},
    status: { addresses: [{ type: "InternalIP", address: opts.ip ?? "10.0.0.1" }, { type: "Hostname", address: name }] },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } };
}

export function pod(ns: string, name: string, opts: { ip?: string; nodeName?: string; labels?: Record<string, string>; port?: number } = {}): KubeObject {
  return {
    metadata: { namespace: ns, name, labels: opts.labels ?? { app: name }, managedFields: MANAGED_FIELDS },
    spec: {
      nodeName: opts.nodeName ?? "node-a",
      containers: [{ name: "c", image: "registry.example/app:1", ports: opts.port ? [{ containerPort: opts.port, protocol: "TCP" }] : [] }],
    },
    status: { phase: "Running", hostIP: "10.0.0.1", ...(opts.ip ? { podIP: opts.ip, podIPs: [{ ip: opts.ip }] } : {}) },
  };
}

export function service(ns: string, name: string, opts: { clusterIP?: string; port?: number; targetPort?: number } = {}): KubeObject {
  const port = opts.port ?? 80;
  return {
    metadata: { namespace: ns, name },
    spec: {
      type: "ClusterIP",
      clusterIP: opts.clusterIP ?? "10.96.0.10",
      clusterIPs: [opts.clusterIP ?? "10.96.0.10"],
      ports: [{ name: "http", protocol: "TCP", port, targetPort: opts.targetPort ?? port }],
    },
  };
}

export function endpointSlice(ns: string, name: string, serviceName: string, ips: readonly string[], port = 80): KubeObject {
  return {
    metadata: { namespace: ns, name, labels: { "kubernetes.io/service-name": serviceName } },
    addressType: "IPv4",
    ports: [{ name: "http", protocol: "TCP", port }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

export function networkPolicy(ns: string, name: string, podLabels: Record<string, string> = {}): KubeObject {
  return {
    metadata: { namespace: ns, name },
    spec: { podSelector: { matchLabels: podLabels }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
  };
}

export function configMap(ns: string, name: string, data: Record<string, string> = {}): KubeObject {
  return { metadata: { namespace: ns, name }, data: { ...data } };
}

// ---------------------------------------------------------------------------------------------
// Model records → API objects (the inverse of src/sources/project.ts, for generated clusters)

const sel = (s: LabelSelector) => ({
  ...(Object.keys(s.matchLabels).length ? { matchLabels: s.matchLabels } : {}),
  ...(s.matchExpressions.length ? { matchExpressions: s.matchExpressions } : {}),
});
const rule = (r: PolicyRule, peersKey: "from" | "to") => ({
  ...(r.peers ? { [peersKey]: r.peers.map((p) => ({
    ...(p.podSelector ? { podSelector: sel(p.podSelector) } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: sel(p.namespaceSelector) } : {}),
    ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except.length ? { except: p.ipBlock.except } : {}) } } : {}),
  })) } : {}),
  ...(r.ports ? { ports: r.ports } : {}),
});

export function nodeObject(n: NodeInfo): KubeObject {
  return {
    metadata: { name: n.name, uid: n.uid, labels: n.labels, annotations: n.annotations },
    spec: { ...(n.podCIDR ? { podCIDR: n.podCIDR } : {}), podCIDRs: n.podCIDRs, ...(n.providerID ? { providerID: n.providerID } : {}) },
    status: { addresses: n.addresses },
  };
}

/** A stable UUID-shaped metadata.uid for a pod (the model does not keep pods' uids). */
const podUid = (p: Pick<PodInfo, "namespace" | "name">): string => {
  const h = createHash("sha256").update(`${p.namespace}/${p.name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** A pod as the API sends it, with realistic noise (managedFields, conditions) when `noise`. */
export function podObject(p: PodInfo, noise = false): KubeObject {
  return {
    metadata: {
      namespace: p.namespace, name: p.name, uid: podUid(p), labels: p.labels,
      ...(noise ? { generateName: `${p.name.slice(0, -5)}`, managedFields: MANAGED_FIELDS, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: p.name.slice(0, -6), uid: podUid(p), controller: true }] } : {}),
    },
    spec: {
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      hostNetwork: p.hostNetwork,
      ...(p.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: p.terminationGracePeriodSeconds } : {}),
      containers: [{ name: "app", image: "registry.example/app:1.2.3", ports: p.ports, ...(noise ? { resources: { requests: { cpu: "100m", memory: "128Mi" } }, env: [{ name: "MODE", value: "prod" }] } : {}) }],
    },
    status: {
      ...(p.phase ? { phase: p.phase } : {}),
      ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      ...(p.podIPs[0] ? { podIP: p.podIPs[0] } : {}),
      podIPs: p.podIPs.map((ip) => ({ ip })),
      ...(p.containerID ? { containerStatuses: [{ name: "app", ready: true, restartCount: 0, containerID: p.containerID }] } : {}),
      ...(noise ? { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }], qosClass: "Burstable", startTime: "2024-01-01T00:00:00Z" } : {}),
    },
  };
}

export function serviceObject(s: ServiceInfo): KubeObject {
  return {
    metadata: { namespace: s.namespace, name: s.name, labels: s.labels, annotations: s.annotations },
    spec: {
      type: s.type, clusterIPs: s.clusterIPs, ...(s.clusterIPs[0] ? { clusterIP: s.clusterIPs[0] } : {}),
      externalIPs: s.externalIPs, ports: s.ports, sessionAffinity: s.sessionAffinity,
      ...(s.sessionAffinityTimeoutSeconds !== undefined ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.sessionAffinityTimeoutSeconds } } } : {}),
      externalTrafficPolicy: s.externalTrafficPolicy, internalTrafficPolicy: s.internalTrafficPolicy,
      ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
    },
    status: { loadBalancer: s.loadBalancerIngress.length ? { ingress: s.loadBalancerIngress } : {} },
  };
}

export function endpointSliceObject(e: EndpointSliceInfo): KubeObject {
  return {
    metadata: { namespace: e.namespace, name: e.name, labels: { "kubernetes.io/service-name": e.serviceName } },
    addressType: e.addressType,
    ports: e.ports,
    endpoints: e.endpoints.map((x) => ({
      addresses: x.addresses, conditions: { ready: x.ready, serving: x.serving, terminating: x.terminating },
      ...(x.nodeName ? { nodeName: x.nodeName } : {}),
      ...(x.targetRef ? { targetRef: { kind: "Pod", ...x.targetRef } } : {}),
    })),
  };
}

export function networkPolicyObject(p: NetworkPolicyInfo): KubeObject {
  return {
    metadata: { namespace: p.namespace, name: p.name },
    spec: {
      podSelector: sel(p.podSelector), policyTypes: p.policyTypes,
      ingress: p.ingress.map((r) => rule(r, "from")), egress: p.egress.map((r) => rule(r, "to")),
    },
  };
}

/** Every object of a snapshot as API objects, per resource. `noise` adds pod managedFields etc. */
export function apiObjectsOf(s: ClusterSnapshot, noise = false): Record<ResourceName, KubeObject[]> {
  return {
    nodes: [...s.nodes.values()].map(nodeObject),
    namespaces: [...s.namespaces.values()].map((n) => ({ metadata: { name: n.name, labels: n.labels } })),
    pods: [...s.pods.values()].map((p) => podObject(p, noise)),
    services: [...s.services.values()].map(serviceObject),
    endpointslices: [...s.endpointSlices.values()].map(endpointSliceObject),
    networkpolicies: [...s.networkPolicies.values()].map(networkPolicyObject),
    configmaps: [...(s.configMaps?.values() ?? [])].map((c) => configMap(c.namespace, c.name, c.data)),
    leases: [],
    events: [],
  };
}
