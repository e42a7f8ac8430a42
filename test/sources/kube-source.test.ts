/**
 * The Kubernetes API source against the in-process API server double, through the real
 * @kubernetes/client-node 1.4 informers and a real kubeconfig file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SourceChange } from "../../src/sources/source.ts";
import { type KubeSource, type KubeSourceOptions, createKubeSource } from "../../src/sources/kube/index.ts";
import {
  type DoubleHandle, type DoubleOptions, endpointSlice, eventually, namespace, networkPolicy, node, pod, service,
  sleep, startApiDouble,
} from "../support/kube-api-double/index.ts";

/** Small, deterministic retry timings so tests take milliseconds. */
const FAST: KubeSourceOptions = { backoff: { initialMs: 20, maxMs: 200, jitter: 0 }, watchSilenceMs: 0 };

/** A double holding one object of each kind. */
async function cluster(opts: DoubleOptions = {}): Promise<DoubleHandle> {
  const d = await startApiDouble(opts);
  d.api.create("nodes", node("node-a", { podCIDR: "10.244.0.0/24", ip: "10.0.0.1" }));
  d.api.create("namespaces", namespace("ns1"));
  d.api.create("pods", pod("ns1", "web-1", { ip: "10.244.0.5", port: 8080 }));
  d.api.create("services", service("ns1", "web", { clusterIP: "10.96.0.20", targetPort: 8080 }));
  d.api.create("endpointslices", endpointSlice("ns1", "web-abcde", "web", ["10.244.0.5"]));
  d.api.create("networkpolicies", networkPolicy("ns1", "deny-web", { app: "web" }));
  return d;
}

/** Waits until the source has all six watches established on the double. */
const allWatching = (d: DoubleHandle) => eventually("six watches established", () => d.api.watchCount() === 6, 3000);

/** Runs `body` with a started source on the double; always stops both. */
async function withSource(
  d: DoubleHandle, opts: KubeSourceOptions,
  body: (src: KubeSource, changes: SourceChange[]) => Promise<void>,
): Promise<void> {
  const src = createKubeSource({ kubeconfig: d.kubeconfig, ...FAST, ...opts });
  const changes: SourceChange[] = [];
  src.onChange((c) => changes.push(c));
  try {
    await src.start();
    await body(src, changes);
  } finally {
    await src.stop();
    await eventually("the double sees every watch closed", () => d.api.watchCount() === 0, 2000);
    await d.dispose();
  }
}

test("initial sync: every kind is listed, projected and reported synced", async () => {
  // Given a double with one object of each kind
  const d = await cluster();
  await withSource(d, {}, async (src, changes) => {
    // When the source starts and waits for its caches
    const synced = await src.waitSynced(3000);
    // Then it is synced with every object projected into the snapshot
    assert.equal(synced, true);
    const s = src.snapshot();
    assert.deepEqual([...s.nodes.keys()], ["node-a"]);
    assert.deepEqual([...s.namespaces.keys()], ["ns1"]);
    assert.deepEqual([...s.pods.keys()], ["ns1/web-1"]);
    assert.deepEqual([...s.services.keys()], ["ns1/web"]);
    assert.deepEqual([...s.endpointSlices.keys()], ["ns1/web-abcde"]);
    assert.deepEqual([...s.networkPolicies.keys()], ["ns1/deny-web"]);
    assert.deepEqual(s.nodes.get("node-a")?.podCIDRs, ["10.244.0.0/24"]);
    assert.deepEqual(s.pods.get("ns1/web-1")?.podIPs, ["10.244.0.5"]);
    assert.equal("managedFields" in (s.pods.get("ns1/web-1") ?? {}), false);
    assert.equal(s.endpointSlices.get("ns1/web-abcde")?.serviceName, "web");
    assert.ok(Object.isFrozen(s.pods.get("ns1/web-1")), "records are frozen");
    // And the status says so, with a last-event time per kind and no error
    const st = src.status();
    assert.equal(st.synced, true);
    assert.equal(st.error, undefined);
    assert.deepEqual(Object.keys(st.lastEventMs).sort(), ["endpointSlices", "namespaces", "networkPolicies", "nodes", "pods", "services"]);
    // And listeners heard one "relisted" per kind
    assert.deepEqual(changes.map((c) => `${c.kind}:${c.type}`).sort(), [
      "endpointSlices:relisted", "namespaces:relisted", "networkPolicies:relisted", "nodes:relisted", "pods:relisted", "services:relisted",
    ]);
    // And the lists were paged (limit) and the watches asked for bookmarks
    assert.ok(d.api.requests.some((r) => r.verb === "list" && r.query["limit"] === "500"));
    assert.ok(d.api.requests.filter((r) => r.verb === "watch").every((r) => r.query["allowWatchBookmarks"] === "true"));
  });
});

