/**
 * The API resources the double serves, and how their URLs look.
 *
 * Core kinds live under `/api/v1`, grouped ones under `/apis/<group>/<version>`; namespaced
 * kinds are also served per namespace (`…/namespaces/<ns>/<plural>`). Every resource is read
 * (list, get, watch); `writable` ones (the objects the agent itself writes) also take POST, PUT,
 * PATCH and DELETE (write.ts); those with a `status` subresource take GET, PUT and PATCH on
 * `…/namespaces/<ns>/<plural>/<name>/status` (the allocator's Service status writes).
 */

export type ResourceName =
  | "nodes" | "namespaces" | "pods" | "services" | "endpointslices" | "networkpolicies" | "configmaps" | "leases" | "events";

export interface ResourceSpec {
  readonly name: ResourceName;
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Served for POST/PUT/PATCH/DELETE too. */
  readonly writable?: boolean;
  /** Served at `…/<name>/status` for GET, PUT and PATCH (only `status` is written). */
  readonly statusSubresource?: boolean;
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceSpec>> = {
  nodes: { name: "nodes", group: "", version: "v1", kind: "Node", namespaced: false },
  namespaces: { name: "namespaces", group: "", version: "v1", kind: "Namespace", namespaced: false },
  pods: { name: "pods", group: "", version: "v1", kind: "Pod", namespaced: true },
  services: { name: "services", group: "", version: "v1", kind: "Service", namespaced: true, statusSubresource: true },
  endpointslices: { name: "endpointslices", group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", namespaced: true },
  networkpolicies: { name: "networkpolicies", group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", namespaced: true },
  configmaps: { name: "configmaps", group: "", version: "v1", kind: "ConfigMap", namespaced: true, writable: true },
  leases: { name: "leases", group: "coordination.k8s.io", version: "v1", kind: "Lease", namespaced: true, writable: true },
  events: { name: "events", group: "", version: "v1", kind: "Event", namespaced: true, writable: true },
};

export const apiVersionOf = (r: ResourceSpec): string => (r.group === "" ? r.version : `${r.group}/${r.version}`);

/** A routed request: which resource, optionally one namespace and one object name. */
export interface Route {
  readonly resource: ResourceSpec;
  readonly namespace?: string;
  readonly name?: string;
  /** `status` for `…/<name>/status` (resources with a status subresource only). */
  readonly subresource?: "status";
}

const isResourceName = (s: string | undefined): s is ResourceName => s !== undefined && Object.hasOwn(RESOURCES, s);

/**
 * Parses a request path: `/api/v1/pods`, `/api/v1/namespaces/ns1/pods`, `/api/v1/nodes/n1`,
 * `/apis/discovery.k8s.io/v1/endpointslices`, `/api/v1/namespaces/ns1/services/s1/status`, …
 * Returns undefined for anything else.
 */
export function routeOf(pathname: string): Route | undefined {
  const parts = pathname.split("/").filter((p) => p !== "");
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const matches = (r: ResourceSpec) => r.group === group && (group === "" || parts[2] === r.version);
  // …/namespaces/<ns>/<plural>[/<name>[/status]]
  if (rest[0] === "namespaces" && rest.length >= 3 && isResourceName(rest[2])) {
    const r = RESOURCES[rest[2]];
    if (!r.namespaced || !matches(r) || rest.length > 5) return undefined;
    if (rest.length === 5 && !(rest[4] === "status" && r.statusSubresource)) return undefined;
    return { resource: r, namespace: rest[1]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest.length === 5 ? { subresource: "status" as const } : {}) };
  }
  // …/<plural>[/<name>]
  if (isResourceName(rest[0]) && rest.length <= 2) {
    const r = RESOURCES[rest[0]];
    if (!matches(r)) return undefined;
    return { resource: r, ...(rest[1] ? { name: rest[1] } : {}) };
  }
  return undefined;
}
