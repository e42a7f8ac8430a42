/**
 * The real ServiceStatusApi over the Kubernetes API (`KubeHttp`, model/kube-http.ts): list every
 * Service, GET one, and PUT its `/status` (the object as read, with its resourceVersion: the
 * API server answers 409 when it changed since). Other answers reject with one line naming the
 * Service (or the list) and the HTTP status.
 *
 * @category apply
 */
import type { KubeHttp } from "../../model/kube-http.ts";
import { kubeCall } from "../kube-call.ts";
import { type IngressEntry, type ServiceObject, type ServiceStatusApi, type WriteResult, serviceObject } from "./api.ts";

type Raw = { status?: { loadBalancer?: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

export function kubeServiceStatusApi(http: KubeHttp): ServiceStatusApi {
  const path = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;
  return {
    async list() {
      const a = await kubeCall(http, "list Services", { method: "GET", path: "/api/v1/services" }, [200]);
      const items = (a.body as { items?: unknown } | undefined)?.items;
      return (Array.isArray(items) ? items : []).flatMap((s) => {
        const o = serviceObject(s);
        return o ? [o] : [];
      });
    },
    async get(namespace, name) {
      const a = await kubeCall(http, `get Service ${namespace}/${name}`, { method: "GET", path: path(namespace, name) }, [200, 404]);
      return a.status === 404 ? undefined : serviceObject(a.body);
    },
    async writeStatus(svc: ServiceObject, ingress: readonly IngressEntry[]): Promise<WriteResult> {
      const raw = svc.raw as Raw;
      const body = { ...raw, apiVersion: "v1", kind: "Service", status: { ...raw.status, loadBalancer: { ...raw.status?.loadBalancer, ingress: ingress.map((i) => ({ ...i })) } } };
      const a = await kubeCall(http, `update status of Service ${svc.namespace}/${svc.name}`, { method: "PUT", path: `${path(svc.namespace, svc.name)}/status`, body }, [200, 201, 404, 409]);
      return a.status === 409 ? "conflict" : a.status === 404 ? "gone" : "ok";
    },
  };
}
