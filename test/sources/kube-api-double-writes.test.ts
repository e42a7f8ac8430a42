/**
 * The API double's write verbs (configmaps, leases, events, the Service status subresource) as
 * kube-apiserver answers them, through the real @kubernetes/client-node 1.4 clients, plus
 * list/watch of one named ConfigMap by fieldSelector.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubeServiceStatusApi } from "../../src/apply/kube-status/client.ts";
import { leaseApi } from "../../src/apply/kube-status/lease.ts";
import type { KubeHttp } from "../../src/model/kube-http.ts";
import { loadKubeConfig } from "../../src/sources/kube/config.ts";
import { kubeHttp } from "../../src/sources/kube/request.ts";
import { type DoubleHandle, configMap, eventually, startApiDouble } from "../support/kube-api-double/index.ts";

const NS = "kube-system";
const NAME = "kube-chorus-router";

/** Runs `body` with a double, client-node's CoreV1/CoordinationV1 clients and the agent's own client on it; always disposes. */
async function withDouble(body: (d: DoubleHandle, core: CoreV1Api, coord: CoordinationV1Api, http: KubeHttp) => Promise<void>): Promise<void> {
  const d = await startApiDouble();
  const kc = new KubeConfig();
  kc.loadFromFile(d.kubeconfig);
  try {
    await body(d, kc.makeApiClient(CoreV1Api), kc.makeApiClient(CoordinationV1Api), kubeHttp(loadKubeConfig({ kubeconfig: d.kubeconfig })));
  } finally {
    await d.dispose();
  }
}

const codeOf = (p: Promise<unknown>) => p.then(() => 0, (e: { code?: number }) => e.code ?? -1);

/** A raw request to the double (for PATCH content types and bodies the client does not send). */
async function raw(d: DoubleHandle, method: string, path: string, body: unknown, contentType = "application/json") {
  const r = await fetch(`${d.api.url}${path}`, { method, headers: { "Content-Type": contentType }, body: JSON.stringify(body) });
  return { code: r.status, body: (await r.json()) as Record<string, unknown> };
}

test("given no ConfigMap, when the client creates, reads and creates it again, then 201, the data, then 409 AlreadyExists", async () => {
  await withDouble(async (d, core) => {
    const made = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: NAME }, data: { a: "1" } } });
    assert.equal(made.metadata?.namespace, NS);
    const got = await core.readNamespacedConfigMap({ namespace: NS, name: NAME });
    assert.deepEqual(got.data, { a: "1" });
    assert.equal(got.metadata?.resourceVersion, made.metadata?.resourceVersion);
    const again = await raw(d, "POST", `/api/v1/namespaces/${NS}/configmaps`, configMap(NS, NAME));
    assert.equal(again.code, 409);
    assert.equal(again.body["reason"], "AlreadyExists");
    assert.equal(again.body["kind"], "Status");
    // the exact requests are on record, bodies included
    const creates = d.api.requestsOf("create", "configmaps");
    assert.equal(creates.length, 2);
    assert.deepEqual((creates[0]!.body as { data: unknown }).data, { a: "1" });
    assert.equal(creates[0]!.namespace, NS);
  });
});

test("given a ConfigMap, when it is replaced with a stale, the current, or no resourceVersion, then 409 Conflict, ok, ok; each write bumps the resourceVersion", async () => {
  await withDouble(async (d, core) => {
    const v1 = d.api.create("configmaps", configMap(NS, NAME, { a: "1" })).metadata["resourceVersion"] as string;
    const v2 = (await core.replaceNamespacedConfigMap({ namespace: NS, name: NAME, body: { metadata: { name: NAME, resourceVersion: v1 }, data: { a: "2" } } })).metadata!.resourceVersion!;
    assert.ok(Number(v2) > Number(v1));
    const stale = await codeOf(core.replaceNamespacedConfigMap({ namespace: NS, name: NAME, body: { metadata: { name: NAME, resourceVersion: v1 }, data: { a: "stale" } } }));
    assert.equal(stale, 409);
    const stale409 = await raw(d, "PUT", `/api/v1/namespaces/${NS}/configmaps/${NAME}`, { metadata: { name: NAME, resourceVersion: v1 }, data: {} });
    assert.equal(stale409.body["reason"], "Conflict");
    const v3 = (await core.replaceNamespacedConfigMap({ namespace: NS, name: NAME, body: { metadata: { name: NAME }, data: { a: "3" } } })).metadata!.resourceVersion!;
    assert.ok(Number(v3) > Number(v2));
    assert.deepEqual(d.api.store.get("configmaps", NS, NAME)?.["data"], { a: "3" });
    // a missing object is not created by PUT
    assert.equal(await codeOf(core.replaceNamespacedConfigMap({ namespace: NS, name: "other", body: { metadata: { name: "other" }, data: {} } })), 404);
  });
});

