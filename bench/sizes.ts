/**
 * The benchmark sizes of perf-anchors.md §3 (XS, S, M, L) and XL (2× L, issue 15's scaling
 * curve): how many nodes, namespaces, pods, Services × endpoints and NetworkPolicies each
 * synthetic cluster has. Namespace counts are not in the table except for M (60); XS, S, L
 * and XL use a plausible number.
 */

export type SizeName = "XS" | "S" | "M" | "L" | "XL";

export interface SizeSpec {
  readonly name: SizeName;
  /** Nodes; each gets one pod CIDR, so the router renders nodes − 1 routes. */
  readonly nodes: number;
  readonly namespaces: number;
  /** Pods in the whole cluster, local pods included. */
  readonly clusterPods: number;
  /** Pods on the benchmarked node (node 0). */
  readonly localPods: number;
  readonly services: number;
  /** Endpoints (ready pods) per Service; one EndpointSlice per Service. */
  readonly endpointsPerService: number;
  readonly policies: number;
}

/** perf-anchors.md §3, rows XS to L; XL is L doubled (issue 15). */
export const SIZES: Readonly<Record<SizeName, SizeSpec>> = Object.freeze({
  XS: { name: "XS", nodes: 3, namespaces: 10, clusterPods: 300, localPods: 30, services: 100, endpointsPerService: 3, policies: 20 },
  S: { name: "S", nodes: 100, namespaces: 50, clusterPods: 3_000, localPods: 30, services: 160, endpointsPerService: 9, policies: 100 },
  M: { name: "M", nodes: 150, namespaces: 60, clusterPods: 4_000, localPods: 60, services: 2_700, endpointsPerService: 1, policies: 60 },
  L: { name: "L", nodes: 5_000, namespaces: 500, clusterPods: 150_000, localPods: 110, services: 10_000, endpointsPerService: 10, policies: 1_000 },
  XL: { name: "XL", nodes: 10_000, namespaces: 1_000, clusterPods: 300_000, localPods: 110, services: 20_000, endpointsPerService: 10, policies: 2_000 },
});

export const SIZE_NAMES: readonly SizeName[] = ["XS", "S", "M", "L", "XL"];

/** The sizes a plain `npm run bench` runs (XL is opt-in: minutes and ~1.5 GiB). */
export const DEFAULT_SIZES: readonly SizeName[] = ["XS", "S", "M", "L"];

/** The size named `s` (case-insensitive), or undefined. */
export function sizeByName(s: string): SizeSpec | undefined {
  const up = s.toUpperCase();
  return (SIZE_NAMES as readonly string[]).includes(up) ? SIZES[up as SizeName] : undefined;
}
