/**
 * The LoadBalancer allocator against the REAL kube-apiserver (test/support/apiserver), with
 * deploy/'s RBAC and the agent's ServiceAccount token: two in-process agents (the real
 * runtime, the real Kubernetes source, the kube-status driver with the real client; no
 * kernel controllers) elect one leader through the Lease kube-router-lballoc; a LoadBalancer
 * Service gets its IP within 5 s; a deleted Service's IP goes to a pending one at once; a
 * conflicting status write is retried; the leader crashing (its API calls cut, its Lease
 * neither renewed nor released) ⇒ the other takes over and allocates within 20 s, and the
 * allocations stay put.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { type RealApiServer, apiserverSkip, startRealApiServer } from "../support/apiserver/index.ts";
import { RealCluster } from "../support/apiserver/cluster.ts";
import { realKubeStatusDriver } from "../../src/agent/kube-status.ts";
import { type AgentHandle, runAgent } from "../../src/agent/runtime/agent.ts";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import { makeSource } from "../../src/agent/runtime/sources.ts";
import type { Driver } from "../../src/apply/driver.ts";
import type { ServiceStatusApi } from "../../src/apply/kube-status/api.ts";
import { kubeServiceStatusApi } from "../../src/apply/kube-status/client.ts";
import { type KubeStatusDriver, kubeStatusDriver } from "../../src/apply/kube-status/driver.ts";
import { type LeaseApi, LEASE_NAME, LeaseElector, leaseApi } from "../../src/apply/kube-status/lease.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import type { KubeHttp } from "../../src/model/kube-http.ts";
import { loadKubeConfig } from "../../src/sources/kube/config.ts";
import { kubeHttp } from "../../src/sources/kube/request.ts";
import { handles } from "../../src/render/lballoc/allocate.ts";

const skip = apiserverSkip;
let api: RealApiServer | undefined;
let k: RealCluster;
const NS = `lb-${randomBytes(3).toString("hex")}`;
const stops: (() => Promise<void>)[] = [];

const rbacDocs = (): KubernetesObject[] => parseAllDocuments(readFileSync(join(import.meta.dirname, "../../deploy/kube-router-daemonset.yaml"), "utf8"))
  .map((d) => d.toJS() as KubernetesObject).filter((d) => ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(d.kind ?? ""));

const config = (): NodeConfig => ({
  ...DEFAULT_CONFIG, kubeconfig: api!.kubeconfig(api!.agentToken, "agent"), runLoadbalancer: true, runRouter: false, runFirewall: false, runServiceProxy: false,
  loadbalancerIpRange: ["198.51.100.0/31"], healthPort: 0, metricsPort: 0,
});
const ours = (s: { type: string; loadBalancerClass?: string }) => handles({ type: s.type as "LoadBalancer", ...(s.loadBalancerClass ? { loadBalancerClass: s.loadBalancerClass } : {}) }, DEFAULT_CONFIG);
/** The agent's own API client (src/sources/kube) with the agent's token. */
const agentHttp = (): KubeHttp => kubeHttp(loadKubeConfig({ kubeconfig: api!.kubeconfig(api!.agentToken, "agent") }));

/** An in-process agent running only the lballoc lane with `driver`. */
async function startAgent(identity: string, driver: Driver) {
  return startAgentWith(identity, driver, config());
}
async function startAgentWith(identity: string, driver: Driver, cfg: NodeConfig): Promise<{ stop: () => Promise<void>; logs: () => Record<string, unknown>[]; health: () => ReturnType<AgentHandle["health"]> }> {
  const dest = memoryDestination();
  const log = makeLogger({ node: identity, v: 0, dest });
  const source = await makeSource(cfg, log);
  let release: () => void = () => undefined;
  const stop = new Promise<void>((r) => (release = r));
  const deps = { exec: (async () => ({ stdout: "", stderr: "", code: 0 })) as never, drivers: [driver], readHost: async () => ({ interfaces: [], cniConf: { path: "/nonexistent/cni.conf" } }) };
  let handle: AgentHandle | undefined;
  const done = runAgent({ config: cfg, nodeName: identity, deps, source, log, stop, processMetrics: false }, (h) => (handle = h));
  let stopped = false;
  const s = async () => { if (stopped) return; stopped = true; release(); await done; };
  stops.push(s);
  return { stop: s, logs: () => dest.lines(), health: () => handle!.health() };
}

