/**
 * ClusterSnapshot: the Kubernetes objects renderers need, projected to small records
 * (no managedFields, no status noise). Produced by src/sources (snapshot files, informers).
 * API defaulting the server may or may not have done (port protocol, policyTypes) is applied
 * by the projection, so renderers see one shape.
 *
 * @category models
 */
import { oneLine } from "./one-line.ts";

export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

export interface NodeAddress {
  readonly type: string; // InternalIP, ExternalIP, Hostname, …
  readonly address: string;
}

export interface NodeInfo {
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly podCIDR?: string;
  readonly podCIDRs: readonly string[];
  readonly addresses: readonly NodeAddress[];
  readonly providerID?: string;
  /** spec.taints (absent in older snapshots: no taints). The route extender skips nodes by taint key. */
  readonly taints?: readonly Taint[];
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string; // NoSchedule, PreferNoSchedule, NoExecute
}

/**
 * A ConfigMap the agent reads back (the route extender's `kube-system/kube-chorus-router`):
 * only the ConfigMaps the source was asked for are in the snapshot.
 */
export interface ConfigMapInfo {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: "TCP" | "UDP" | "SCTP";
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName?: string;
  readonly hostNetwork: boolean;
  readonly phase?: string;
  readonly hostIP?: string;
  readonly podIPs: readonly string[];
  readonly ports: readonly ContainerPort[];
  readonly terminationGracePeriodSeconds?: number;
  readonly containerID?: string;
}

export interface ServicePort {
  readonly name?: string;
  readonly protocol: "TCP" | "UDP" | "SCTP";
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly type: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  readonly clusterIPs: readonly string[];
  readonly externalIPs: readonly string[];
  readonly loadBalancerIngress: readonly { readonly ip?: string; readonly hostname?: string; readonly ipMode?: string }[];
  readonly ports: readonly ServicePort[];
  readonly sessionAffinity: "None" | "ClientIP";
  readonly sessionAffinityTimeoutSeconds?: number;
  readonly externalTrafficPolicy: "Cluster" | "Local";
  readonly internalTrafficPolicy: "Cluster" | "Local";
  readonly healthCheckNodePort?: number;
  /** `spec.loadBalancerClass` (the allocator handles `kube-router`, or unset with --loadbalancer-default-class). */
  readonly loadBalancerClass?: string;
  /** `spec.loadBalancerIP` (deprecated in Kubernetes, still what users set): the IP asked for. */
  readonly loadBalancerIP?: string;
  /** `spec.ipFamilyPolicy`: SingleStack (default), PreferDualStack, RequireDualStack. */
  readonly ipFamilyPolicy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  /** `spec.ipFamilies` (`IPv4`, `IPv6`), in order. */
  readonly ipFamilies?: readonly ("IPv4" | "IPv6")[];
  /** `metadata.resourceVersion` and `metadata.creationTimestamp` (RFC 3339), when given. */
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
}

export interface EndpointInfo {
  readonly addresses: readonly string[];
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly targetRef?: ObjectRef;
}

export interface EndpointSliceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly addressType: "IPv4" | "IPv6" | "FQDN";
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol: "TCP" | "UDP" | "SCTP" }[];
  readonly endpoints: readonly EndpointInfo[];
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string; // In, NotIn, Exists, DoesNotExist (validated by the renderer)
  readonly values: readonly string[];
}
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except: readonly string[] };
}
export interface PolicyPort {
  readonly protocol: string; // defaulted to TCP; validated by the renderer
  readonly port?: number | string;
  readonly endPort?: number;
}
export interface PolicyRule {
  /** undefined = field missing (match all); [] = present but empty (also match all, per API). */
  readonly peers?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}
export interface NetworkPolicyInfo {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** As defaulted by the API: Ingress always unless only Egress listed; Egress if listed or egress rules exist. */
  readonly policyTypes: readonly ("Ingress" | "Egress")[];
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
}

/** A warning about one input object: what, which object, which field. Never fatal. */
export interface InputWarning {
  readonly source?: string; // file path
  readonly kind: string;
  readonly ref?: ObjectRef;
  readonly field?: string;
  readonly message: string;
}

/** The cluster as renderers see it; maps keyed by `name` or `namespace/name`. */
export interface ClusterSnapshot {
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly pods: ReadonlyMap<string, PodInfo>;
  readonly services: ReadonlyMap<string, ServiceInfo>;
  readonly endpointSlices: ReadonlyMap<string, EndpointSliceInfo>;
  readonly networkPolicies: ReadonlyMap<string, NetworkPolicyInfo>;
  /** Keyed `namespace/name`; only the ConfigMaps the source watches (absent: none). */
  readonly configMaps?: ReadonlyMap<string, ConfigMapInfo>;
}

export function emptySnapshot(): ClusterSnapshot {
  return {
    nodes: new Map(), namespaces: new Map(), pods: new Map(), services: new Map(),
    endpointSlices: new Map(), networkPolicies: new Map(), configMaps: new Map(),
  };
}

/** Formats an input warning as one line: `file: Kind ns/name: field: message` (control characters escaped). */
export function formatWarning(w: InputWarning): string {
  const ref = w.ref ? ` ${w.ref.namespace ? `${w.ref.namespace}/` : ""}${w.ref.name}` : "";
  return oneLine(`${w.source ? `${w.source}: ` : ""}${w.kind}${ref}: ${w.field ? `${w.field}: ` : ""}${w.message}`);
}
