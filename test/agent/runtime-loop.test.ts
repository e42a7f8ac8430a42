/**
 * The sync loop over a fake node and an in-memory source: nothing before the initial list,
 * partial syncs on change, full syncs each period and after a failure, render failures
 * contained, dry-run that writes nothing and logs each new plan, shutdown mid-apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSliceInfo, ServiceInfo } from "../../src/model/cluster.ts";
import { FAST, nodeRecord, snapshotOf, startAgent, until } from "../support/agent-harness.ts";
import { MemorySource } from "../support/memory-source.ts";

const syncLogs = (lines: Record<string, unknown>[]) => lines.filter((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("sync:"));

test("loop: nothing is synced before the source's initial list; then one full sync", async () => {
  // Given a source whose initial list is not in
  const source = new MemorySource(snapshotOf(1, 2), { synced: false });
  const h = await startAgent({ source, config: { cacheSyncTimeout: 50 } });
  try {
    await new Promise((r) => setTimeout(r, 150));
    // Then no write reached the kernel and the wait was logged
    assert.equal(h.node.exec.writes(), 0);
    assert.ok(h.logLines().some((l) => /not synced after --cache-sync-timeout/.test(String(l["msg"]))));
    assert.equal(h.handle.health().ok, false);
    // When the list is in
    source.markSynced();
    // Then a full sync programs the route
    await until(async () => (await h.routes()).includes("10.244.2.0/24 via 10.250.0.12"), 2000, "route to node2");
    const first = syncLogs(h.logLines())[0];
    assert.equal(first?.["mode"], "full");
    assert.deepEqual(first?.["controllers"], ["router", "bgp", "extender"]);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: a change is applied by a partial sync, within the debounce", async () => {
  const h = await startAgent();
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    // When node3 joins
    const t0 = Date.now();
    h.source.put("nodes", "node3", nodeRecord(3));
    // Then its route and set member appear, by a partial sync, soon
    await until(async () => (await h.routes()).includes("10.244.3.0/24 via 10.250.0.13"), 2000, "route to node3");
    assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
    assert.deepEqual(await h.members("kube-router-node-ips"), ["10.250.0.11", "10.250.0.12", "10.250.0.13"]);
    const last = syncLogs(h.logLines()).at(-1)!;
    assert.equal(last["mode"], "partial");
    // (route, two set members; and BGP: the peer, two neighbour sets updated)
    assert.equal(last["summary"], "Plan: 4 to add, 2 to change, 0 to destroy.");
    // And when node2 changes its pod CIDR and node3 leaves, the kernel follows
    h.source.put("nodes", "node2", nodeRecord(2, "10.244.22.0/24"));
    h.source.delete("nodes", "node3");
    await until(async () => JSON.stringify(await h.routes()) === JSON.stringify(["10.244.22.0/24 via 10.250.0.12"]), 2000, "routes follow");
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: a partial sync reads nothing from the kernel; a periodic full sync repairs drift", async () => {
  // Given a 300 ms routes sync period
  const h = await startAgent({ config: { routesSyncPeriod: 300 } });
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    // When someone deletes our route behind our back, and a change arrives
    await h.node.exec.run("ip", ["-batch", "-"], { write: true, stdin: "route del 10.244.2.0/24 via 10.250.0.12 proto 17 table main\n" });
    assert.deepEqual(await h.routes(), []);
    const reads = h.node.exec.calls.length;
    h.source.put("nodes", "node3", nodeRecord(3));
    await until(async () => syncLogs(h.logLines()).some((l) => l["mode"] === "partial"), 2000, "partial sync");
    // Then the partial sync did not observe (no dump commands) ...
    const partialCalls = h.node.exec.calls.slice(reads, h.node.exec.calls.findIndex((c, i) => i >= reads && c.write) + 1);
    assert.deepEqual(partialCalls.filter((c) => !c.write && c.cmd !== "ip").map((c) => c.cmd), [], "no dump before the partial apply");
    // ... and the next full sync puts the route back
    await until(async () => (await h.routes()).includes("10.244.2.0/24 via 10.250.0.12"), 2000, "drift repaired");
    assert.ok(syncLogs(h.logLines()).filter((l) => l["mode"] === "full").length >= 2);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: a failed apply is retried with a full sync after backoff, and counted", async () => {
  const h = await startAgent();
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    // When the next two writes fail
    h.exec.failWrites = 2;
    h.source.put("nodes", "node3", nodeRecord(3));
    // Then the change still lands, through full resyncs
    await until(async () => (await h.routes()).includes("10.244.3.0/24 via 10.250.0.13"), 3000, "route after retries");
    const lines = h.logLines();
    assert.ok(lines.some((l) => /sync failed; full resync after backoff/.test(String(l["msg"]))));
    const after = syncLogs(lines).filter((l) => l["ok"] === true).at(-1)!;
    assert.equal(after["mode"], "full");
    const text = await h.handle.metrics.registry.metrics();
    assert.match(text, /kube_router_sync_failures_total\{controller="router"\} [1-9]/);
    assert.match(text, /kube_router_syncs_total\{controller="router",mode="full",result="success"\} [1-9]/);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: a controller that fails to render keeps its objects; the loop keeps going", async () => {
  const h = await startAgent();
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    // When this node disappears from the cluster (the router cannot render)
    h.source.delete("nodes", "node1");
    await until(() => h.logLines().some((l) => /failed to render/.test(String(l["msg"]))), 2000, "render failure logged");
    // Then its routes are kept, and it recovers when the node is back
    assert.deepEqual(await h.routes(), ["10.244.2.0/24 via 10.250.0.12"]);
    assert.equal(h.handle.schedule.lanes[0]!.failures > 0, true);
    h.source.put("nodes", "node1", nodeRecord(1));
    h.source.put("nodes", "node3", nodeRecord(3));
    await until(async () => (await h.routes()).length === 2, 3000, "recovered");
    await until(() => h.handle.schedule.lanes[0]!.failures === 0, 2000, "failure cleared");
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: dry-run keeps watching, logs each new plan once, and writes nothing", async () => {
  const h = await startAgent({ config: { dryRun: true } });
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    const plans = () => h.logLines().filter((l) => /^dry-run: new plan/.test(String(l["msg"])));
    assert.equal(plans().length, 1);
    assert.match(String(plans()[0]!["plan"]), /route replace 10\.244\.2\.0\/24/);
    // When a relist brings the same cluster (same plan), nothing new is logged at info
    const lane = h.handle.schedule.lanes[0]!;
    const before = lane.lastSuccessAt;
    h.source.replace(snapshotOf(1, 2));
    await until(() => lane.lastSuccessAt !== before, 2000, "a second dry-run sync");
    assert.equal(plans().length, 1);
    // When node3 joins, a new plan is logged with its route
    h.source.put("nodes", "node3", nodeRecord(3));
    await until(() => plans().length === 2, 2000, "second plan");
    assert.match(String(plans()[1]!["plan"]), /10\.244\.3\.0\/24/);
    // And nothing was ever written
    assert.equal(h.node.exec.writes(), 0);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("loop: stopping mid-apply lets the apply finish, then stops the source", async () => {
  const h = await startAgent();
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    // Given writes take 200 ms
    h.exec.writeDelayMs = 200;
    let writeStarted!: () => void;
    const inWrite = new Promise<void>((r) => { writeStarted = r; });
    h.exec.onWriteStart = () => writeStarted();
    h.source.put("nodes", "node3", nodeRecord(3));
    await inWrite;
    // When the agent is stopped during the write
    const code = await h.stop();
    // Then it exits 0 after the apply completed, and the source is stopped
    assert.equal(code, 0);
    assert.ok((await h.routes()).includes("10.244.3.0/24 via 10.250.0.13"), "the apply in progress finished");
    assert.ok(h.source.stopped);
    const msgs = h.logLines().map((l) => String(l["msg"]));
    assert.ok(msgs.indexOf("sync loop stopped") > msgs.findIndex((m) => m.startsWith("sync: Plan: 3 to add")));
  } finally {
    await h.stop();
  }
});

test("loop: one controller failing does not stop another (router fails to render, firewall keeps syncing)", async () => {
  // Given the router and the firewall both enabled
  const h = await startAgent({ config: { runFirewall: true, routesSyncPeriod: 300 }, graceMs: 100 });
  try {
    await until(() => h.handle.health().ok, 3000, "healthy");
    const [fw, router] = [h.handle.schedule.lanes.find((l) => l.spec.name === "firewall")!, h.handle.schedule.lanes.find((l) => l.spec.name === "router")!];
    // When this node disappears (the router cannot render) and the firewall has changes to make
    h.source.delete("nodes", "node1");
    await until(() => router.failures > 0, 2000, "router failure");
    const fwOkBefore = fw.lastSuccessAt!;
    h.source.put("nodes", "node3", nodeRecord(3));
    // Then the firewall keeps completing syncs while the router is failing
    await until(() => fw.lastSuccessAt! > fwOkBefore, 2000, "firewall sync after the router failed");
    assert.ok(router.failures > 0);
    assert.equal(fw.failures, 0);
    // And health names the router only, once its period + grace has passed without a success
    await until(() => /controller router/.test(h.handle.health().reasons.join("; ")), 3000, "router unhealthy");
    assert.doesNotMatch(h.handle.health().reasons.join("; "), /controller firewall/);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("logs: JSON lines with stable keys; the plan summary at info, the full plan at debug (-v 2)", async () => {
  for (const v of [0, 2]) {
    const h = await startAgent({ config: { v } });
    try {
      await until(() => h.handle.health().ok, 2000, "healthy");
      const lines = h.logLines();
      const sync = lines.find((l) => String(l["msg"]).startsWith("sync: Plan:"))!;
      assert.equal(sync["level"], "info");
      assert.equal(sync["node"], "node1");
      assert.match(String(sync["time"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      for (const k of ["syncId", "mode", "controllers", "summary", "durationMs", "phaseMs"]) assert.ok(k in sync, k);
      // where the sync's time went: every phase, in milliseconds, adding up to no more than the whole
      const phases = sync["phaseMs"] as Record<string, number>;
      assert.deepEqual(Object.keys(phases).sort(), ["apply", "compile", "diff", "host", "observe", "render"]);
      assert.ok(Object.values(phases).every((x) => x >= 0) && Object.values(phases).reduce((a, b) => a + b, 0) <= Number(sync["durationMs"]) + 1, JSON.stringify(sync));
      const plan = lines.find((l) => l["msg"] === "sync plan");
      if (v === 0) assert.equal(plan, undefined, "no full plan at info");
      else {
        assert.equal(plan?.["level"], "debug");
        assert.match(String(plan?.["plan"]), /route replace 10\.244\.2\.0\/24/);
        assert.equal(plan?.["syncId"], sync["syncId"]);
      }
    } finally {
      assert.equal(await h.stop(), 0);
    }
  }
});

test("loop: a stop while still waiting for the initial list exits 0 at once", async () => {
  const source = new MemorySource(snapshotOf(1, 2), { synced: false });
  const h = await startAgent({ source, config: { cacheSyncTimeout: 10_000 } });
  const t0 = Date.now();
  assert.equal(await h.stop(), 0);
  assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
  assert.equal(h.node.exec.writes(), 0);
  assert.ok(source.stopped);
});

test("loop: a removed endpoint with open connections drains at weight 0 and is deleted soon after they close, without waiting for the period", async () => {
  // Given the proxy with graceful termination, a long IPVS period, and a Service with two endpoints
  const timing = { ...FAST, drainRecheckMs: 100 };
  const source = new MemorySource(snapshotOf(1, 2));
  const h = await startAgent({ source, timing, ipvsGraceMs: 60_000, config: { runServiceProxy: true, runRouter: false, ipvsGracefulTermination: true, ipvsSyncPeriod: 600_000 } });
  const reals = async () => (await h.node.exec.run("ipvsadm", ["-Sn"])).stdout.split("\n").filter((l) => l.startsWith("-a ")).sort();
  try {
    source.put("services", "default/web", webService);
    source.put("endpointSlices", "default/web-1", webSlice(["10.244.1.5", "10.244.2.6"]));
    await until(async () => (await reals()).length === 2, 3000, "two real servers");
    // When the endpoint on node1 goes away while it still has a connection
    h.node.ipvs.setConns("tcp/10.96.0.10/80", "10.244.1.5", 8080, 1);
    source.put("endpointSlices", "default/web-1", webSlice(["10.244.2.6"]));
    // Then it stays at weight 0
    await until(async () => (await reals()).some((l) => l.includes("10.244.1.5:8080") && l.endsWith("-w 0")), 3000, "weight 0");
    // And once the connection is gone, a full sync within the recheck interval deletes it
    h.node.ipvs.setConns("tcp/10.96.0.10/80", "10.244.1.5", 8080, 0);
    await until(async () => !(await reals()).some((l) => l.includes("10.244.1.5")), 3000, "drained real server deleted");
    assert.deepEqual((await reals()).map((l) => l.split(" -r ")[1]?.split(" ")[0]), ["10.244.2.6:8080"]);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

const webService: ServiceInfo = {
  namespace: "default", name: "web", labels: {}, annotations: {}, type: "ClusterIP", clusterIPs: ["10.96.0.10"], externalIPs: [],
  loadBalancerIngress: [], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }], sessionAffinity: "None",
  externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
};
const webSlice = (ips: readonly string[]): EndpointSliceInfo => ({
  namespace: "default", name: "web-1", serviceName: "web", addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: ips.map((ip, i) => ({ addresses: [ip], ready: true, serving: true, terminating: false, nodeName: `node${i + 1}` })),
});