test("add, update and delete are followed, with one change event each", async () => {
  const d = await cluster();
  await withSource(d, {}, async (src, changes) => {
    assert.equal(await src.waitSynced(3000), true);
    changes.length = 0;
    const before = src.snapshot();
    // When a pod is added, a service updated and a policy deleted
    d.api.create("pods", pod("ns1", "web-2", { ip: "10.244.0.6" }));
    d.api.update("services", service("ns1", "web", { clusterIP: "10.96.0.20", port: 8080 }));
    d.api.delete("networkpolicies", "ns1", "deny-web");
    // Then the snapshot follows
    await eventually("three changes applied", () => changes.length === 3);
    const after = src.snapshot();
    assert.deepEqual(after.pods.get("ns1/web-2")?.podIPs, ["10.244.0.6"]);
    assert.equal(after.services.get("ns1/web")?.ports[0]?.port, 8080);
    assert.equal(after.networkPolicies.size, 0);
    assert.deepEqual(changes, [
      { kind: "pods", key: "ns1/web-2", type: "added" },
      { kind: "services", key: "ns1/web", type: "modified" },
      { kind: "networkPolicies", key: "ns1/deny-web", type: "deleted" },
    ]);
    // And the snapshot is a new version that shares what did not change
    assert.notEqual(after, before);
    assert.equal(after.pods.get("ns1/web-1"), before.pods.get("ns1/web-1"));
    assert.equal(after.nodes, before.nodes);
    assert.equal(after.endpointSlices, before.endpointSlices);
  });
});

for (const graceful of [false, true]) {
  test(`watch connections dropped (${graceful ? "clean close" : "socket destroyed"}): recovers with no missed change`, async () => {
    const d = await cluster();
    await withSource(d, {}, async (src) => {
      assert.equal(await src.waitSynced(3000), true);
      await allWatching(d);
      const lists = d.api.count("list");
      // When every watch is dropped and the cluster changes before the client is back
      assert.equal(d.api.dropWatches(graceful), 6);
      d.api.create("pods", pod("ns1", "web-2", { ip: "10.244.0.6" }));
      d.api.delete("pods", "ns1", "web-1");
      d.api.update("endpointslices", endpointSlice("ns1", "web-abcde", "web", ["10.244.0.6"]));
      // Then the source catches up from its resourceVersion, without relisting
      await eventually("changes made while disconnected applied", () => {
        const s = src.snapshot();
        return s.pods.has("ns1/web-2") && !s.pods.has("ns1/web-1") &&
          s.endpointSlices.get("ns1/web-abcde")?.endpoints[0]?.addresses[0] === "10.244.0.6";
      });
      await eventually("every watch re-established", () => d.api.watchCount() === 6);
      assert.equal(d.api.count("list"), lists);
      // And a change after the reconnect is followed too
      d.api.create("namespaces", namespace("ns2"));
      await eventually("ns2 seen", () => src.snapshot().namespaces.has("ns2"));
      await eventually("error cleared", () => src.status().error === undefined);
    });
  });
}

