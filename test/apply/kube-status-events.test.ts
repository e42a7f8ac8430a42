/**
 * The allocator's Warning Events (apply/kube-status/events.ts, driver eventScript) through the
 * engine over the in-memory API: pool exhaustion and a requested IP that cannot be honoured
 * are each reported once per Service and reason while they last (full and partial syncs
 * alike), again when they recur; a failed Event write is a counted best-effort warning, never
 * a failed sync; a standby agent reports nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type SyncOutcome, syncNode } from "../../src/agent/engine.ts";
import { kubeStatusDriver } from "../../src/apply/kube-status/driver.ts";
import { MemoryEventApi, eventBody } from "../../src/apply/kube-status/events.ts";
import { MemoryServiceStatusApi } from "../../src/apply/kube-status/fake.ts";
import { LeaseElector } from "../../src/apply/kube-status/lease.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import type { ClusterSnapshot } from "../../src/model/cluster.ts";
import { REASONS, handles } from "../../src/render/lballoc/allocate.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";

const config: NodeConfig = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runLoadbalancer: true, loadbalancerIpRange: ["192.0.2.0/31"], runRouter: false, runFirewall: false, runServiceProxy: false };
const svc = (i: number, o: { request?: string; ip?: string } = {}) => `apiVersion: v1
kind: Service
metadata: {name: s${i}, namespace: shop, resourceVersion: "${i}", creationTimestamp: "2026-01-01T00:00:${String(10 + i)}Z"}
spec: {type: LoadBalancer, clusterIP: 10.96.0.9, ports: [{port: 80}]${o.request ? `, loadBalancerIP: ${o.request}` : ""}}
${o.ip ? `status: {loadBalancer: {ingress: [{ip: ${o.ip}}]}}` : ""}
`;
const snap = (...docs: string[]): ClusterSnapshot => parseSnapshotText(docs.join("---\n"), "c.yaml").snapshot;
const ours = (s: { type: string; loadBalancerClass?: string }) => handles({ type: s.type as "LoadBalancer", ...(s.loadBalancerClass ? { loadBalancerClass: s.loadBalancerClass } : {}) }, config);

function node(api: MemoryServiceStatusApi, events: MemoryEventApi, elector?: (c: (l: boolean) => void) => LeaseElector) {
  const driver = kubeStatusDriver({ api, events, handles: ours, ...(elector ? { elector } : {}) });
  return { exec: async () => ({ stdout: "", stderr: "", code: 0 }), drivers: [driver], readHost: async () => ({ interfaces: [], cniConf: { path: "/x" } }) } as never;
}
const full = (deps: never, snapshot: ClusterSnapshot) => syncNode(deps, { mode: "apply", config, nodeName: "node1", snapshot, verify: true });
const partial = (deps: never, snapshot: ClusterSnapshot, last: SyncOutcome) => syncNode(deps, { mode: "apply", config, nodeName: "node1", snapshot, observed: last.desired });
const seen = (ev: MemoryEventApi) => ev.events.map((e) => `${e.namespace}/${e.name} ${e.reason}`);

test("given a /31 range, when three Services want an IP and one asks for an IP outside the range, then one Warning Event each, naming the Service; again and again synced: no more", async () => {
  // Given s1, s2 fit; s3 finds the pool exhausted; s4 asks for 203.0.113.9
  const s = snap(svc(1), svc(2), svc(3), svc(4, { request: "203.0.113.9" }));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const ev = new MemoryEventApi();
  const deps = node(api, ev);
  // When synced
  const o = await full(deps, s);
  // Then the two get IPs and the other two one Event each
  assert.deepEqual(o.errors.map(String), []);
  assert.deepEqual(api.writes, ["shop/s1 192.0.2.0", "shop/s2 192.0.2.1"]);
  assert.deepEqual(seen(ev), [`shop/s3 ${REASONS.exhausted}`, `shop/s4 ${REASONS.requested}`]);
  assert.equal(ev.events[0]!.message, "Service shop/s3: no free ipv4 address in --loadbalancer-ip-range; pending");
  assert.equal(ev.events[1]!.message, "Service shop/s4: spec.loadBalancerIP 203.0.113.9 is outside every --loadbalancer-ip-range; pending");
  // When synced again (full, from the API, and partial, from the state last applied), the conditions lasting
  const after = snap(svc(1, { ip: "192.0.2.0" }), svc(2, { ip: "192.0.2.1" }), svc(3), svc(4, { request: "203.0.113.9" }));
  const o2 = await full(deps, after);
  await partial(deps, after, o2);
  await full(deps, after);
  // Then nothing more is reported, and the syncs are clean
  assert.deepEqual(o2.errors.map(String), []);
  assert.equal(ev.events.length, 2);
});

test("given a reported exhaustion, when an IP is freed then the condition ends silently; when a Service's condition changes and comes back, then each new one is reported (partial syncs)", async () => {
  const s = snap(svc(1), svc(2), svc(3));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const ev = new MemoryEventApi();
  const deps = node(api, ev);
  const o1 = await full(deps, s);
  assert.deepEqual(seen(ev), [`shop/s3 ${REASONS.exhausted}`]);
  // s1 deleted: s3 gets its IP (no Event)
  api.delete("shop", "s1");
  const freed = snap(svc(2, { ip: "192.0.2.1" }), svc(3));
  const o2 = await partial(deps, freed, o1);
  assert.deepEqual(o2.errors.map(String), []);
  assert.deepEqual(api.writes.at(-1), "shop/s3 192.0.2.0");
  assert.equal(ev.events.length, 1);
  // s4 asks for an IP outside the range, then for none (the pool is full), then for it again:
  // each change of condition is reported, the return of the first one too
  const full2 = (o?: { request?: string }) => snap(svc(2, { ip: "192.0.2.1" }), svc(3, { ip: "192.0.2.0" }), svc(4, o));
  const o3 = await partial(deps, full2({ request: "203.0.113.9" }), o2);
  const o4 = await partial(deps, full2(), o3);
  const o5 = await partial(deps, full2({ request: "203.0.113.9" }), o4);
  assert.deepEqual([o3, o4, o5].flatMap((o) => o.errors.map(String)), []);
  assert.deepEqual(seen(ev), [`shop/s3 ${REASONS.exhausted}`, `shop/s4 ${REASONS.requested}`, `shop/s4 ${REASONS.exhausted}`, `shop/s4 ${REASONS.requested}`]);
});

test("given the Event API failing, when a problem is found, then the sync succeeds, the failure is a counted best-effort warning, and it is not retried every sync", async () => {
  const s = snap(svc(1), svc(2), svc(3));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const ev = new MemoryEventApi();
  ev.fail = 1;
  const deps = node(api, ev);
  const o = await full(deps, s);
  assert.deepEqual(o.errors.map(String), []);
  assert.equal(o.bestEffortFailures, 1);
  assert.ok(o.warnings.some((w) => /Event writes failed: Event AllocationFailed on Service shop\/s3: injected failure/.test(w)), o.warnings.join("\n"));
  assert.deepEqual(api.writes, ["shop/s1 192.0.2.0", "shop/s2 192.0.2.1"]);
  const o2 = await full(deps, snap(svc(1, { ip: "192.0.2.0" }), svc(2, { ip: "192.0.2.1" }), svc(3)));
  assert.deepEqual([o2.errors.map(String), o2.bestEffortFailures, ev.events.length], [[], 0, 0]);
});

test("given another agent holds the Lease, when a problem is found, then no Event is written", async () => {
  const s = snap(svc(1), svc(2), svc(3));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const ev = new MemoryEventApi();
  const lease = { read: async () => ({ resourceVersion: "1", holderIdentity: "other", leaseDurationSeconds: 15, leaseTransitions: 0 }), write: async () => "conflict" as const };
  let elector: LeaseElector | undefined;
  const deps = node(api, ev, (onChange) => (elector = new LeaseElector(lease, { identity: "me", onChange })));
  await elector!.tryOnce();
  const o = await full(deps, s);
  assert.deepEqual([o.errors.map(String), api.writes, ev.events], [[], [], []]);
});

test("the Event body is a core/v1 Warning on the Service as client-go's recorder writes a first occurrence", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  const b = eventBody({ namespace: "shop", name: "s3", uid: "u-1", reason: REASONS.exhausted, message: "m" }, "node-a", at);
  assert.match(b.metadata!.name!, /^s3\.[0-9a-f]+$/);
  assert.deepEqual({ ...b, metadata: { namespace: b.metadata!.namespace } }, {
    apiVersion: "v1", kind: "Event", metadata: { namespace: "shop" },
    involvedObject: { apiVersion: "v1", kind: "Service", namespace: "shop", name: "s3", uid: "u-1" },
    type: "Warning", reason: "AllocationFailed", message: "m", source: { component: "kube-router-lballoc", host: "node-a" },
    firstTimestamp: "2026-01-01T00:00:00Z", lastTimestamp: "2026-01-01T00:00:00Z", count: 1,
  });
});
