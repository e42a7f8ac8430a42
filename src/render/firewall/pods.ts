/**
 * Which pods the firewall sees (kube-router-features.md §4.2), indexed for the renderer. Pure.
 *
 * Guarantees:
 * - a pod is actionable when it is not hostNetwork, has at least one IP, and its phase is not
 *   Succeeded, Failed or Completed; nothing else ever enters a set or gets a chain;
 * - a pod is local when actionable and its `status.hostIP` is an address of this node or its
 *   `spec.nodeName` is this node (DESIGN.md §10);
 * - IPs are split by family and kept in the canonical text ipset prints (model/ipset-members.ts);
 * - deterministic: same snapshot ⇒ same lists (local pods sorted by namespace/name).
 *
 * @category render
 */
import type { ClusterSnapshot, ContainerPort, NodeInfo, PodInfo } from "../../model/cluster.ts";
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import { canonicalMember } from "../../model/ipset-members.ts";
import type { Family } from "../../model/state.ts";
import { nodeIps } from "../node-facts.ts";
import type { Labels } from "./selectors.ts";

/** An actionable pod as the firewall sees it. */
export interface FwPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly local: boolean;
  /** ipset-canonical IPs per family (at most one per family is used, as upstream). */
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  readonly ports: readonly ContainerPort[];
}

/** The pods of the cluster, indexed. */
export interface PodIndex {
  /** Actionable pods by namespace (snapshot order). */
  readonly byNamespace: ReadonlyMap<string, readonly FwPod[]>;
  /** Local actionable pods, sorted by namespace/name. */
  readonly local: readonly FwPod[];
  /** Every actionable pod (snapshot order). */
  readonly all: readonly FwPod[];
}

const FINISHED: ReadonlySet<string> = new Set(["Succeeded", "Failed", "Completed"]);

/** True for a pod the firewall acts on (upstream's `isNetPolActionable`). */
export function isActionable(p: PodInfo): boolean {
  return !p.hostNetwork && p.podIPs.length > 0 && !FINISHED.has(p.phase ?? "");
}

/** The pod's IP of `family` in ipset's canonical text, or undefined. */
export function podIp(pod: Pick<FwPod, "ipv4" | "ipv6">, family: Family): string | undefined {
  return family === "ipv4" ? pod.ipv4 : pod.ipv6;
}

/**
 * The firewall's view of a pod. Snapshot IPs are canonical (model/ip.ts), which for IPv4 is
 * ipset's text already; IPv6 goes through canonicalMember too, which refuses the null address.
 * Memoised per pod object (immutable input) and node identity, so a resync re-indexes 150k
 * pods with lookups only; the memo never changes a result.
 */
let memo: { readonly node: string; readonly pods: WeakMap<PodInfo, FwPod> } = { node: "", pods: new WeakMap() };
function fwPod(p: PodInfo, node: string, nodeName: string, hostIps: ReadonlySet<string>): FwPod {
  // one memo per node identity (a change of this node's name or IPs starts a new one)
  if (memo.node !== node) memo = { node, pods: new WeakMap() };
  const hit = memo.pods.get(p);
  if (hit !== undefined) return hit;
  let ipv4: string | undefined;
  let ipv6: string | undefined;
  for (const ip of p.podIPs) {
    if (!ip.includes(":")) {
      if (ipv4 === undefined && ipFamily(ip) === "ipv4") ipv4 = canonicalIp(ip);
    } else if (ipv6 === undefined && ipFamily(ip) === "ipv6") {
      try { ipv6 = canonicalMember("hash:ip", "inet6", ip); } catch { /* the null address: no member */ }
    }
  }
  const local = p.nodeName === nodeName || (p.hostIP !== undefined && hostIps.has(canonicalIp(p.hostIP) ?? p.hostIP));
  const pod: FwPod = { namespace: p.namespace, name: p.name, labels: p.labels, local, ports: p.ports, ipv4, ipv6 };
  memo.pods.set(p, pod);
  return pod;
}

const byKey = (a: FwPod, b: FwPod): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Builds the index; `self` is this node (undefined when the snapshot lacks it). `local` is
 * sorted by namespace/name; the other lists keep the snapshot's order (they only fill sets,
 * whose members are unordered).
 */
export function indexPods(snapshot: ClusterSnapshot, nodeName: string, self: NodeInfo | undefined): PodIndex {
  const hostIps = new Set((self ? nodeIps(self) : []).map((a) => canonicalIp(a) ?? a));
  const node = `${nodeName}\u0000${[...hostIps].join(",")}`;
  // an unchanged pod map (structural sharing) gives the same index: no 150k-pod walk per resync
  const cached = indexMemo.get(snapshot.pods);
  if (cached !== undefined && cached.node === node) return cached.index;
  const index = buildIndex(snapshot, node, nodeName, hostIps);
  indexMemo.set(snapshot.pods, { node, index });
  return index;
}

const indexMemo = new WeakMap<ClusterSnapshot["pods"], { readonly node: string; readonly index: PodIndex }>();

function buildIndex(snapshot: ClusterSnapshot, node: string, nodeName: string, hostIps: ReadonlySet<string>): PodIndex {
  const byNamespace = new Map<string, FwPod[]>();
  const all: FwPod[] = [];
  const local: FwPod[] = [];
  for (const p of snapshot.pods.values()) {
    if (!isActionable(p)) continue;
    const pod = fwPod(p, node, nodeName, hostIps);
    if (pod.ipv4 === undefined && pod.ipv6 === undefined) continue;
    all.push(pod);
    if (pod.local) local.push(pod);
    let list = byNamespace.get(p.namespace);
    if (list === undefined) byNamespace.set(p.namespace, (list = []));
    list.push(pod);
  }
  return { byNamespace, local: local.sort(byKey), all };
}