for (const goneAs of ["event", "status"] as const) {
  test(`410 Gone (${goneAs === "event" ? "ERROR event" : "HTTP 410"}): relists and converges, deletes included`, async () => {
    const d = await cluster({ goneAs });
    await withSource(d, {}, async (src, changes) => {
      assert.equal(await src.waitSynced(3000), true);
      await allWatching(d);
      const podLists = d.api.count("list", "pods");
      changes.length = 0;
      // When watches drop, the cluster changes, and the history is compacted away
      d.api.dropWatches();
      d.api.delete("pods", "ns1", "web-1");
      d.api.create("pods", pod("ns1", "web-3", { ip: "10.244.0.9" }));
      d.api.compact();
      // Then the resumed watch is refused with 410 and the informer relists
      await eventually("pods relisted and converged", () => {
        const s = src.snapshot();
        return d.api.count("list", "pods") > podLists && s.pods.has("ns1/web-3") && !s.pods.has("ns1/web-1");
      });
      // And the relist is announced once for pods, not object by object
      await eventually("relisted announced", () => changes.some((c) => c.kind === "pods" && c.type === "relisted"));
      assert.equal(changes.filter((c) => c.kind === "pods").length, 1);
      // And watching goes on from the new list
      d.api.create("pods", pod("ns1", "web-4", { ip: "10.244.0.10" }));
      await eventually("web-4 seen", () => src.snapshot().pods.has("ns1/web-4"));
    });
  });
}

test("slow list: waitSynced times out first, then resolves once lists complete", async () => {
  const d = await cluster();
  d.api.setListDelay(400);
  await withSource(d, {}, async (src) => {
    // When lists take 400 ms
    // Then a 100 ms wait says "not synced" and nothing is in the snapshot yet
    assert.equal(await src.waitSynced(100), false);
    assert.equal(src.status().synced, false);
    assert.equal(src.snapshot().pods.size, 0);
    // And a longer wait resolves true
    assert.equal(await src.waitSynced(3000), true);
    assert.equal(src.snapshot().pods.size, 1);
  });
});

test("failing requests: status reports the error, the informer retries with backoff and syncs", async () => {
  const d = await cluster();
  // Given the first 4 list requests fail with 500
  d.api.failRequests({ status: 500, count: 4, verbs: ["list"] });
  const errors: string[] = [];
  await withSource(d, { log: (level, msg) => level === "warn" && errors.push(msg) }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    assert.equal(src.status().error, undefined);
    // Then the failures were logged with the server's reason and retried
    assert.equal(errors.length, 4);
    assert.match(errors[0]!, /list \/.*: HTTP 500 InternalError: injected failure \(500\); retrying in 20 ms$/);
    assert.equal(src.details().informers.reduce((n, i) => n + i.restarts, 0), 4);
  });
});

test("failing watch requests: retried with backoff from the last resourceVersion, no relist", async () => {
  const d = await cluster();
  await withSource(d, { kinds: ["pods"] }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    await eventually("pods watch established", () => d.api.watchCount("pods") === 1);
    const lists = d.api.count("list", "pods");
    // When the watch drops and the next two watch requests fail with 503
    d.api.failRequests({ status: 503, count: 2, verbs: ["watch"] });
    d.api.dropWatches();
    d.api.create("pods", pod("ns1", "web-2", { ip: "10.244.0.6" }));
    // Then the informer is restarted twice and resumes the watch, missing nothing
    await eventually("web-2 arrives", () => src.snapshot().pods.has("ns1/web-2"), 3000);
    assert.equal(d.api.count("list", "pods"), lists);
    assert.ok((src.details().informers[0]?.restarts ?? 0) >= 2);
    await eventually("error cleared", () => src.status().error === undefined);
  });
});

