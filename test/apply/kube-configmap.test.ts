/**
 * The route extender's ConfigMap client (src/apply/kube-configmap/client.ts) over the agent's
 * own HTTP client (src/sources/kube/request.ts) against the API double: the exact requests and
 * their answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConfigMapApi } from "../../src/apply/kube-configmap/api.ts";
import { kubeConfigMapApi } from "../../src/apply/kube-configmap/client.ts";
import { loadKubeConfig } from "../../src/sources/kube/config.ts";
import { kubeHttp } from "../../src/sources/kube/request.ts";
import { type DoubleHandle, configMap, startApiDouble } from "../support/kube-api-double/index.ts";

const NS = "kube-system";
const NAME = "kube-chorus-router";

async function withApi(body: (api: ConfigMapApi, d: DoubleHandle) => Promise<void>): Promise<void> {
  const d = await startApiDouble();
  try {
    await body(kubeConfigMapApi(kubeHttp(loadKubeConfig({ kubeconfig: d.kubeconfig }))), d);
  } finally {
    await d.dispose();
  }
}

test("given no ConfigMap, when the extender gets then creates it twice, then undefined, ok, conflict, and the stored data is the first", async () => {
  await withApi(async (api, d) => {
    assert.equal(await api.get(NS, NAME), undefined);
    assert.equal(await api.create(NS, NAME, { "node-a": "10.0.0.1" }), "ok");
    assert.equal(await api.create(NS, NAME, { "node-a": "other" }), "conflict");
    const got = await api.get(NS, NAME);
    assert.deepEqual(got?.data, { "node-a": "10.0.0.1" });
    assert.equal(got?.resourceVersion, d.api.store.get("configmaps", NS, NAME)?.metadata["resourceVersion"]);
    const create = d.api.requestsOf("create", "configmaps")[0]!;
    assert.deepEqual(create.body, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: NAME, namespace: NS }, data: { "node-a": "10.0.0.1" } });
  });
});

test("given a ConfigMap read at some resourceVersion, when it is updated with it, again with it (stale), and after deletion, then ok, conflict, gone; the PUT carries the whole data and the precondition", async () => {
  await withApi(async (api, d) => {
    d.api.create("configmaps", configMap(NS, NAME, { a: "1", b: "2" }));
    const r = (await api.get(NS, NAME))!;
    assert.equal(await api.update(NS, NAME, { a: "1" }, r.resourceVersion), "ok");
    assert.deepEqual(d.api.store.get("configmaps", NS, NAME)?.["data"], { a: "1" });
    assert.equal(await api.update(NS, NAME, { a: "x" }, r.resourceVersion), "conflict");
    const put = d.api.requestsOf("update", "configmaps")[0]!;
    assert.equal(put.name, NAME);
    assert.deepEqual(put.body, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: NAME, namespace: NS, resourceVersion: r.resourceVersion }, data: { a: "1" } });
    const fresh = (await api.get(NS, NAME))!;
    d.api.conflictWrites("configmaps", 1);
    assert.equal(await api.update(NS, NAME, { a: "y" }, fresh.resourceVersion), "conflict");
    assert.equal(await api.update(NS, NAME, { a: "y" }, fresh.resourceVersion), "ok");
    d.api.delete("configmaps", NS, NAME);
    assert.equal(await api.update(NS, NAME, { a: "z" }, fresh.resourceVersion), "gone");
  });
});

test("given the API refuses (403) or fails (500), when the extender reads, creates or updates, then each rejects with one line naming the ConfigMap and the HTTP status", async () => {
  await withApi(async (api, d) => {
    d.api.failRequests({ status: 403 });
    for (const [verb, call] of [["get", () => api.get(NS, NAME)], ["create", () => api.create(NS, NAME, {})], ["update", () => api.update(NS, NAME, {}, "1")]] as const) {
      await assert.rejects(call(), (e: Error) => {
        assert.match(e.message, new RegExp(`^${verb} ConfigMap kube-system/kube-chorus-router: HTTP 403 Forbidden: injected failure \\(403\\)$`));
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    }
    d.api.clearFailures();
    d.api.failRequests({ status: 500, count: 1 });
    await assert.rejects(api.update(NS, NAME, {}, "1"), /^Error: update ConfigMap kube-system\/kube-chorus-router: HTTP 500 /);
  });
});
