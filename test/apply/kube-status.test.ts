/**
 * The kube-status driver over the in-memory API (fake.ts), through the engine: a render
 * becomes one conditioned status write per changed Service; a no-op sync writes nothing; a
 * conflicting write is re-read, re-checked and retried; a Service we do not handle is never
 * written; without an API (`--snapshot`) observe reports the snapshot's status and apply
 * refuses with one line; a standby agent writes nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { kubeStatusDriver } from "../../src/apply/kube-status/driver.ts";
import { MemoryServiceStatusApi } from "../../src/apply/kube-status/fake.ts";
import { LeaseElector } from "../../src/apply/kube-status/lease.ts";
import type { ServiceStatusApi } from "../../src/apply/kube-status/api.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import type { ClusterSnapshot } from "../../src/model/cluster.ts";
import { handles } from "../../src/render/lballoc/allocate.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";

const config: NodeConfig = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runLoadbalancer: true, loadbalancerIpRange: ["192.0.2.0/30"], runRouter: false, runFirewall: false, runServiceProxy: false };
const svcYaml = (name: string, extra = "", status = "") => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop, resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:0${name.length}Z"}
spec: {type: LoadBalancer, clusterIP: 10.96.0.9, ports: [{port: 80}]${extra}}
${status ? `status: {loadBalancer: {ingress: [{ip: ${status}}]}}` : ""}
`;
const snap = (...docs: string[]): ClusterSnapshot => parseSnapshotText(docs.join("---\n"), "c.yaml").snapshot;
const ours = (s: { type: string; loadBalancerClass?: string }) => handles({ type: s.type as "LoadBalancer", ...(s.loadBalancerClass ? { loadBalancerClass: s.loadBalancerClass } : {}) }, config);

function node(api: ServiceStatusApi | undefined, elector?: (c: (l: boolean) => void) => LeaseElector) {
  const driver = kubeStatusDriver({ ...(api ? { api } : {}), handles: ours, ...(elector ? { elector } : {}) });
  return { exec: async () => ({ stdout: "", stderr: "", code: 0 }), drivers: [driver], readHost: async () => ({ interfaces: [], cniConf: { path: "/x" } }) } as never;
}
const sync = (deps: never, snapshot: ClusterSnapshot, mode: "apply" | "plan" = "apply") => syncNode(deps, { mode, config, nodeName: "node1", snapshot, verify: true });

test("a pending Service gets its IP in one conditioned write; a no-op sync writes nothing; a Service of another class is never written", async () => {
  // Given two LoadBalancer Services, one of another class
  const s = snap(svcYaml("web"), svcYaml("other", ", loadBalancerClass: example.com/lb"));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const deps = node(api);
  // When synced / Then one write, the dry-run text is the kubectl patch
  const o = await sync(deps, s);
  assert.deepEqual(o.errors.map(String), []);
  assert.deepEqual(api.writes, ["shop/web 192.0.2.0"]);
  assert.equal(o.scripts.map((x) => x.text).join(""), `kubectl patch service -n shop web --subresource=status --type=merge -p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.0"}]}}}'\n`);
  // And a sync of the snapshot as the informer then sees it plans nothing and writes nothing
  const after = snap(svcYaml("web", "", "192.0.2.0").replace('resourceVersion: "1"', 'resourceVersion: "1001"'), svcYaml("other", ", loadBalancerClass: example.com/lb"));
  const again = await sync(deps, after);
  assert.equal(again.scripts.length, 0);
  assert.deepEqual(api.writes, ["shop/web 192.0.2.0"]);
  // And even the stale snapshot (the write not seen yet) writes nothing: observe reads the API
  await sync(deps, s);
  assert.deepEqual(api.writes, ["shop/web 192.0.2.0"]);
});

test("a conflicting write (the Service changed between read and write) is re-read, re-checked and retried", async () => {
  const s = snap(svcYaml("web"));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  let bumps = 0;
  api.beforeWrite = (svc) => { if (bumps++ === 0) api.touch(svc.namespace, svc.name); };
  const o = await sync(node(api), s);
  assert.deepEqual(o.errors.map(String), []);
  assert.equal(bumps, 2, "written on the second try");
  assert.deepEqual(api.writes, ["shop/web 192.0.2.0"]);
});

test("re-check before a write: a Service that left type LoadBalancer, or whose status someone else set meanwhile, is not written", async () => {
  const s = snap(svcYaml("web"));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  api.touch("shop", "web", { type: "ClusterIP" });
  const o = await sync(node(api), s);
  assert.deepEqual(api.writes, []);
  // (until the informer brings the change, verify reports the row as not converged: one line)
  assert.ok(o.errors.every((e) => !String(e).includes("\n")), o.errors.map(String).join(" | "));
  const api2 = new MemoryServiceStatusApi().seed(s.services.values());
  let once = true;
  api2.beforeWrite = (svc) => { if (once) { once = false; api2.touch(svc.namespace, svc.name, { ingress: [{ ip: "192.0.2.3" }] }); } };
  const o2 = await sync(node(api2), s);
  assert.deepEqual(api2.writes, []);
  assert.match(o2.errors.map(String).join("\n"), /Service shop\/web: status changed since it was rendered \(now 192\.0\.2\.3\); re-rendering/);
});

test("--snapshot (no API server): observe reports the snapshot's status, dry-run prints the patch, apply refuses with one line", async () => {
  const s = snap(svcYaml("web"), svcYaml("kept", "", "192.0.2.3"));
  const plan = await sync(node(undefined), s, "plan");
  assert.deepEqual(plan.plan.lbStatus.map((c) => `${c.op} ${c.key}`), ["update shop/web"], "observed: the status the snapshot holds (none)");
  const applied = await sync(node(undefined), s);
  assert.deepEqual(applied.errors.map(String).filter((e) => e.includes("no API server")).length, 1);
  assert.match(applied.errors.map(String).join("\n"), /shop\/web: no API server \(--snapshot\); LoadBalancer status not written/);
});

test("standby (another agent holds the Lease): renders, plans nothing, writes nothing", async () => {
  const s = snap(svcYaml("web"));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const held = { resourceVersion: "5", holderIdentity: "other", leaseDurationSeconds: 15, renewTime: new Date().toISOString(), leaseTransitions: 0 };
  const leases = { read: async () => held, write: async () => "conflict" as const };
  let elector: LeaseElector | undefined;
  const deps = node(api, (onChange) => (elector = new LeaseElector(leases, { identity: "me", onChange })));
  await elector!.tryOnce();
  assert.equal(elector!.isLeader(), false);
  const o = await sync(deps, s);
  assert.deepEqual([o.scripts.length, api.writes], [0, []]);
});

test("an IP never moves between live Services: a plan from a stale render giving one Service's IP to another writes neither", async () => {
  // Given web holds 192.0.2.0 in the API, but the render saw neither that nor its own write
  const s = snap(svcYaml("web", "", "192.0.2.0"), svcYaml("new"));
  const api = new MemoryServiceStatusApi().seed(s.services.values());
  const driver = kubeStatusDriver({ api, handles: ours });
  const before = { namespace: "shop", name: "web", ingress: ["192.0.2.0"], resourceVersion: "1", current: ["192.0.2.0"] };
  const plan = {
    lbStatus: [
      { op: "create", key: "shop/new", after: { namespace: "shop", name: "new", ingress: ["192.0.2.0"], resourceVersion: "1", current: [] } },
      { op: "update", key: "shop/web", before, after: { ...before, ingress: ["192.0.2.1"], current: [] } },
    ],
  } as never;
  const [script] = driver.scripts(plan);
  await assert.rejects(script!.run((async () => ({})) as never), /Service shop\/new: IP 192\.0\.2\.0 is still held by Service shop\/web \(status not yet seen by the render\); not written, next sync; Service shop\/web: holds IP 192\.0\.2\.0 the render has not seen yet/);
  assert.deepEqual(api.writes, []);
});
