/**
 * The real ConfigMapApi over the Kubernetes API (`KubeHttp`, model/kube-http.ts): GET, POST
 * (create) and PUT (replace, with `metadata.resourceVersion`: the API server answers 409 when
 * the object changed since) of `/api/v1/namespaces/<ns>/configmaps`. Answers other than the
 * expected 404/409 reject with `<verb> ConfigMap <ns>/<name>: HTTP <code> <reason>: <message>`,
 * one line; so does a request that got no answer.
 *
 * @category apply
 */
import type { KubeHttp } from "../../model/kube-http.ts";
import { kubeCall } from "../kube-call.ts";
import type { ConfigMapApi } from "./api.ts";

const body = (ns: string, name: string, data: Record<string, string>, resourceVersion?: string) => ({
  apiVersion: "v1", kind: "ConfigMap",
  metadata: { name, namespace: ns, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
  data: { ...data },
});

type Obj = { data?: unknown; metadata?: { resourceVersion?: unknown } };

export function kubeConfigMapApi(http: KubeHttp): ConfigMapApi {
  const base = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
  return {
    async get(ns, name) {
      const a = await kubeCall(http, `get ConfigMap ${ns}/${name}`, { method: "GET", path: `${base(ns)}/${encodeURIComponent(name)}` }, [200, 404]);
      if (a.status === 404) return undefined;
      const cm = (a.body ?? {}) as Obj;
      const data = typeof cm.data === "object" && cm.data !== null ? (cm.data as Record<string, string>) : {};
      const rv = cm.metadata?.resourceVersion;
      return { data: { ...data }, resourceVersion: typeof rv === "string" ? rv : "" };
    },
    async create(ns, name, data) {
      const a = await kubeCall(http, `create ConfigMap ${ns}/${name}`, { method: "POST", path: base(ns), body: body(ns, name, data) }, [200, 201, 409]);
      return a.status === 409 ? "conflict" : "ok";
    },
    async update(ns, name, data, resourceVersion) {
      const a = await kubeCall(http, `update ConfigMap ${ns}/${name}`, { method: "PUT", path: `${base(ns)}/${encodeURIComponent(name)}`, body: body(ns, name, data, resourceVersion) }, [200, 201, 404, 409]);
      return a.status === 409 ? "conflict" : a.status === 404 ? "gone" : "ok";
    },
  };
}
