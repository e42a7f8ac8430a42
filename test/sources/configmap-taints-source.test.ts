/**
 * The route extender's inputs in the snapshot: Node taints and named ConfigMaps, from a snapshot
 * file and from the API source (through the real client-node informers against the API double).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatWarning } from "../../src/model/cluster.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { createKubeSource } from "../../src/sources/kube/index.ts";
import type { SourceChange } from "../../src/sources/source.ts";
import { configMap, eventually, node, startApiDouble } from "../support/kube-api-double/index.ts";

const FILE = `
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec:
  taints:
  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
  - {key: dedicated, value: edge, effect: NoExecute}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {addresses: [{type: InternalIP, address: 10.0.0.2}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-chorus-router, namespace: kube-system}
data: {node-a: "10.244.0.0/24"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
`;

test("given a snapshot file with a tainted node and ConfigMaps, when it is parsed, then the taints and every ConfigMap are in the snapshot", () => {
  const { snapshot, warnings } = parseSnapshotText(FILE, "snap.yaml");
  assert.deepEqual(warnings, []);
  assert.deepEqual(snapshot.nodes.get("node-a")?.taints, [
    { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
    { key: "dedicated", value: "edge", effect: "NoExecute" },
  ]);
  assert.equal(snapshot.nodes.get("node-b")?.taints, undefined);
  assert.deepEqual([...snapshot.configMaps!.keys()], ["default/other", "kube-system/kube-chorus-router"]);
  assert.deepEqual(snapshot.configMaps!.get("kube-system/kube-chorus-router"), { namespace: "kube-system", name: "kube-chorus-router", data: { "node-a": "10.244.0.0/24" } });
});

test("given a node with a taint without effect and a ConfigMap with a numeric value, when parsed, then each is skipped with a warning naming the field", () => {
  const { snapshot, warnings } = parseSnapshotText(`
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {taints: [{key: k}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: ns}
data: {n: 1}
`, "snap.yaml");
  assert.deepEqual(warnings.map(formatWarning), [
    "snap.yaml: Node node-a: spec.taints[0].effect: is required (object skipped)",
    "snap.yaml: ConfigMap ns/cm: data.n: must be a string (object skipped)",
  ]);
  assert.equal(snapshot.nodes.size + snapshot.configMaps!.size, 0);
});

test("given the API source asked for one ConfigMap, when it is created, changed and deleted, then the snapshot follows it; another ConfigMap in the namespace is never requested nor seen; node taints are projected", async () => {
  const d = await startApiDouble();
  d.api.create("nodes", { ...node("node-a"), spec: { taints: [{ key: "dedicated", value: "edge", effect: "NoSchedule" }] } });
  d.api.create("configmaps", configMap("kube-system", "other", { x: "1" }));
  const src = createKubeSource({
    kubeconfig: d.kubeconfig, backoff: { initialMs: 20, maxMs: 200, jitter: 0 }, watchSilenceMs: 0,
    configMaps: [{ namespace: "kube-system", name: "kube-chorus-router" }],
  });
  const changes: SourceChange[] = [];
  src.onChange((c) => changes.push(c));
  try {
    await src.start();
    assert.equal(await src.waitSynced(3000), true);
    assert.deepEqual(src.snapshot().nodes.get("node-a")?.taints, [{ key: "dedicated", value: "edge", effect: "NoSchedule" }]);
    assert.equal(src.snapshot().configMaps?.size, 0);
    const key = "kube-system/kube-chorus-router";
    d.api.create("configmaps", configMap("kube-system", "kube-chorus-router", { "node-a": "1" }));
    await eventually("the ConfigMap appears", () => src.snapshot().configMaps?.get(key)?.data["node-a"] === "1");
    d.api.update("configmaps", configMap("kube-system", "kube-chorus-router", { "node-a": "2" }));
    await eventually("the ConfigMap changes", () => src.snapshot().configMaps?.get(key)?.data["node-a"] === "2");
    assert.equal(src.snapshot().configMaps?.get(key)?.resourceVersion, d.api.store.get("configmaps", "kube-system", "kube-chorus-router")?.metadata["resourceVersion"]);
    d.api.update("configmaps", configMap("kube-system", "other", { x: "2" }));
    d.api.delete("configmaps", "kube-system", "kube-chorus-router");
    await eventually("the ConfigMap disappears", () => src.snapshot().configMaps?.has(key) === false);
    assert.deepEqual([...src.snapshot().configMaps!.keys()], []);
    assert.deepEqual(changes.filter((c) => c.kind === "configMaps").map((c) => `${c.type} ${c.key}`),
      ["relisted ", `added ${key}`, `modified ${key}`, `deleted ${key}`]);
    // every ConfigMap request was namespaced and carried the fieldSelector
    const cmReqs = d.api.requests.filter((r) => r.resource === "configmaps");
    assert.deepEqual([...new Set(cmReqs.map((r) => r.verb))].sort(), ["list", "watch"]);
    for (const r of cmReqs) {
      assert.equal(r.namespace, "kube-system");
      assert.equal(r.query["fieldSelector"], "metadata.name=kube-chorus-router");
    }
  } finally {
    await src.stop();
    await d.dispose();
  }
});

test("given the API refuses ConfigMaps (403), when the source runs, then it is not synced and its status names the resource and verb", async () => {
  const d = await startApiDouble();
  const src = createKubeSource({ kubeconfig: d.kubeconfig, kinds: [], backoff: { initialMs: 20, maxMs: 200, jitter: 0 }, watchSilenceMs: 0, configMaps: [{ namespace: "kube-system", name: "kube-chorus-router" }] });
  d.api.failRequests({ status: 403 });
  try {
    await src.start();
    assert.equal(await src.waitSynced(300), false);
    assert.match(src.status().error ?? "", /configMaps: list \/api\/v1\/namespaces\/kube-system\/configmaps\?fieldSelector=metadata.name%3Dkube-chorus-router: HTTP 403 Forbidden/);
  } finally {
    await src.stop();
    await d.dispose();
  }
});

test("given no ConfigMaps asked for, when the API source syncs, then it makes no ConfigMap request", async () => {
  const d = await startApiDouble();
  const src = createKubeSource({ kubeconfig: d.kubeconfig, watchSilenceMs: 0 });
  try {
    await src.start();
    assert.equal(await src.waitSynced(3000), true);
    assert.equal(d.api.requests.filter((r) => r.resource === "configmaps").length, 0);
  } finally {
    await src.stop();
    await d.dispose();
  }
});
