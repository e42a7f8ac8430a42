/**
 * /healthz, as a pure rule and over real HTTP on ephemeral ports: unhealthy until the source
 * synced and every controller completed a sync, healthy while syncs keep completing within
 * period + grace, a long sync in progress is not a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateHealth, healthReply } from "../../src/agent/runtime/health.ts";
import { finished, newSchedule, started } from "../../src/agent/runtime/schedule.ts";
import { freePort, startAgent, until } from "../support/agent-harness.ts";
import { MemorySource } from "../support/memory-source.ts";
import { snapshotOf } from "../support/agent-harness.ts";

const lane = { name: "router" as const, periodMs: 10_000, kinds: new Set<never>() };
const synced = { synced: true, lastEventMs: {} };
const base = { graceMs: 5000, hungAfterMs: 60_000, busySince: undefined };

test("health: unhealthy before the source synced and before the first sync, naming why", () => {
  const s = newSchedule([lane]);
  const h = evaluateHealth({ ...base, now: 0, source: { synced: false, lastEventMs: {}, error: "connect ECONNREFUSED 127.0.0.1:6443" }, lanes: s.lanes });
  assert.deepEqual(h.reasons, ["cluster source not synced yet: connect ECONNREFUSED 127.0.0.1:6443", "controller router: no successful sync yet"]);
  assert.deepEqual(healthReply(h), { status: 500, body: "Unhealthy: cluster source not synced yet: connect ECONNREFUSED 127.0.0.1:6443; controller router: no successful sync yet\n" });
});

test("health: healthy within period + grace, unhealthy after, with the last error", () => {
  const s = newSchedule([lane]);
  const l = s.lanes[0]!;
  started([l], "full", 0);
  finished(s, l, true, 1000); // a 1 s sync
  assert.ok(evaluateHealth({ ...base, now: 16_999, source: synced, lanes: s.lanes }).ok);
  started([l], "full", 11_000);
  finished(s, l, false, 11_100, "apply ip: exit 2: RTNETLINK answers: File exists");
  const late = evaluateHealth({ ...base, now: 17_200, source: synced, lanes: s.lanes });
  assert.equal(late.ok, false);
  assert.match(late.reasons[0]!, /controller router: last successful sync 16\.2s ago \(limit 15\.1s\): apply ip: exit 2/);
});

test("health: a synced source whose watch the API refuses (RBAC) is unhealthy, naming resource and verb; a passing outage is not", () => {
  const s = newSchedule([lane]);
  const l = s.lanes[0]!;
  started([l], "full", 0);
  finished(s, l, true, 1000);
  // Given a role without `watch` on networkpolicies: the list synced, the watch is refused
  const forbidden = { synced: true, lastEventMs: {}, error: "networkPolicies: watch /apis/networking.k8s.io/v1/networkpolicies: HTTP 403 Forbidden" };
  const h = evaluateHealth({ ...base, now: 2000, source: forbidden, lanes: s.lanes });
  assert.deepEqual(h.reasons, ["cluster source: networkPolicies: watch /apis/networking.k8s.io/v1/networkpolicies: HTTP 403 Forbidden"]);
  // Given an API server that is briefly unreachable after the sync: still healthy (the source retries)
  assert.ok(evaluateHealth({ ...base, now: 2000, source: { ...synced, error: "connect ECONNREFUSED 127.0.0.1:6443" }, lanes: s.lanes }).ok);
});

test("health: a long sync in progress is not a failure (until it looks hung)", () => {
  const s = newSchedule([lane]);
  const l = s.lanes[0]!;
  started([l], "full", 0);
  finished(s, l, true, 100);
  started([l], "full", 10_000);
  assert.ok(evaluateHealth({ ...base, now: 40_000, busySince: 10_000, source: synced, lanes: s.lanes }).ok);
  const hung = evaluateHealth({ ...base, now: 80_000, busySince: 10_000, source: synced, lanes: s.lanes });
  assert.deepEqual(hung.reasons, ["a sync has been running for 70.0s"]);
});

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get("content-type") };
}

test("health over HTTP: 500 while the API is unreachable, 200 after the first sync, 500 when syncs stop", async () => {
  // Given an agent on real ports whose source has not listed yet
  const [hp, mp] = [await freePort(), await freePort()];
  const source = new MemorySource(snapshotOf(1, 2), { synced: false });
  source.error = "connect ECONNREFUSED 127.0.0.1:1";
  const h = await startAgent({ source, config: { healthPort: hp, healthAddr: "127.0.0.1", metricsPort: mp, metricsAddr: "127.0.0.1", routesSyncPeriod: 400, cacheSyncTimeout: 50 }, graceMs: 100 });
  try {
    assert.deepEqual(h.ports, { health: hp, metrics: mp });
    // Then /healthz says why it is not healthy
    const before = await get(hp, "/healthz");
    assert.equal(before.status, 500);
    assert.match(before.body, /cluster source not synced yet: connect ECONNREFUSED/);
    // When the source syncs, it turns 200 after the first sync
    source.markSynced();
    await until(async () => (await get(hp, "/healthz")).status === 200, 2000, "healthy");
    assert.equal((await get(hp, "/healthz")).body, "OK\n");
    // And unknown paths are 404
    assert.equal((await get(hp, "/nope")).status, 404);
    // When every write fails from now on, the periodic full syncs fail and health turns 500
    h.exec.failWrites = 1_000_000;
    await h.node.exec.run("ip", ["-batch", "-"], { write: true, stdin: "route del 10.244.2.0/24 via 10.250.0.12 proto 17 table main\n" });
    await until(async () => (await get(hp, "/healthz")).status === 500, 3000, "unhealthy");
    assert.match((await get(hp, "/healthz")).body, /controller router: last successful sync .* injected failure/);
  } finally {
    assert.equal(await h.stop(), 0);
  }
  // And after stop nothing listens any more
  await assert.rejects(fetch(`http://127.0.0.1:${hp}/healthz`));
});

test("metrics and health share one server when given the same address and port", async () => {
  const port = await freePort();
  const h = await startAgent({ config: { healthPort: port, healthAddr: "127.0.0.1", metricsPort: port, metricsAddr: "127.0.0.1" } });
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    assert.equal((await get(port, "/healthz")).status, 200);
    assert.match((await get(port, "/metrics")).body, /kube_router_syncs_total/);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("an address that cannot be bound fails startup with the address named (exit 1)", async () => {
  const port = await freePort();
  const blocker = (await import("node:http")).createServer();
  await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", r));
  try {
    await assert.rejects(startAgent({ config: { healthPort: port, healthAddr: "127.0.0.1" } }), /agent exited early with 1.*cannot listen on 127\.0\.0\.1:\d+/s);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});