/** A ServiceStatusApi / LeaseApi that a "crash" cuts: every call then fails, nothing is renewed or released. */
function crashable<T extends object>(inner: T): { api: T; crash: () => void } {
  let dead = false;
  const api = new Proxy(inner, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r) as unknown;
      return typeof v === "function" ? (...args: unknown[]) => (dead ? Promise.reject(new Error("crashed")) : (v as (...a: unknown[]) => unknown).apply(t, args)) : v;
    },
  });
  return { api, crash: () => { dead = true; } };
}

const lbService = (name: string) => ({ metadata: { name, namespace: NS }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] } });
async function ingressOf(name: string): Promise<string[]> {
  const r = await api!.request("GET", `/api/v1/namespaces/${NS}/services/${name}`);
  const ing = ((r.body["status"] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress ?? []);
  return ing.flatMap((i) => (i.ip ? [i.ip] : []));
}
async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}
const ipWithin = (name: string, ms: number) => until(`Service ${name} gets an IP`, ms, async () => { const i = await ingressOf(name); return i.length > 0 ? i : undefined; });
async function holder(): Promise<string> {
  const r = await api!.request("GET", `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${LEASE_NAME}`);
  return r.status === 200 ? String((r.body["spec"] as { holderIdentity?: string }).holderIdentity ?? "") : "";
}

before(async () => {
  if (skip) return;
  api = await startRealApiServer();
  k = new RealCluster(api);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfig());
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const d of rbacDocs()) await objects.create(d);
  await k.namespace(NS);
});

after(async () => {
  for (const s of stops) await s().catch(() => undefined);
  await api?.stop();
});

test("kube-status driver (real apiserver, agent's RBAC): a status write that conflicts is re-read, re-checked and retried; one write", { skip }, async () => {
  const created = await k.create("services", lbService("conflict"));
  const rv = String((created["metadata"] as { resourceVersion: string }).resourceVersion);
  const real = kubeServiceStatusApi(agentHttp());
  let writes = 0;
  // another writer changes the Service between our read and our write, once
  const racing: ServiceStatusApi = { ...real, list: () => real.list(), get: (n, m) => real.get(n, m), writeStatus: async (svc, ing) => {
    writes++;
    if (writes === 1) await k.patch("services", NS, "conflict", { metadata: { labels: { touched: "yes" } } });
    return real.writeStatus(svc, ing);
  } };
  const driver = kubeStatusDriver({ api: racing, handles: ours });
  const row = { namespace: NS, name: "conflict", ingress: ["203.0.113.77"], resourceVersion: rv, current: [] };
  const scripts = driver.scripts({ lbStatus: [{ op: "create", key: `${NS}/conflict`, after: row }] } as never);
  assert.equal(scripts.length, 1);
  await scripts[0]!.run((async () => ({ stdout: "", stderr: "", code: 0 })) as never);
  assert.equal(writes, 2, "the first write got 409, the second succeeded");
  assert.deepEqual(await ingressOf("conflict"), ["203.0.113.77"]);
  await k.delete("services", NS, "conflict");
});

