/**
 * The six kinds the agent watches: their API paths (cluster-wide list/watch), whether they are
 * namespaced, and the projection (project.ts) that turns an API object into a model record;
 * and `configMapSpec`: one named ConfigMap, listed and watched in its namespace with
 * `fieldSelector=metadata.name=<name>`.
 *
 * @category sources
 */
import type { SourceKind } from "../source.ts";
import { PROJECTORS, type ProjectedKind, type Projection } from "../project.ts";
import { projectConfigMap } from "../project-extender.ts";

/** A projected record: every model record has a name, namespaced ones a namespace. */
export interface NamedRecord {
  readonly name: string;
  readonly namespace?: string;
}

export interface KindSpec {
  readonly kind: SourceKind;
  /** Tells informers of one kind apart (sync is per informer): the kind, or `configMaps ns/name`. */
  readonly id: string;
  /** The API kind (`Pod`), as in warnings. */
  readonly apiKind: ProjectedKind | "ConfigMap";
  /** The collection path, e.g. `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  /** Extra query parameters of its list and watch requests (the ConfigMap's fieldSelector). */
  readonly query?: Readonly<Record<string, string>>;
  readonly namespaced: boolean;
  readonly project: (raw: unknown) => Projection<NamedRecord>;
}

const spec = (kind: SourceKind, apiKind: ProjectedKind, path: string, namespaced: boolean): KindSpec => ({
  kind, id: kind, apiKind, path, namespaced, project: PROJECTORS[apiKind] as (raw: unknown) => Projection<NamedRecord>,
});

export const KINDS: Readonly<Record<Exclude<SourceKind, "configMaps">, KindSpec>> = {
  nodes: spec("nodes", "Node", "/api/v1/nodes", false),
  namespaces: spec("namespaces", "Namespace", "/api/v1/namespaces", false),
  pods: spec("pods", "Pod", "/api/v1/pods", true),
  services: spec("services", "Service", "/api/v1/services", true),
  endpointSlices: spec("endpointSlices", "EndpointSlice", "/apis/discovery.k8s.io/v1/endpointslices", true),
  networkPolicies: spec("networkPolicies", "NetworkPolicy", "/apis/networking.k8s.io/v1/networkpolicies", true),
};

/** One named ConfigMap: list/watch `/api/v1/namespaces/<ns>/configmaps?fieldSelector=metadata.name=<name>`. */
export function configMapSpec(namespace: string, name: string): KindSpec {
  return {
    kind: "configMaps", id: `configMaps ${namespace}/${name}`, apiKind: "ConfigMap",
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
    query: { fieldSelector: `metadata.name=${name}` },
    namespaced: true,
    project: projectConfigMap,
  };
}

/** The snapshot key of an object: `name`, or `namespace/name` (namespace defaulted to `default`). */
export function keyOf(spec: KindSpec, name: string, namespace: string | undefined): string {
  return spec.namespaced ? `${namespace || "default"}/${name}` : name;
}
