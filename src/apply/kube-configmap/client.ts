/**
 * The real ConfigMapApi over the Kubernetes API (`KubeHttp`, model/kube-http.ts): GET, POST
 * (create) and PUT (replace, with `metadata.resourceVersion`: the API server answers 409 when
 * the object changed since) of `/api/v1/namespaces/<ns>/configmaps`. Answers other than the
 * expected 404/409 reject with `<verb> ConfigMap <ns>/<name>: HTTP <code> <reason>: <message>`,
 * one line; so does a request that got no answer.
 *
 * @category apply
 */
import { type KubeAnswer, type KubeCall, type KubeHttp, answerText, errorLine } from "../../model/kube-http.ts";
import type { ConfigMapApi } from "./api.ts";

const body = (ns: string, name: string, data: Record<string, string>, resourceVersion?: string) => ({
  apiVersion: "v1", kind: "ConfigMap",
  metadata: { name, namespace: ns, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
  data: { ...data },
});

type Obj = { data?: unknown; metadata?: { resourceVersion?: unknown } };

export function kubeConfigMapApi(http: KubeHttp): ConfigMapApi {
  const base = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
  /** The answer to `call`; a request without answer rejects as `<verb> ConfigMap ns/name: <reason>`. */
  const send = async (verb: string, ns: string, name: string, call: KubeCall): Promise<KubeAnswer> => {
    try {
      return await http(call);
    } catch (e) {
      throw new Error(`${verb} ConfigMap ${ns}/${name}: ${errorLine(e)}`);
    }
  };
  const fail = (verb: string, ns: string, name: string, a: KubeAnswer) => new Error(`${verb} ConfigMap ${ns}/${name}: ${answerText(a)}`);
  return {
    async get(ns, name) {
      const a = await send("get", ns, name, { method: "GET", path: `${base(ns)}/${encodeURIComponent(name)}` });
      if (a.status === 404) return undefined;
      if (a.status !== 200) throw fail("get", ns, name, a);
      const cm = (a.body ?? {}) as Obj;
      const data = typeof cm.data === "object" && cm.data !== null ? (cm.data as Record<string, string>) : {};
      const rv = cm.metadata?.resourceVersion;
      return { data: { ...data }, resourceVersion: typeof rv === "string" ? rv : "" };
    },
    async create(ns, name, data) {
      const a = await send("create", ns, name, { method: "POST", path: base(ns), body: body(ns, name, data) });
      if (a.status === 409) return "conflict";
      if (a.status !== 201 && a.status !== 200) throw fail("create", ns, name, a);
      return "ok";
    },
    async update(ns, name, data, resourceVersion) {
      const a = await send("update", ns, name, { method: "PUT", path: `${base(ns)}/${encodeURIComponent(name)}`, body: body(ns, name, data, resourceVersion) });
      if (a.status === 409) return "conflict";
      if (a.status === 404) return "gone";
      if (a.status !== 200 && a.status !== 201) throw fail("update", ns, name, a);
      return "ok";
    },
  };
}