test("lballoc (real apiserver): two agents, one leader; IP within 5 s; a deleted Service's IP goes to a pending one at once; leader crash ⇒ takeover within 20 s, allocations stay", { skip, timeout: 120_000 }, async () => {
  const http = agentHttp();
  // agent A: built by hand so the test can "crash" it (cut its API calls)
  const svcA = crashable(kubeServiceStatusApi(http));
  const leaseA = crashable<LeaseApi>(leaseApi(http, "kube-system"));
  const driverA = kubeStatusDriver({ api: svcA.api, handles: ours, elector: (onChange) => new LeaseElector(leaseA.api, { identity: "agent-a", onChange }) }) as KubeStatusDriver;
  const a = await startAgent("agent-a", driverA);
  await until("agent-a leads", 10_000, async () => (driverA.role() === "leader" ? true : undefined));
  // agent B: the production factory (POD_NAMESPACE, POD_NAME)
  const driverB = (await realKubeStatusDriver({ config: config(), env: { POD_NAMESPACE: "kube-system", POD_NAME: "agent-b" }, nodeName: "node-b" })) as KubeStatusDriver;
  const b = await startAgent("agent-b", driverB);
  await sleep(2500);
  assert.deepEqual([driverA.role(), driverB.role(), await holder()], ["leader", "standby", "agent-a"], "one leader");

  // a LoadBalancer Service gets its IP within 5 s
  await k.create("services", lbService("one"));
  const one = await ipWithin("one", 5000);
  console.log(`# time to IP: ${one.ms} ms`);
  assert.deepEqual(one.value, ["198.51.100.0"]);
  await k.create("services", lbService("two"));
  assert.deepEqual((await ipWithin("two", 5000)).value, ["198.51.100.1"]);
  // the range is exhausted: a third stays pending (with a warning naming it)
  await k.create("services", lbService("three"));
  await sleep(1500);
  assert.deepEqual(await ingressOf("three"), []);
  assert.ok(a.logs().some((l) => String(l["msg"]).includes(`Service ${NS}/three: no free ipv4 address in --loadbalancer-ip-range; pending`)), "warning naming the pending Service");
  // deleting one gives its IP to the pending one at once
  await k.delete("services", NS, "one");
  const three = await ipWithin("three", 5000);
  console.log(`# deleted Service's IP to the pending one: ${three.ms} ms`);
  assert.deepEqual(three.value, ["198.51.100.0"]);
  assert.equal(driverB.role(), "standby");
  // the standby is healthy and says so
  const hb = b.health();
  assert.deepEqual([hb.ok, hb.notes], [true, [`lballoc: standby (Lease ${LEASE_NAME} held by another agent; rendering, not writing)`]]);
  assert.deepEqual(a.health().notes, [`lballoc: leader (Lease ${LEASE_NAME})`]);

  // the leader crashes: its Lease is neither renewed nor released, its writes fail
  const crashedAt = Date.now();
  svcA.crash();
  leaseA.crash();
  await k.delete("services", NS, "two");
  await k.create("services", lbService("four"));
  const four = await ipWithin("four", 20_000);
  const failover = Date.now() - crashedAt;
  console.log(`# failover: agent-b allocated ${failover} ms after agent-a crashed`);
  assert.ok(failover < 20_000, `failover took ${failover} ms`);
  assert.deepEqual(four.value, ["198.51.100.1"]);
  assert.deepEqual([driverB.role(), await holder()], ["leader", "agent-b"]);
  assert.deepEqual(await ingressOf("three"), ["198.51.100.0"], "allocations stay put");
  assert.ok(b.logs().some((l) => String(l["msg"]).includes("sync")), "agent-b synced");
  await a.stop();
  // a graceful stop releases the Lease at once
  await b.stop();
  assert.equal(await holder(), "");
});