test("given a ConfigMap, when merge and strategic-merge patches arrive, then data keys merge, null deletes, a stale resourceVersion in the patch is 409, other content types 415", async () => {
  await withDouble(async (d, core) => {
    const path = `/api/v1/namespaces/${NS}/configmaps/${NAME}`;
    d.api.create("configmaps", configMap(NS, NAME, { a: "1", b: "2" }));
    const merged = await core.patchNamespacedConfigMap({ namespace: NS, name: NAME, body: { data: { b: null, c: "3" } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    assert.deepEqual(merged.data, { a: "1", c: "3" });
    const rv = merged.metadata!.resourceVersion!;
    const sm = await raw(d, "PATCH", path, { metadata: { resourceVersion: rv }, data: { a: null } }, "application/strategic-merge-patch+json");
    assert.equal(sm.code, 200);
    assert.deepEqual(sm.body["data"], { c: "3" });
    const stale = await raw(d, "PATCH", path, { metadata: { resourceVersion: rv }, data: { a: "x" } }, "application/merge-patch+json");
    assert.equal(stale.code, 409);
    assert.equal(stale.body["reason"], "Conflict");
    assert.equal((await raw(d, "PATCH", path, [{ op: "add", path: "/data/x", value: "1" }], "application/json-patch+json")).code, 415);
    assert.deepEqual(d.api.requestsOf("patch").map((r) => r.contentType), [PatchStrategy.MergePatch, "application/strategic-merge-patch+json", "application/merge-patch+json", "application/json-patch+json"]);
  });
});

test("given a watch on one named ConfigMap, when it and another are written and deleted, then only its events arrive and the fieldSelector list holds only it", async () => {
  await withDouble(async (d, core) => {
    d.api.create("configmaps", configMap(NS, "other", { z: "0" }));
    const events: string[] = [];
    const res = await fetch(`${d.api.url}/api/v1/namespaces/${NS}/configmaps?watch=true&fieldSelector=metadata.name%3D${NAME}`);
    const reader = res.body!.getReader();
    let buf = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += Buffer.from(value).toString("utf8");
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) {
          const e = JSON.parse(l) as { type: string; object: { metadata: { name: string } } };
          events.push(`${e.type} ${e.object.metadata.name}`);
        }
      }
    })();
    await eventually("the watch is open", () => d.api.watchCount("configmaps") === 1);
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: NAME }, data: { a: "1" } } });
    await core.replaceNamespacedConfigMap({ namespace: NS, name: "other", body: { metadata: { name: "other" }, data: { z: "1" } } });
    await core.replaceNamespacedConfigMap({ namespace: NS, name: NAME, body: { metadata: { name: NAME }, data: { a: "2" } } });
    const list = await core.listNamespacedConfigMap({ namespace: NS, fieldSelector: `metadata.name=${NAME}` });
    assert.deepEqual(list.items.map((i) => i.metadata?.name), [NAME]);
    await core.deleteNamespacedConfigMap({ namespace: NS, name: NAME });
    await core.deleteNamespacedConfigMap({ namespace: NS, name: "other" });
    await eventually("the delete arrives", () => events.length === 3);
    assert.deepEqual(events, [`ADDED ${NAME}`, `MODIFIED ${NAME}`, `DELETED ${NAME}`]);
    assert.equal(await codeOf(core.deleteNamespacedConfigMap({ namespace: NS, name: NAME })), 404);
    assert.equal((await raw(d, "GET", "/api/v1/configmaps?fieldSelector=spec.x%3D1", undefined)).code, 400);
    d.api.dropWatches();
    await pump.catch(() => undefined);
  });
});

test("given the lballoc elector's Lease API on the double, when it creates then renews the Lease, then both succeed; when the next write is forced to conflict, then it reports conflict", async () => {
  await withDouble(async (d, _core, _coord, http) => {
    const api = leaseApi(http, "kube-system", "kube-router-route-extender");
    assert.equal(await api.read(), undefined);
    const rec = { holderIdentity: "node-a", leaseDurationSeconds: 15, acquireTime: "2024-01-01T00:00:00.000000Z", renewTime: "2024-01-01T00:00:00.000000Z", leaseTransitions: 0 };
    assert.equal(await api.write(rec, undefined), "ok");
    const cur = await api.read();
    assert.equal(cur?.holderIdentity, "node-a");
    assert.equal(await api.write(rec, undefined), "conflict"); // create again: AlreadyExists
    assert.equal(await api.write({ ...rec, renewTime: "2024-01-01T00:00:02.000000Z" }, cur!.resourceVersion), "ok");
    assert.equal(await api.write(rec, cur!.resourceVersion), "conflict"); // stale
    const fresh = await api.read();
    d.api.conflictWrites("leases", 1);
    assert.equal(await api.write(rec, fresh!.resourceVersion), "conflict");
    assert.equal(await api.write(rec, fresh!.resourceVersion), "ok");
    assert.deepEqual(d.api.requests.filter((r) => r.resource === "leases").map((r) => r.verb),
      ["get", "create", "get", "create", "update", "update", "get", "update", "update"]);
  });
});

