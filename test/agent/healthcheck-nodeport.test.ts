/**
 * healthCheckNodePort servers over real HTTP on loopback, ephemeral ports: given a desired
 * set, when reconciled, then exactly those ports serve /healthz with 200/503 by local
 * endpoint count, counts update in place, and removed ones stop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { healthCheckServers, healthResponse } from "../../src/agent/healthcheck/index.ts";
import type { HealthCheck } from "../../src/render/proxy/service.ts";

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer();
  s.once("error", reject);
  s.listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
});
const hc = (port: number, n: number, name = `svc${port}`): HealthCheck => ({ namespace: "default", name, port, localEndpoints: n });
const get = async (port: number, path = "/healthz") => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: "close" } });
  return { status: r.status, body: await r.text() };
};
const refused = async (port: number) => { try { await get(port); return false; } catch { return true; } };

test("healthResponse: 200 with N endpoints, 503 without, 404 elsewhere", () => {
  assert.deepEqual(healthResponse("/healthz", hc(1, 2)), { status: 200, body: "2 Service Endpoints found\n" });
  assert.deepEqual(healthResponse("/healthz?x=1", hc(1, 0)), { status: 503, body: "No Service Endpoints Found\n" });
  assert.equal(healthResponse("/", hc(1, 1)).status, 404);
});

test("reconcile starts, updates in place and stops servers to match the desired set", async () => {
  const servers = healthCheckServers({ host: "127.0.0.1" });
  try {
    const [a, b] = [await freePort(), await freePort()];
    // Given two services, one with local endpoints and one without
    const r1 = await servers.reconcile([hc(a, 2), hc(b, 0)]);
    assert.deepEqual(r1, { started: [a, b].sort((x, y) => x - y), stopped: [], errors: [] });
    // Then /healthz answers by local endpoint count
    assert.deepEqual(await get(a), { status: 200, body: "2 Service Endpoints found\n" });
    assert.deepEqual(await get(b), { status: 503, body: "No Service Endpoints Found\n" });
    assert.equal((await get(a, "/other")).status, 404);
    // When b gains an endpoint and a is no longer wanted
    const r2 = await servers.reconcile([hc(b, 1)]);
    assert.deepEqual(r2, { started: [], stopped: [a], errors: [] });
    // Then b answers 200 without a restart and a is closed
    assert.deepEqual(await get(b), { status: 200, body: "1 Service Endpoints found\n" });
    assert.ok(await refused(a));
    assert.deepEqual(servers.ports(), [b]);
    // And reconciling the same set again changes nothing
    assert.deepEqual(await servers.reconcile([hc(b, 1)]), { started: [], stopped: [], errors: [] });
  } finally {
    await servers.close();
  }
  assert.deepEqual(servers.ports(), []);
});

test("a port that cannot be bound is one error line naming the Service; others still start", async () => {
  const blocker = createServer();
  const taken = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)));
  const servers = healthCheckServers({ host: "127.0.0.1" });
  try {
    const ok = await freePort();
    const r = await servers.reconcile([hc(taken, 1, "busy"), hc(ok, 1)]);
    assert.deepEqual(r.started, [ok]);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, new RegExp(`^healthCheckNodePort ${taken} of Service default/busy: .*EADDRINUSE`));
    assert.equal((await get(ok)).status, 200);
  } finally {
    await servers.close();
    blocker.close();
  }
});