test("lballoc (real apiserver, agent's RBAC): given a one-address range, when a second Service finds it exhausted and a third asks for an IP outside it, then one Warning Event each on the Service, not repeated", { skip, timeout: 60_000 }, async () => {
  const ns = `${NS}-ev`;
  await k.namespace(ns);
  const cfg: NodeConfig = { ...config(), loadbalancerIpRange: ["198.51.102.0/32"] };
  const d = (await realKubeStatusDriver({ config: cfg, env: { POD_NAMESPACE: "kube-system", POD_NAME: "ev-1" }, nodeName: "ev-1" })) as KubeStatusDriver;
  const a = await startAgentWith("ev-1", d, cfg);
  await until("ev-1 leads", 10_000, async () => (d.role() === "leader" ? true : undefined));
  const svc = (name: string, spec: object = {}) => k.create("services", { metadata: { name, namespace: ns }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }], ...spec } });
  await svc("first");
  await until("first gets the address", 5000, async () => { const r = await api!.request("GET", `/api/v1/namespaces/${ns}/services/first`); return (r.body["status"] as { loadBalancer?: { ingress?: unknown[] } }).loadBalancer?.ingress?.length ? true : undefined; });
  await svc("second");
  await svc("third", { loadBalancerIP: "203.0.113.50" });
  type Ev = { involvedObject: { kind: string; name: string }; type: string; reason: string; message: string; source?: { component?: string } };
  const events = async () => ((await api!.request("GET", `/api/v1/namespaces/${ns}/events`)).body["items"] as Ev[]).filter((e) => e.source?.component === "kube-router-lballoc");
  const got = await until("two Events", 10_000, async () => { const e = await events(); return e.length >= 2 ? e : undefined; });
  console.log(`# Events written ${got.ms} ms after the Services were created`);
  await sleep(2500); // more syncs: nothing repeated
  const all = (await events()).map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.type} ${e.reason}: ${e.message}`).sort();
  assert.deepEqual(all, [
    `Service/second Warning AllocationFailed: Service ${ns}/second: no free ipv4 address in --loadbalancer-ip-range; pending`,
    `Service/third Warning LoadBalancerIPNotHonoured: Service ${ns}/third: spec.loadBalancerIP 203.0.113.50 is outside every --loadbalancer-ip-range; pending`,
  ]);
  await a.stop();
});

test("lballoc (real apiserver): three agents, 200 Services created concurrently: no IP twice, all set within the bound", { skip, timeout: 120_000 }, async () => {
  const ns = `${NS}-many`;
  await k.namespace(ns);
  const cfg = (): NodeConfig => ({ ...config(), loadbalancerIpRange: ["198.51.101.0/24"] });
  const drivers: KubeStatusDriver[] = [];
  const agents: Awaited<ReturnType<typeof startAgentWith>>[] = [];
  for (const id of ["many-1", "many-2", "many-3"]) {
    const d = (await realKubeStatusDriver({ config: cfg(), env: { POD_NAMESPACE: "kube-system", POD_NAME: id }, nodeName: id })) as KubeStatusDriver;
    drivers.push(d);
    agents.push(await startAgentWith(id, d, cfg()));
  }
  await until("one of three leads", 10_000, async () => (drivers.filter((d) => d.role() === "leader").length === 1 ? true : undefined));
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 200 }, (_, i) => k.create("services", { metadata: { name: `s${i}`, namespace: ns }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] } })));
  const created = Date.now() - t0;
  const all = await until("200 Services have an IP", 20_000, async () => {
    const r = await api!.request("GET", `/api/v1/namespaces/${ns}/services`);
    const items = (r.body["items"] as { metadata: { name: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[]);
    const ips = items.map((s) => s.status?.loadBalancer?.ingress?.[0]?.ip);
    return ips.length === 200 && ips.every((x) => x !== undefined) ? ips as string[] : undefined;
  });
  console.log(`# 200 Services: created in ${created} ms, all with an IP ${all.ms + created} ms after the first create`);
  const heldBack = agents.flatMap((a) => a.logs()).filter((l) => /not yet seen by the render|has not seen yet/.test(String(l["err"] ?? l["msg"]))).length;
  const failed = agents.flatMap((a) => a.logs()).filter((l) => String(l["msg"]).includes("sync failed")).length;
  console.log(`# 200 Services: writes held back for a lagging render: ${heldBack} log lines; lane failures: ${failed}`);
  assert.equal(new Set(all.value).size, 200, "no IP twice");
  assert.ok(all.value.every((ip) => ip.startsWith("198.51.101.")));
  assert.equal(drivers.filter((d) => d.role() === "leader").length, 1);
});