for (const verb of ["list", "watch"] as const) {
  test(`given a ${verb} answered 429 with Retry-After: 1, when the backoff alone would retry in 20 ms, then the informer waits the second the server asked for`, async () => {
    const d = await cluster();
    const warns: string[] = [];
    await withSource(d, { kinds: ["pods"], log: (level, msg) => level === "warn" && warns.push(msg) }, async (src) => {
      if (verb === "watch") {
        assert.equal(await src.waitSynced(3000), true);
        await eventually("pods watch established", () => d.api.watchCount("pods") === 1);
      }
      // Given the next request of the verb refused with 429 and Retry-After: 1
      d.api.failRequests({ status: 429, count: 1, verbs: [verb], retryAfterS: 1 });
      const before = d.api.count(verb, "pods");
      if (verb === "watch") d.api.dropWatches();
      else await src.start();
      // When the refusal arrives
      const refusals = () => warns.filter((w) => /HTTP 429/.test(w));
      await eventually("the refused request", () => d.api.count(verb, "pods") === before + 1 && refusals().length === 1, 3000);
      const refusedAt = Date.now();
      // Then the retry waits about 1 s (not 20 ms), and the log says so
      assert.match(refusals()[0]!, /HTTP 429.*retrying in 1000 ms$/);
      await eventually("the retry", () => d.api.count(verb, "pods") === before + 2, 3000);
      const waited = Date.now() - refusedAt;
      assert.ok(waited >= 900, `retried after ${waited} ms`);
      assert.equal(await src.waitSynced(3000), true);
    });
  });
}

test("a watch that goes silent is restarted by the watchdog and misses nothing", async () => {
  const d = await cluster();
  await withSource(d, { watchSilenceMs: 150 }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    await allWatching(d);
    const watches = d.api.count("watch", "pods");
    // When every watch stalls (open, but nothing more arrives) and a pod is added
    d.api.silenceWatches();
    d.api.create("pods", pod("ns1", "web-2", { ip: "10.244.0.6" }));
    await sleep(50);
    assert.equal(src.snapshot().pods.has("ns1/web-2"), false, "the stalled watch did not deliver it");
    // Then the watchdog restarts the pods watch and the pod arrives
    await eventually("web-2 arrives after the watchdog restart", () => src.snapshot().pods.has("ns1/web-2"), 3000);
    assert.ok(d.api.count("watch", "pods") > watches);
    const pods = src.details().informers.find((i) => i.kind === "pods");
    assert.ok((pods?.watchdogRestarts ?? 0) >= 1);
  });
});

test("a watch stuck connecting (no answer) is cut by the watchdog and retried", async () => {
  const d = await cluster();
  await withSource(d, { watchSilenceMs: 150, kinds: ["pods"] }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    await eventually("pods watch established", () => d.api.watchCount("pods") === 1);
    // When the server stops answering new watches and the current one ends
    d.api.hangWatches(true);
    d.api.dropWatches(true);
    await sleep(50);
    d.api.create("pods", pod("ns1", "web-2", { ip: "10.244.0.6" }));
    // Then, once the server answers again, the stuck attempt is cut and the pod arrives
    d.api.hangWatches(false);
    await eventually("web-2 arrives", () => src.snapshot().pods.has("ns1/web-2"), 3000);
    assert.ok((src.details().informers[0]?.watchdogRestarts ?? 0) >= 1);
  });
});

test("a quiet watch with bookmarks is not restarted by the watchdog", async () => {
  const d = await cluster({ bookmarkIntervalMs: 30 });
  await withSource(d, { watchSilenceMs: 150 }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    await sleep(500);
    assert.equal(src.details().informers.reduce((n, i) => n + i.watchdogRestarts, 0), 0);
  });
});

