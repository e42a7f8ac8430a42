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
}

let indexMemo: { slices: ClusterSnapshot["endpointSlices"]; index: ReadonlyMap<string, readonly EndpointSliceInfo[]> } | undefined;

/** Slices per `namespace/service`, each list sorted by slice name; FQDN slices left out. Memoised on the map's identity. */
export function slicesByService(slices: ClusterSnapshot["endpointSlices"]): ReadonlyMap<string, readonly EndpointSliceInfo[]> {
  if (indexMemo?.slices === slices) return indexMemo.index;
  const index = new Map<string, EndpointSliceInfo[]>();
  for (const s of slices.values()) {
    if (s.addressType === "FQDN") continue;
    const k = `${s.namespace}/${s.serviceName}`;
    const list = index.get(k);
    if (list) list.push(s);
    else index.set(k, [s]);
  }
  for (const l of index.values()) if (l.length > 1) l.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  indexMemo = { slices, index };
  return index;
}

/** Who is local: this node's name and addresses, and pod lookups by `namespace/name`. */
export interface Locality {
  readonly nodeName: string;
  readonly nodeAddrs: ReadonlySet<string>;
  readonly pod: (ref: string) => PodInfo | undefined;
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
      seen.set(key, { address, port: port.port, family, local, ready: e.ready, terminating: e.terminating, ...(podRef !== undefined ? { pod: podRef } : {}) });
    }
  }
  return [...seen.values()].sort((a, b) =>
    a.family !== b.family ? (a.family < b.family ? -1 : 1) : a.address !== b.address ? (a.address < b.address ? -1 : 1) : a.port - b.port);
}
