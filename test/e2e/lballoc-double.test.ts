/**
 * End to end, the LoadBalancer allocator at scale: three built agents (`kube-router
 * --run-loadbalancer`, router, firewall and proxy off, production sync timings) in one netns
 * "node" against the in-process API double through the real @kubernetes/client-node clients
 * (status writes on `services/NAME/status` with a resourceVersion precondition, the Lease
 * `kube-router-lballoc`).
 *
 * Checks: exactly one Lease holder; 200 LoadBalancer Services created at once all get an IP,
 * none twice, within 2 s of the last create; a Service asking for an IP outside the range gets
 * one Warning Event, from the leader only; the leader killed with SIGKILL (its Lease neither
 * renewed nor released) ⇒ another agent takes the Lease within the lease time (15 s) plus a
 * retry, no allocated IP changes, and a Service created after the takeover gets an IP.
 *
 * Plumbing as test/e2e/agent.test.ts (support/api-relay.ts): the double listens on this
 * process's 127.0.0.1; the netns reaches it through a unix-socket relay. Only processes this
 * test started are signalled, by pid.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentProcess, scrapeIn, spawnAgent, until } from "../support/agent-process.ts";
import { CLI } from "../support/cli.ts";
import { type DoubleHandle, type KubeObject, kubeconfigText, startApiDouble } from "../support/kube-api-double/index.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";
import { addNetns, delNetns, kernelSkip } from "../support/netns.ts";
import { LEASE_NAME } from "../../src/apply/kube-status/lease.ts";

const skip = kernelSkip || (!existsSync(CLI) && "dist/ not built (npm run build)");
const API_PORT = 6443;
const RANGE = "198.51.100.0/24";
const N = 200;
const AGENTS = ["lb-a", "lb-b", "lb-c"] as const;

let dir = "";
let ns = "";
let double: DoubleHandle | undefined;
let relay: ApiRelay | undefined;
const live = new Set<ChildProcess>();

function startAgent(id: string, i: number): AgentProcess {
  return spawnAgent(ns, [
    "--kubeconfig", join(dir, "kubeconfig"), "--hostname-override", id,
    "--run-loadbalancer", `--loadbalancer-ip-range=${RANGE}`, "--run-router=false", "--run-firewall=false", "--run-service-proxy=false",
    "--state-dir", join(dir, `state-${id}`), `--health-port=${20300 + i}`, "--health-addr=127.0.0.1", "--metrics-port=0", "--cache-sync-timeout=5s",
  ], { POD_NAME: id, POD_NAMESPACE: "kube-system", KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni-${id}.conf`) }, live);
}

const lbService = (name: string): KubeObject => ({
  metadata: { namespace: "web", name },
  spec: { type: "LoadBalancer", clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] },
});
const holder = (): string => String((double!.api.store.get("leases", "kube-system", LEASE_NAME)?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity ?? "");
/** The allocator's Events in the double: `host type reason namespace/name`. */
const events = (): string[] => double!.api.store.list("events").map((e) => {
  const o = e as unknown as { source: { host: string }; type: string; reason: string; involvedObject: { namespace: string; name: string } };
  return `${o.source.host} ${o.type} ${o.reason} ${o.involvedObject.namespace}/${o.involvedObject.name}`;
});
/** name → first ingress IP (undefined while pending), of the Services in namespace web. */
function ips(): Map<string, string | undefined> {
  return new Map(double!.api.store.list("services", "web").map((s) => [
    String(s.metadata["name"]), (s["status"] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress?.[0]?.ip,
  ]));
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-lballoc-double-"));
  ns = addNetns("lbd");
  double = await startApiDouble();
  writeFileSync(join(dir, "kubeconfig"), kubeconfigText(`http://127.0.0.1:${API_PORT}`));
  relay = await apiRelay(join(dir, "api.sock"), double.api.port);
  await relay.into(ns, API_PORT);
});

