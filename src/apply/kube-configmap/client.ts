/**
 * The real ConfigMapApi over client-node's CoreV1Api: `readNamespacedConfigMap`,
 * `createNamespacedConfigMap`, `replaceNamespacedConfigMap` (with `metadata.resourceVersion`:
 * the API server answers 409 when the object changed since). Errors other than the expected
 * 404/409 reject with `<verb> ConfigMap <ns>/<name>: HTTP <code> <message>`, one line.
 *
 * @category apply
 */
import type { CoreV1Api, V1ConfigMap } from "@kubernetes/client-node";
import type { ConfigMapApi } from "./api.ts";

const codeOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : undefined;
};

/** The Status message of a client-node ApiException (its body), else the error's first line. */
const reasonOf = (e: unknown): string => {
  const body = (e as { body?: unknown }).body;
  let msg: string | undefined;
  try {
    const parsed = typeof body === "string" ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown } | undefined);
    if (typeof parsed?.message === "string") msg = parsed.message;
  } catch { /* not JSON */ }
  return (msg ?? String((e as Error).message ?? e)).split("\n")[0]!.slice(0, 300);
};

const fail = (verb: string, ns: string, name: string, e: unknown): Error => {
  const code = codeOf(e);
  return new Error(`${verb} ConfigMap ${ns}/${name}: ${code !== undefined ? `HTTP ${code} ` : ""}${reasonOf(e)}`);
};

const body = (ns: string, name: string, data: Record<string, string>, resourceVersion?: string): V1ConfigMap => ({
  apiVersion: "v1", kind: "ConfigMap",
  metadata: { name, namespace: ns, ...(resourceVersion !== undefined ? { resourceVersion } : {}) },
  data: { ...data },
});

export function kubeConfigMapApi(core: CoreV1Api): ConfigMapApi {
  return {
    async get(ns, name) {
      let cm: V1ConfigMap;
      try {
        cm = await core.readNamespacedConfigMap({ name, namespace: ns });
      } catch (e) {
        if (codeOf(e) === 404) return undefined;
        throw fail("get", ns, name, e);
      }
      return { data: { ...(cm.data ?? {}) }, resourceVersion: cm.metadata?.resourceVersion ?? "" };
    },
    async create(ns, name, data) {
      try {
        await core.createNamespacedConfigMap({ namespace: ns, body: body(ns, name, data) });
        return "ok";
      } catch (e) {
        if (codeOf(e) === 409) return "conflict";
        throw fail("create", ns, name, e);
      }
    },
    async update(ns, name, data, resourceVersion) {
      try {
        await core.replaceNamespacedConfigMap({ name, namespace: ns, body: body(ns, name, data, resourceVersion) });
        return "ok";
      } catch (e) {
        if (codeOf(e) === 409) return "conflict";
        if (codeOf(e) === 404) return "gone";
        throw fail("update", ns, name, e);
      }
    },
  };
}
