/**
 * Endpoints of a Service from its EndpointSlices (kube-router-features.md §3.1):
 * - a slice belongs to the Service named by its `kubernetes.io/service-name` label (the
 *   projection rejects slices without it) in the same namespace; FQDN slices are ignored;
 * - an endpoint is used when it is `ready` or `serving` (so serving-but-terminating
 *   endpoints remain real servers, as upstream does); its first address is the one used;
 * - the port is the slice port with the Service port's name;
 * - local = `nodeName` is this node, else the endpoint's target pod runs here;
 * - the result is deduplicated by address:port and sorted (no shuffling: deterministic).
 * Pure.
 *
 * @category render
 */
import type { ClusterSnapshot, EndpointSliceInfo, PodInfo } from "../../model/cluster.ts";
import type { Family } from "../../model/state.ts";

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: Family;
  readonly local: boolean;
  readonly ready: boolean;
  readonly terminating: boolean;
  /** `namespace/name` of the target pod, when the slice names it. */
  readonly pod?: string;
  /** The target pod's `spec.terminationGracePeriodSeconds` (looked up only when `Locality.grace`). */
  readonly graceSeconds?: number;
}

let indexMemo: { slices: ClusterSnapshot["endpointSlices"]; index: ReadonlyMap<string, readonly EndpointSliceInfo[]> } | undefined;

const serviceOf = (s: EndpointSliceInfo): string | undefined => (s.addressType === "FQDN" ? undefined : `${s.namespace}/${s.serviceName}`);
const byName = (a: EndpointSliceInfo, b: EndpointSliceInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Slices per `namespace/service`, each list sorted by slice name; FQDN slices left out. Memoised
 * on the map's identity; a map that differs from the previous one in a few entries is indexed
 * by updating the previous index for the Services those entries belong to (same result).
 */
export function slicesByService(slices: ClusterSnapshot["endpointSlices"]): ReadonlyMap<string, readonly EndpointSliceInfo[]> {
  if (indexMemo?.slices === slices) return indexMemo.index;
  const index = (indexMemo && updatedIndex(indexMemo.slices, indexMemo.index, slices)) ?? fullIndex(slices);
  indexMemo = { slices, index };
  return index;
}

function fullIndex(slices: ClusterSnapshot["endpointSlices"]): ReadonlyMap<string, readonly EndpointSliceInfo[]> {
  const index = new Map<string, EndpointSliceInfo[]>();
  for (const s of slices.values()) {
    const k = serviceOf(s);
    if (k === undefined) continue;
    const list = index.get(k);
    if (list) list.push(s);
    else index.set(k, [s]);
  }
  for (const l of index.values()) if (l.length > 1) l.sort(byName);
  return index;
}

/** The index of `next` from the previous map's, or undefined when too much changed (or names tie). */
function updatedIndex(
  prev: ClusterSnapshot["endpointSlices"], prevIndex: ReadonlyMap<string, readonly EndpointSliceInfo[]>, next: ClusterSnapshot["endpointSlices"],
): ReadonlyMap<string, readonly EndpointSliceInfo[]> | undefined {
  const LIMIT = 64;
  const gone: EndpointSliceInfo[] = [];
  const added: EndpointSliceInfo[] = [];
  let kept = 0;
  for (const [k, s] of next) {
    const p = prev.get(k);
    if (p === s) { kept++; continue; }
    if (p !== undefined) { kept++; gone.push(p); }
    added.push(s);
    if (added.length > LIMIT) return undefined;
  }
  if (kept !== prev.size) {
    for (const [k, p] of prev) if (!next.has(k)) gone.push(p);
    if (gone.length > LIMIT) return undefined;
  }
  // per Service: the previous list minus one occurrence of each replaced/removed slice, plus the new ones
  const touched = new Map<string, EndpointSliceInfo[]>();
  const listOf = (k: string) => touched.get(k) ?? touched.set(k, [...(prevIndex.get(k) ?? [])]).get(k)!;
  for (const p of gone) {
    const k = serviceOf(p);
    if (k === undefined) continue;
    const list = listOf(k);
    const i = list.indexOf(p);
    if (i < 0) return undefined; // cannot happen for an index of `prev`; rebuild rather than guess
    list.splice(i, 1);
  }
  for (const s of added) { const k = serviceOf(s); if (k !== undefined) listOf(k).push(s); }
  const index = new Map(prevIndex);
  for (const [k, list] of touched) {
    list.sort(byName);
    for (let i = 1; i < list.length; i++) if (list[i - 1]!.name === list[i]!.name) return undefined; // order would depend on history
    if (list.length === 0) index.delete(k);
    else index.set(k, list);
  }
  return index;
}

/** Who is local: this node's name and addresses, and pod lookups by `namespace/name`. */
export interface Locality {
  readonly nodeName: string;
  readonly nodeAddrs: ReadonlySet<string>;
  readonly pod: (ref: string) => PodInfo | undefined;
  /** Look up each target pod's termination grace period (`--ipvs-graceful-termination`). */
  readonly grace?: boolean;
}

/**
 * The usable endpoints of one Service port (by port name), both families, sorted by family,
 * address, port. `pods` collects every pod looked up (memo dependencies).
 */
export function portEndpoints(slices: readonly EndpointSliceInfo[], portName: string | undefined, loc: Locality, pods: PodInfo[]): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const s of slices) {
    const port = s.ports.find((p) => (p.name ?? "") === (portName ?? ""));
    if (port === undefined) continue;
    const family: Family = s.addressType === "IPv6" ? "ipv6" : "ipv4";
    for (const e of s.endpoints) {
      const address = e.addresses[0];
      if (address === undefined || !(e.ready || e.serving)) continue;
      const podRef = e.targetRef && e.targetRef.namespace !== undefined ? `${e.targetRef.namespace}/${e.targetRef.name}` : e.targetRef ? `${s.namespace}/${e.targetRef.name}` : undefined;
      let local = e.nodeName === loc.nodeName;
      if (e.nodeName === undefined && podRef !== undefined) {
        const pod = loc.pod(podRef);
        if (pod) {
          pods.push(pod);
          local = pod.nodeName === loc.nodeName || (pod.hostIP !== undefined && loc.nodeAddrs.has(pod.hostIP));
        }
      }
      const key = `${address}|${port.port}`;
      const prev = seen.get(key);
      // The same endpoint in two slices (during a slice handover): ready wins, then local.
      if (prev && (prev.ready || !e.ready)) continue;
      const grace = loc.grace && podRef !== undefined ? loc.pod(podRef)?.terminationGracePeriodSeconds : undefined;
      seen.set(key, {
        address, port: port.port, family, local, ready: e.ready, terminating: e.terminating,
        ...(podRef !== undefined ? { pod: podRef } : {}), ...(grace !== undefined ? { graceSeconds: grace } : {}),
      });
    }
  }
  return [...seen.values()].sort((a, b) =>
    a.family !== b.family ? (a.family < b.family ? -1 : 1) : a.address !== b.address ? (a.address < b.address ? -1 : 1) : a.port - b.port);
}
