/**
 * Snapshot files for the fixed topology, as kubectl would print the objects (a JSON `List`, or
 * multi-document YAML): the three Nodes (podCIDR, InternalIP), the Namespaces x, y, z
 * (labels `ns=<name>` and `kubernetes.io/metadata.name`), the nine Pods (label `pod=<name>`,
 * nodeName, hostIP, podIP, phase Running, one container with the named ports
 * serve-80-tcp, serve-81-tcp, serve-80-udp, serve-81-udp), plus a case's NetworkPolicies and
 * extra namespace/pod labels.
 */
import { stringify } from "yaml";
import { ALL_PODS, NAMESPACES, NODES, NODE_OF, nodeIp, nodeIp6, nodeName, podCidr, podCidr6, podIp, podIp6, type Ns, type PodId } from "./topology.ts";

/** A NetworkPolicy as written in a manifest (`spec` is free-form, as kubectl would accept it). */
export interface PolicyManifest {
  readonly apiVersion: "networking.k8s.io/v1";
  readonly kind: "NetworkPolicy";
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: Record<string, unknown>;
}

/** A NetworkPolicy `name` in namespace `ns` with the given spec. */
export function np(ns: Ns, name: string, spec: Record<string, unknown>): PolicyManifest {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec };
}

export interface ClusterExtras {
  readonly policies?: readonly PolicyManifest[];
  /** Labels added to (or, with value null, removed from) a namespace's base labels. */
  readonly nsLabels?: Partial<Record<Ns, Record<string, string | null>>>;
  /** Labels added to (or, with value null, removed from) a pod's base labels. */
  readonly podLabels?: Partial<Record<PodId, Record<string, string | null>>>;
  /** Pods whose container ports swap names: serve-80-tcp names port 81 and serve-81-tcp port 80 (same for UDP). */
  readonly swapPortNames?: readonly PodId[];
  /** Pods left out of the snapshot (deleted from the cluster; their netns keeps its IP). */
  readonly omitPods?: readonly PodId[];
  /** Extra Pod objects (not served by any netns), e.g. finished pods still holding an IP. */
  readonly extraPods?: readonly Record<string, unknown>[];
}

const merge = (base: Record<string, string>, extra: Record<string, string | null> | undefined) => {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
};

/** The served ports with their names; `swap` exchanges the names of 80 and 81. */
export function containerPorts(swap = false): { name: string; containerPort: number; protocol: string }[] {
  const [p80, p81] = swap ? [81, 80] : [80, 81];
  return [
    { name: "serve-80-tcp", containerPort: p80, protocol: "TCP" },
    { name: "serve-81-tcp", containerPort: p81, protocol: "TCP" },
    { name: "serve-80-udp", containerPort: p80, protocol: "UDP" },
    { name: "serve-81-udp", containerPort: p81, protocol: "UDP" },
  ];
}

/** Which topology the objects describe: IPv4 only, or dual-stack (IPv4 first). */
export interface SnapshotOptions {
  readonly ipv6?: boolean;
}

/** The Kubernetes objects of the topology plus the case's extras. */
export function clusterObjects(extras: ClusterExtras = {}, opts: SnapshotOptions = {}): unknown[] {
  const ds = opts.ipv6 ?? false;
  const nodes = NODES.map((n) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: nodeName(n), uid: `00000000-0000-4000-8000-00000000000${n}`, labels: { "kubernetes.io/hostname": nodeName(n) } },
    spec: { podCIDR: podCidr(n), podCIDRs: ds ? [podCidr(n), podCidr6(n)] : [podCidr(n)] },
    status: {
      addresses: [
        { type: "InternalIP", address: nodeIp(n) },
        ...(ds ? [{ type: "InternalIP", address: nodeIp6(n) }] : []),
        { type: "Hostname", address: nodeName(n) },
      ],
    },
  }));
  const namespaces = NAMESPACES.map((ns) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: ns, labels: merge({ ns, "kubernetes.io/metadata.name": ns }, extras.nsLabels?.[ns]) },
  }));
  const pods = ALL_PODS.filter((id) => !extras.omitPods?.includes(id)).map((id) => {
    const i = ALL_PODS.indexOf(id);
    const [ns, name] = id.split("/") as [Ns, string];
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, uid: `00000000-0000-4000-9000-0000000000${10 + i}`, labels: merge({ pod: name }, extras.podLabels?.[id]) },
      spec: {
        nodeName: nodeName(NODE_OF[id]),
        containers: [{
          name: "cont",
          image: "registry.k8s.io/e2e-test-images/agnhost:2.47",
          ports: containerPorts(extras.swapPortNames?.includes(id) ?? false),
        }],
      },
      status: {
        phase: "Running", hostIP: nodeIp(NODE_OF[id]), podIP: podIp(id),
        podIPs: ds ? [{ ip: podIp(id) }, { ip: podIp6(id) }] : [{ ip: podIp(id) }],
      },
    };
  });
  return [...nodes, ...namespaces, ...pods, ...(extras.extraPods ?? []), ...(extras.policies ?? [])];
}

/** The objects as multi-document YAML (one document per object). */
export function snapshotYaml(extras: ClusterExtras = {}, opts: SnapshotOptions = {}): string {
  return clusterObjects(extras, opts).map((o) => stringify(o)).join("---\n");
}

/**
 * The snapshot file text the suite writes: a `kind: List` in JSON, as `kubectl get -o json`
 * prints it. Same objects as `snapshotYaml`; JSON because each of the suite's ~250 CLI runs
 * would otherwise spend tens of milliseconds parsing YAML.
 */
export function snapshotJson(extras: ClusterExtras = {}, opts: SnapshotOptions = {}): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: clusterObjects(extras, opts) });
}

/** The case's policies as YAML, for failure messages. */
export function policiesYaml(policies: readonly PolicyManifest[]): string {
  return policies.length === 0 ? "(no policies)" : policies.map((p) => stringify(p)).join("---\n");
}
