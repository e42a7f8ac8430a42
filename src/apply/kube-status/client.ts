/**
 * The real ServiceStatusApi over client-node's CoreV1Api: `listServiceForAllNamespaces`,
 * `readNamespacedService`, `replaceNamespacedServiceStatus` (the object as read, with its
 * resourceVersion: the API server answers 409 when it changed since).
 *
 * @category apply
 */
import { type CoreV1Api, type V1Service } from "@kubernetes/client-node";
import { type IngressEntry, type ServiceObject, type ServiceStatusApi, type WriteResult, serviceObject } from "./api.ts";

const codeOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : undefined;
};
const line = (e: unknown): string => String((e as Error).message ?? e).split("\n")[0]!.slice(0, 300);

export function kubeServiceStatusApi(core: CoreV1Api): ServiceStatusApi {
  return {
    async list() {
      const l = await core.listServiceForAllNamespaces({});
      return l.items.flatMap((s) => {
        const o = serviceObject(s);
        return o ? [o] : [];
      });
    },
    async get(namespace, name) {
      try {
        return serviceObject(await core.readNamespacedService({ name, namespace }));
      } catch (e) {
        if (codeOf(e) === 404) return undefined;
        throw new Error(`get Service ${namespace}/${name}: ${line(e)}`);
      }
    },
    async writeStatus(svc: ServiceObject, ingress: readonly IngressEntry[]): Promise<WriteResult> {
      const raw = svc.raw as V1Service;
      const body: V1Service = { ...raw, apiVersion: "v1", kind: "Service", status: { ...raw.status, loadBalancer: { ...raw.status?.loadBalancer, ingress: ingress.map((i) => ({ ...i })) as never } } };
      try {
        await core.replaceNamespacedServiceStatus({ name: svc.name, namespace: svc.namespace, body });
        return "ok";
      } catch (e) {
        if (codeOf(e) === 409) return "conflict";
        if (codeOf(e) === 404) return "gone";
        throw new Error(`update status of Service ${svc.namespace}/${svc.name}: ${line(e)}`);
      }
    },
  };
}