test("objects with missing or bad fields are skipped with a warning naming them", async () => {
  const d = await cluster();
  // Given a slice without its service label and a pod with a non-numeric port
  d.api.create("endpointslices", { metadata: { namespace: "ns1", name: "orphan" }, addressType: "IPv4", endpoints: [] });
  const badPod = pod("ns1", "bad-port", { ip: "10.244.0.7" });
  (badPod["spec"] as { containers: { ports: unknown[] }[] }).containers[0]!.ports = [{ containerPort: "http" }];
  d.api.create("pods", badPod);
  const seen: string[] = [];
  await withSource(d, { onWarning: (w) => seen.push(`${w.kind} ${w.ref?.namespace}/${w.ref?.name}: ${w.field}`) }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    // Then both are absent from the snapshot, and warned about by name and field
    assert.equal(src.snapshot().endpointSlices.has("ns1/orphan"), false);
    assert.equal(src.snapshot().pods.has("ns1/bad-port"), false);
    assert.deepEqual(seen.sort(), [
      "EndpointSlice ns1/orphan: metadata.labels.kubernetes.io/service-name",
      "Pod ns1/bad-port: spec.containers[0].ports[0].containerPort",
    ]);
    assert.equal(src.warnings().length, 2);
    assert.match(src.warnings().find((w) => w.kind === "Pod")?.message ?? "", /object skipped/);
    // When a good object turns bad, it leaves the snapshot with a warning
    const turned = pod("ns1", "web-1", { ip: "10.244.0.5" });
    (turned["status"] as Record<string, unknown>)["podIPs"] = [{ ip: "not-an-ip" }];
    d.api.update("pods", turned);
    await eventually("web-1 skipped", () => !src.snapshot().pods.has("ns1/web-1"));
    assert.equal(src.warnings().length, 3);
    // When the bad objects are fixed or deleted, their warnings go away
    d.api.update("pods", pod("ns1", "bad-port", { ip: "10.244.0.7", port: 80 }));
    d.api.delete("endpointslices", "ns1", "orphan");
    d.api.update("pods", pod("ns1", "web-1", { ip: "10.244.0.5" }));
    await eventually("fixed", () => src.warnings().length === 0 && src.snapshot().pods.has("ns1/bad-port") && src.snapshot().pods.has("ns1/web-1"));
  });
});

test("--master overrides the kubeconfig's server", async () => {
  const d = await cluster();
  // Given a kubeconfig pointing nowhere and --master pointing at the double
  const wrong = d.dir.write("wrong-kubeconfig", (await import("node:fs")).readFileSync(d.kubeconfig, "utf8").replace(d.api.url, "http://127.0.0.1:9"));
  await withSource(d, { kubeconfig: wrong, master: d.api.url }, async (src) => {
    assert.equal(src.server, d.api.url);
    assert.equal(await src.waitSynced(3000), true);
  });
});

test("stop() ends every watch and timer, and waitSynced after stop resolves false", async () => {
  const d = await cluster();
  d.api.setListDelay(300);
  const src = createKubeSource({ kubeconfig: d.kubeconfig, ...FAST, watchSilenceMs: 1000 });
  await src.start();
  const waiting = src.waitSynced(10_000);
  await sleep(50);
  // When stopped in the middle of the lists
  await src.stop();
  // Then the pending wait resolves false and nothing stays connected
  assert.equal(await waiting, false);
  await eventually("no watch left", () => d.api.watchCount() === 0, 2000);
  await sleep(400);
  assert.equal(d.api.watchCount(), 0, "no watch started after the slow lists answered");
  await d.dispose();
});

test("paged lists: every page is followed (limit/continue) and the list is one snapshot", async () => {
  const d = await cluster();
  for (let i = 0; i < 7; i++) d.api.create("pods", pod("ns2", `p-${i}`, { ip: `10.244.1.${i + 1}`, labels: { app: "batch" } }));
  await withSource(d, { listPageSize: 3 }, async (src) => {
    assert.equal(await src.waitSynced(3000), true);
    // Then all 8 pods arrived over 3 pages
    assert.equal(src.snapshot().pods.size, 8);
    const podLists = d.api.requests.filter((r) => r.verb === "list" && r.resource === "pods");
    assert.equal(podLists.length, 3);
    assert.equal(podLists.filter((r) => r.query["continue"]).length, 2);
    // And pods with equal labels share one frozen labels object (memory at 150k pods)
    const a = src.snapshot().pods.get("ns2/p-0");
    const b = src.snapshot().pods.get("ns2/p-6");
    assert.equal(a?.labels, b?.labels);
    assert.equal(a?.namespace, "ns2");
    assert.ok(Object.isFrozen(a?.labels));
  });
});