test("given injected failures without verbs, when a write is made, then it fails with that status like a read would", async () => {
  await withDouble(async (d, core) => {
    d.api.failRequests({ status: 403, count: 1 });
    assert.equal(await codeOf(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: NAME }, data: {} } })), 403);
    assert.equal(d.api.store.get("configmaps", NS, NAME), undefined);
    d.api.failRequests({ status: 500, count: 1, verbs: ["update"] });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: NAME }, data: {} } });
    assert.equal(await codeOf(core.replaceNamespacedConfigMap({ namespace: NS, name: NAME, body: { metadata: { name: NAME }, data: { a: "1" } } })), 500);
    assert.deepEqual(d.api.store.get("configmaps", NS, NAME)?.["data"], {});
  });
});

test("given a LoadBalancer Service, when the allocator's client reads it and replaces its status, then only status changes, a watch sees MODIFIED, a stale resourceVersion is 409 (conflict) and a missing Service 404 (gone)", async () => {
  await withDouble(async (d, core, _coord, http) => {
    d.api.create("services", { metadata: { namespace: "web", name: "lb" }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] } });
    const seen: string[] = [];
    const res = await fetch(`${d.api.url}/api/v1/services?watch=true&resourceVersion=${d.api.store.rv}`);
    const reader = res.body!.getReader();
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const l of Buffer.from(value).toString("utf8").split("\n").filter((x) => x !== "")) {
          const e = JSON.parse(l) as { type: string; object: { status?: { loadBalancer?: { ingress?: { ip: string }[] } } } };
          seen.push(`${e.type} ${e.object.status?.loadBalancer?.ingress?.map((i) => i.ip).join(",") ?? ""}`);
        }
      }
    })();
    await eventually("the watch is open", () => d.api.watchCount("services") === 1);
    const api = kubeServiceStatusApi(http);
    const svc = (await api.get("web", "lb"))!;
    assert.deepEqual([svc.type, svc.ingress], ["LoadBalancer", []]);
    // a body whose spec differs: the status subresource ignores it
    const tampered = { ...svc, raw: { ...(svc.raw as object), spec: { type: "ClusterIP" } } };
    assert.equal(await api.writeStatus(tampered, [{ ip: "198.51.100.7" }]), "ok");
    const after = (await api.get("web", "lb"))!;
    assert.deepEqual([after.type, after.ingress], ["LoadBalancer", [{ ip: "198.51.100.7" }]]);
    assert.ok(Number(after.resourceVersion) > Number(svc.resourceVersion));
    assert.equal(await api.writeStatus(svc, [{ ip: "198.51.100.8" }]), "conflict", "stale resourceVersion");
    d.api.conflictWrites("services", 1);
    assert.equal(await api.writeStatus(after, [{ ip: "198.51.100.9" }]), "conflict", "forced conflict");
    d.api.delete("services", "web", "lb");
    assert.equal(await api.writeStatus(after, [{ ip: "198.51.100.9" }]), "gone");
    assert.equal(await api.get("web", "lb"), undefined);
    await eventually("MODIFIED then DELETED arrive", () => seen.length === 2);
    assert.deepEqual(seen, ["MODIFIED 198.51.100.7", "DELETED 198.51.100.7"]);
    const writes = d.api.requestsOf("update", "services");
    assert.deepEqual(writes.map((r) => `${r.namespace}/${r.name}/${r.subresource}`), Array(4).fill("web/lb/status"));
    // the Service itself is not writable, and no other subresource is served
    assert.equal((await raw(d, "PUT", "/api/v1/namespaces/web/services/lb", {})).code, 405);
    assert.equal((await raw(d, "PUT", "/api/v1/namespaces/web/services/lb/scale", {})).code, 404);
    d.api.dropWatches();
    await pump.catch(() => undefined);
  });
});

test("given the double, when a core/v1 Event is created in a namespace, then it is stored there and recorded with its body", async () => {
  await withDouble(async (d, core) => {
    const body = { metadata: { name: "lb.1", namespace: "web" }, involvedObject: { kind: "Service", namespace: "web", name: "lb" }, type: "Warning", reason: "AllocationFailed", message: "m" };
    await core.createNamespacedEvent({ namespace: "web", body });
    assert.equal(d.api.store.list("events", "web").length, 1);
    assert.equal((d.api.requestsOf("create", "events")[0]!.body as { reason: string }).reason, "AllocationFailed");
  });
});
