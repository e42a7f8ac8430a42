/**
 * /metrics over real HTTP: a private registry with kube_router_ samples for syncs (full and
 * partial), changes applied, source state, input warnings, build info, and upstream's names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort, nodeRecord, startAgent, until } from "../support/agent-harness.ts";

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get("content-type") };
}

test("metrics over HTTP: kube_router_ samples, full/partial durations, changes, build info", async () => {
  const mp = await freePort();
  const h = await startAgent({ config: { metricsPort: mp, metricsAddr: "127.0.0.1", metricsPath: "/m" } });
  try {
    await until(() => h.handle.health().ok, 2000, "healthy");
    h.source.put("nodes", "node3", nodeRecord(3));
    await until(async () => (await h.routes()).length === 2, 2000, "node3 route");
    h.source.setWarnings([{ kind: "Service", ref: { namespace: "a", name: "b" }, message: "bad" }]);
    const r = await get(mp, "/m");
    assert.equal(r.status, 200);
    assert.match(r.type ?? "", /text\/plain; version=0\.0\.4/);
    const m = r.body;
    assert.match(m, /kube_router_sync_duration_seconds_count\{controller="router",mode="full"\} 1/);
    assert.match(m, /kube_router_sync_duration_seconds_count\{controller="router",mode="partial"\} 1/);
    assert.match(m, /kube_router_sync_changes_total\{table="routes",op="create"\} 2/);
    assert.match(m, /kube_router_sync_changes_total\{table="ipsets",op="create"\} 4/);
    assert.match(m, /kube_router_last_successful_sync_timestamp_seconds\{controller="router"\} \d+/);
    assert.match(m, /kube_router_desired_objects\{table="routes"\} 2/);
    assert.match(m, /kube_router_informer_last_event_timestamp_seconds\{resource="nodes"\} \d+/);
    assert.match(m, /kube_router_input_warnings\{kind="Service"\} 1/);
    assert.match(m, /kube_router_build_info\{version="[^"]+",nodeversion="v20[^"]*",goversion="[^"]+"\} 1/);
    assert.match(m, /kube_router_host_routes_synced 2/);
    assert.match(m, /kube_router_host_routes_added 2/);
    assert.match(m, /kube_router_host_routes_sync_time_count 2/);
    assert.match(m, /kube_router_source_synced 1/);
    // The health server is off (port 0 in this test), metrics only on its path
    assert.equal((await get(mp, "/metrics")).status, 404);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("metrics: off when --metrics-port is 0 (upstream's default)", async () => {
  const h = await startAgent({ config: { metricsPort: 0 } });
  try {
    assert.equal(h.ports.metrics, undefined);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("metrics: two agents in one process keep separate registries", async () => {
  const [a, b] = [await startAgent(), await startAgent()];
  try {
    await until(() => a.handle.health().ok && b.handle.health().ok, 2000, "both healthy");
    a.source.put("nodes", "node3", nodeRecord(3));
    await until(async () => (await a.routes()).length === 2, 2000, "a synced node3");
    const [ma, mb] = [await a.handle.metrics.registry.metrics(), await b.handle.metrics.registry.metrics()];
    assert.match(ma, /mode="partial",result="success"\} 1/);
    assert.doesNotMatch(mb, /mode="partial"/);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test("metrics: a NetworkPolicy the firewall fails closed on is counted in kube_router_render_warnings", async () => {
  // Given the firewall running, a local pod, and a policy selecting it with an invalid CIDR
  const mp = await freePort();
  const h = await startAgent({ config: { metricsPort: mp, metricsAddr: "127.0.0.1", runFirewall: true } });
  try {
    await until(() => h.handle.health().ok, 3000, "healthy");
    h.source.put("pods", "default/web", {
      namespace: "default", name: "web", labels: { app: "web" }, nodeName: "node1", hostNetwork: false,
      phase: "Running", podIPs: ["10.244.1.5"], ports: [],
    });
    h.source.put("networkPolicies", "default/bad", {
      namespace: "default", name: "bad", podSelector: { matchLabels: {}, matchExpressions: [] }, policyTypes: ["Ingress"],
      ingress: [{ peers: [{ ipBlock: { cidr: "10.0.0.0/33", except: [] } }] }], egress: [],
    });
    // When the firewall has synced it
    // Then the warning shows in the gauge of the firewall
    await until(async () => /kube_router_render_warnings\{controller="firewall"\} 1/.test((await get(mp, "/metrics")).body), 3000, "render warning counted");
    // And once the policy is gone the gauge returns to 0
    h.source.delete("networkPolicies", "default/bad");
    await until(async () => /kube_router_render_warnings\{controller="firewall"\} 0/.test((await get(mp, "/metrics")).body), 3000, "render warning cleared");
  } finally {
    assert.equal(await h.stop(), 0);
  }
});
