/**
 * Writing the six kinds to the real API server as an admin, with the double's object builders
 * (test/support/kube-api-double/objects.ts) turned into what a real server accepts: apiVersion
 * and kind added, client-set managedFields dropped, and a pod's status written through the
 * pods/status subresource (a create resets it to Pending, as for kubelet-less pods).
 */
import type { KubeObject } from "../kube-api-double/index.ts";
import type { RealApiServer } from "./index.ts";

export type Resource = "nodes" | "namespaces" | "pods" | "services" | "endpointslices" | "networkpolicies" | "serviceaccounts" | "configmaps";

const TYPES: Record<Resource, { prefix: string; apiVersion: string; kind: string; namespaced: boolean }> = {
  nodes: { prefix: "/api/v1", apiVersion: "v1", kind: "Node", namespaced: false },
  namespaces: { prefix: "/api/v1", apiVersion: "v1", kind: "Namespace", namespaced: false },
  pods: { prefix: "/api/v1", apiVersion: "v1", kind: "Pod", namespaced: true },
  services: { prefix: "/api/v1", apiVersion: "v1", kind: "Service", namespaced: true },
  serviceaccounts: { prefix: "/api/v1", apiVersion: "v1", kind: "ServiceAccount", namespaced: true },
  configmaps: { prefix: "/api/v1", apiVersion: "v1", kind: "ConfigMap", namespaced: true },
  endpointslices: { prefix: "/apis/discovery.k8s.io/v1", apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", namespaced: true },
  networkpolicies: { prefix: "/apis/networking.k8s.io/v1", apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespaced: true },
};

type Meta = { name: string; namespace?: string; managedFields?: unknown };

export function pathOf(resource: Resource, namespace: string | undefined, name?: string): string {
  const t = TYPES[resource];
  const ns = t.namespaced ? `/namespaces/${namespace ?? "default"}` : "";
  return `${t.prefix}${ns}/${resource}${name ? `/${name}` : ""}`;
}

/** Admin writes to a real API server; every call throws on an unexpected HTTP status. */
export class RealCluster {
  constructor(private readonly api: RealApiServer) {}

  private async call(method: string, path: string, body: unknown, ok: readonly number[]): Promise<Record<string, unknown>> {
    const r = await this.api.request(method, path, body);
    if (!ok.includes(r.status)) throw new Error(`${method} ${path}: HTTP ${r.status} ${String(r.body["message"] ?? JSON.stringify(r.body)).slice(0, 300)}`);
    return r.body;
  }

  /** Creates the object; a pod's status (IPs, phase) is then written through pods/status. */
  async create(resource: Resource, obj: KubeObject): Promise<Record<string, unknown>> {
    const t = TYPES[resource];
    const { managedFields: _drop, ...metadata } = obj["metadata"] as Meta;
    const body = { ...obj, apiVersion: t.apiVersion, kind: t.kind, metadata };
    const created = await this.call("POST", pathOf(resource, metadata.namespace), body, [201]);
    if (resource === "pods" && obj["status"]) return await this.setPodStatus(metadata.namespace ?? "default", metadata.name, obj["status"]);
    return created;
  }

  /** A JSON merge patch. */
  async patch(resource: Resource, namespace: string | undefined, name: string, patch: unknown): Promise<Record<string, unknown>> {
    return await this.call("PATCH", pathOf(resource, namespace, name), patch, [200]);
  }

  async setPodStatus(namespace: string, name: string, status: unknown): Promise<Record<string, unknown>> {
    return await this.call("PATCH", `${pathOf("pods", namespace, name)}/status`, { status }, [200]);
  }

  /** Deletes at once (grace period 0: no kubelet will confirm a pod's graceful deletion). */
  async delete(resource: Resource, namespace: string | undefined, name: string): Promise<void> {
    await this.call("DELETE", pathOf(resource, namespace, name), { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 }, [200, 202]);
  }

  /** A namespace with its `default` ServiceAccount (no controller-manager runs to create it,
   * and the ServiceAccount admission plugin refuses pods without it). */
  async namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.create("namespaces", { metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } });
    await this.create("serviceaccounts", { metadata: { namespace: name, name: "default" } });
  }
}
