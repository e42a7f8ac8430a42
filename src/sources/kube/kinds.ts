/**
 * The six kinds the agent watches: their API paths (cluster-wide list/watch), whether they are
 * namespaced, and the projection (project.ts) that turns an API object into a model record.
 *
 * @category sources
 */
import type { SourceKind } from "../source.ts";
import { PROJECTORS, type ProjectedKind, type Projection } from "../project.ts";

/** A projected record: every model record has a name, namespaced ones a namespace. */
export interface NamedRecord {
  readonly name: string;
  readonly namespace?: string;
}

export interface KindSpec {
  readonly kind: SourceKind;
  /** The API kind (`Pod`), as in warnings. */
  readonly apiKind: ProjectedKind;
  /** The cluster-wide collection path, e.g. `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  readonly namespaced: boolean;
  readonly project: (raw: unknown) => Projection<NamedRecord>;
}

const spec = (kind: SourceKind, apiKind: ProjectedKind, path: string, namespaced: boolean): KindSpec => ({
  kind, apiKind, path, namespaced, project: PROJECTORS[apiKind] as (raw: unknown) => Projection<NamedRecord>,
});

export const KINDS: Readonly<Record<SourceKind, KindSpec>> = {
  nodes: spec("nodes", "Node", "/api/v1/nodes", false),
  namespaces: spec("namespaces", "Namespace", "/api/v1/namespaces", false),
  pods: spec("pods", "Pod", "/api/v1/pods", true),
  services: spec("services", "Service", "/api/v1/services", true),
  endpointSlices: spec("endpointSlices", "EndpointSlice", "/apis/discovery.k8s.io/v1/endpointslices", true),
  networkPolicies: spec("networkPolicies", "NetworkPolicy", "/apis/networking.k8s.io/v1/networkpolicies", true),
};

/** The snapshot key of an object: `name`, or `namespace/name` (namespace defaulted to `default`). */
export function keyOf(spec: KindSpec, name: string, namespace: string | undefined): string {
  return spec.namespaced ? `${namespace || "default"}/${name}` : name;
}