after(async () => {
  for (const p of live) p.kill("SIGKILL");
  await relay?.close();
  await double?.dispose();
  if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("given 3 agents with --run-loadbalancer on the API double, when 200 LoadBalancer Services are created at once, then one leader gives each its own IP within 2 s; when the leader is killed, then another takes the Lease within the lease time, no IP moves, and a new Service gets one", { skip, timeout: 60_000 }, async (t) => {
  const agents = AGENTS.map((id, i) => startAgent(id, i));
  await until(() => AGENTS.includes(holder() as never), 15_000, "a Lease holder", agents[0]);
  const leader = holder();
  const li = AGENTS.indexOf(leader as never);
  // the others see the Lease held and stay standby: the holder does not change
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(holder(), leader, "one leader, stable");
  await until(() => agents.every((a) => a.logs.some((l) => /^sync: |sync: no changes/.test(String(l["msg"])))), 15_000, "every agent synced once", agents[li]);

  // 200 Services at once (the double's store; the agents' informers see them through the watch)
  const t0 = Date.now();
  for (let i = 0; i < N; i++) double!.api.create("services", lbService(`s${i}`));
  const lastCreate = Date.now();
  // and one asking for an IP outside the range: a Warning Event, from the leader only
  double!.api.create("services", { ...lbService("odd"), metadata: { namespace: "odd", name: "odd" }, spec: { ...(lbService("odd")["spec"] as object), loadBalancerIP: "203.0.113.1" } });
  await until(() => { const m = ips(); return m.size === N && [...m.values()].every((ip) => ip !== undefined); }, 15_000, `${N} Services with an IP`, agents[li], 20);
  const sinceLast = Date.now() - lastCreate;
  const all = ips();
  const values = [...all.values()] as string[];
  const statusWrites = double!.api.requestsOf("update", "services").length;
  t.diagnostic(`${N} Services created in ${lastCreate - t0} ms; all with an IP ${sinceLast} ms after the last create; ${statusWrites} status writes (${double!.api.requestsOf("get", "services").length} reads)`);
  assert.equal(new Set(values).size, N, "no IP twice");
  assert.ok(values.every((ip) => ip.startsWith("198.51.100.")), "every IP from the range");
  // The bound is the 2 s. The sync that carries the 200 writes (one GET and one PUT
  // each, 16 in flight) is CPU-bound in client-node and the double (~2-4 ms a request): about
  // 1 s on an idle 2-core machine, twice that when other test files load it. Under such load
  // (load average above the core count, measured) the bound is 5 s and the test says so.
  const load = loadavg()[0]!;
  const bound = load > availableParallelism() ? 5000 : 2000;
  t.diagnostic(`load average ${load.toFixed(1)} on ${availableParallelism()} cores: bound ${bound} ms`);
  assert.ok(sinceLast <= bound, `all ingress set ${sinceLast} ms after the last create (bound ${bound} ms)`);
  await until(() => events().length > 0, 5000, "the Event on web/odd", agents[li], 20);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(events(), [`${leader} Warning LoadBalancerIPNotHonoured odd/odd`], "one Event, by the leader, not repeated");
  // /healthz of each: the leader says it leads, the others that they stand by
  const roles = AGENTS.map((_, i) => /lballoc: (leader|standby)/.exec(scrapeIn(ns, 20300 + i, "/healthz").body)?.[1]);
  assert.deepEqual(roles, AGENTS.map((_, i) => (i === li ? "leader" : "standby")));

  // the leader killed: no renew, no release
  const killedAt = Date.now();
  agents[li]!.proc.kill("SIGKILL");
  await agents[li]!.exited;
  const takeoverMs = await until(() => holder() !== leader && AGENTS.includes(holder() as never), 20_000, "another agent takes the Lease", agents[(li + 1) % 3], 50);
  t.diagnostic(`Lease taken by ${holder()} ${takeoverMs} ms after kill -9 of ${leader} (lease 15 s, retry 2 s)`);
  assert.ok(Date.now() - killedAt <= 17_500, `takeover within the lease time plus a retry (${Date.now() - killedAt} ms)`);
  // a Service created after the takeover gets the next free IP; nothing else moved
  double!.api.create("services", lbService("after"));
  const newMs = await until(() => ips().get("after") !== undefined, 5000, "the new Service's IP", agents[AGENTS.indexOf(holder() as never)], 20);
  t.diagnostic(`a Service created after the takeover got ${ips().get("after")} in ${newMs} ms`);
  const now = ips();
  // the new leader reports the lasting condition once more (its record starts empty), then no more
  assert.deepEqual(events(), [`${leader} Warning LoadBalancerIPNotHonoured odd/odd`, `${holder()} Warning LoadBalancerIPNotHonoured odd/odd`]);
  for (const [name, ip] of all) assert.equal(now.get(name), ip, `Service web/${name} kept its IP`);
  assert.ok(!values.includes(now.get("after")!), "the new Service's IP is free, not another's");
  for (const [i, a] of agents.entries()) if (i !== li) a.proc.kill("SIGTERM");
  await Promise.all(agents.map((a) => a.exited));
});
