/**
 * The real ServiceStatusApi over the Kubernetes API (`KubeHttp`, model/kube-http.ts): list every
 * Service, GET one, and PUT its `/status` (the object as read, with its resourceVersion: the
 * API server answers 409 when it changed since). Other answers reject with one line naming the
 * Service (or the list) and the HTTP status.
 *
 * @category apply
 */
import { type KubeAnswer, type KubeCall, type KubeHttp, answerText, errorLine } from "../../model/kube-http.ts";
import { type IngressEntry, type ServiceObject, type ServiceStatusApi, type WriteResult, serviceObject } from "./api.ts";

type Raw = { status?: { loadBalancer?: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

export function kubeServiceStatusApi(http: KubeHttp): ServiceStatusApi {
  const path = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;
  const send = async (what: string, call: KubeCall): Promise<KubeAnswer> => {
    try {
      return await http(call);
    } catch (e) {
      throw new Error(`${what}: ${errorLine(e)}`);
    }
  };
  return {
    async list() {
      const a = await send("list Services", { method: "GET", path: "/api/v1/services" });
      if (a.status !== 200) throw new Error(`list Services: ${answerText(a)}`);
      const items = (a.body as { items?: unknown } | undefined)?.items;
      return (Array.isArray(items) ? items : []).flatMap((s) => {
        const o = serviceObject(s);
        return o ? [o] : [];
      });
    },
    async get(namespace, name) {
      const what = `get Service ${namespace}/${name}`;
      const a = await send(what, { method: "GET", path: path(namespace, name) });
      if (a.status === 404) return undefined;
      if (a.status !== 200) throw new Error(`${what}: ${answerText(a)}`);
      return serviceObject(a.body);
    },
    async writeStatus(svc: ServiceObject, ingress: readonly IngressEntry[]): Promise<WriteResult> {
      const raw = svc.raw as Raw;
      const body = { ...raw, apiVersion: "v1", kind: "Service", status: { ...raw.status, loadBalancer: { ...raw.status?.loadBalancer, ingress: ingress.map((i) => ({ ...i })) } } };
      const what = `update status of Service ${svc.namespace}/${svc.name}`;
      const a = await send(what, { method: "PUT", path: `${path(svc.namespace, svc.name)}/status`, body });
      if (a.status === 409) return "conflict";
      if (a.status === 404) return "gone";
      if (a.status !== 200 && a.status !== 201) throw new Error(`${what}: ${answerText(a)}`);
      return "ok";
    },
  };
}
