/**
 * End to end, on the real kernel: the built agent (`kube-router` without --once) runs inside a
 * netns "node" against the in-process Kubernetes API server double, through the real
 * @kubernetes/client-node informers. Nodes created, updated and deleted in the double show up
 * as routes and `kube-router-node-ips` members in the node's kernel within the debounce; a
 * dropped watch recovers without missing a change; /healthz and /metrics are scraped for real;
 * SIGTERM exits 0. Also: API server unreachable at start.
 *
 * Plumbing: the double listens on 127.0.0.1 of the test's own namespace, which the node netns
 * cannot reach; a relay joins them through a unix socket (path-based unix sockets are not
 * network-namespaced): netns 127.0.0.1:6443 → relay process → unix socket → this process →
 * the double. No host interface or route is created.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";
import { type AgentProcess, scrapeIn, spawnAgent, stopAgent, until } from "../support/agent-process.ts";
import { CLI, runCli } from "../support/cli.ts";
import { type DoubleHandle, RESOURCES, kubeconfigText, node, reserveApiDouble } from "../support/kube-api-double/index.ts";
import { parseAllDocuments } from "yaml";

const KUBE_SOURCE = join(import.meta.dirname, "../../src/sources/kube/index.ts");
const skip = kernelSkip || (!existsSync(KUBE_SOURCE) && "the Kubernetes API source (src/sources/kube/index.ts) is not built yet");

const API_PORT = 6443;
const HEALTH = 20244;
const METRICS = 20245;

let dir = "";
let ns = "";
let double: DoubleHandle | undefined;
let relay: ApiRelay | undefined;
const agents = new Set<ChildProcess>();

function kubeconfigFile(): string {
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigText(`http://127.0.0.1:${API_PORT}`));
  return kubeconfig;
}

type Agent = AgentProcess;

function startAgent(extra: string[] = [], input: string[] = ["--kubeconfig", kubeconfigFile()]): Agent {
  return spawnAgent(ns, [
    ...input, "--hostname-override", "node1", "--run-firewall=false", "--run-service-proxy=false",
    "--state-dir", join(dir, "state"), `--health-port=${HEALTH}`, `--metrics-port=${METRICS}`, "--health-addr=127.0.0.1", "--metrics-addr=127.0.0.1",
    "--cache-sync-timeout=1s", ...extra,
  ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni", "10-kuberouter.conf"), KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms" }, agents);
}

const routes = () => nsSh(ns, "ip route show proto 17");
const nodeIps = () => nsSh(ns, "ipset list kube-router-node-ips 2>/dev/null || true");
const scrape = (port: number, path: string) => scrapeIn(ns, port, path);
const k8sNode = (n: number, cidr = `10.244.${n}.0/24`) => node(`node${n}`, { ip: `10.250.0.1${n}`, podCIDR: cidr });


before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-agent-e2e-"));
  ns = addNetns("ag");
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  double = await reserveApiDouble();
  const sock = join(dir, "api.sock");
  relay = await apiRelay(sock, double.api.port);
  await relay.into(ns, API_PORT);
});

after(async () => {
  for (const a of agents) a.kill("SIGKILL");
  await relay?.close();
  await double?.dispose();
  if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("agent e2e: API server unreachable at start: logs why, /healthz 500, retries, no crash; then syncs", { skip }, async () => {
  // Given the API server is down and the agent starts
  const a = startAgent();
  try {
    await until(() => a.logs.some((l) => /not synced after --cache-sync-timeout/.test(String(l["msg"]))), 10_000, "a not-synced log line", a);
    // Then it is alive, unhealthy with a reason, and has changed nothing
    assert.equal(a.proc.exitCode, null);
    const h = scrape(HEALTH, "/healthz");
    assert.equal(h.code, 500);
    assert.match(h.body, /cluster source not synced yet/);
    assert.equal(routes().trim(), "");
    // When the API server comes up with two nodes
    double!.api.create("nodes", k8sNode(1));
    double!.api.create("nodes", k8sNode(2));
    await double!.api.listen();
    // Then the agent syncs and turns healthy
    await until(() => /10\.244\.2\.0\/24 via 10\.250\.0\.12/.test(routes()), 20_000, "route to node2", a);
    await until(() => scrape(HEALTH, "/healthz").code === 200, 5000, "healthy", a);
  } finally {
    assert.equal(await stopAgent(a), 0);
  }
});

test("agent e2e: the kernel follows creates, updates and deletes; watches recover; /healthz, /metrics; SIGTERM exits 0", { skip }, async () => {
  const a = startAgent();
  const timings: Record<string, number> = {};
  try {
    await until(() => scrape(HEALTH, "/healthz").code === 200, 20_000, "healthy", a);
    assert.match(routes(), /10\.244\.2\.0\/24 via 10\.250\.0\.12/);
    await until(() => double!.api.watchCount("nodes") > 0, 5000, "a nodes watch", a);

    // Create: node3 joins → route and set member
    double!.api.create("nodes", k8sNode(3));
    timings["create"] = await until(() => /10\.244\.3\.0\/24 via 10\.250\.0\.13/.test(routes()) && /10\.250\.0\.13/.test(nodeIps()), 5000, "node3 route", a);

    // Update: node2's pod CIDR changes → its route moves
    double!.api.update("nodes", k8sNode(2, "10.244.22.0/24"));
    timings["update"] = await until(() => /10\.244\.22\.0\/24 via 10\.250\.0\.12/.test(routes()) && !/10\.244\.2\.0\/24/.test(routes()), 5000, "node2 route moved", a);

    // Delete: node3 leaves → route and member gone
    double!.api.delete("nodes", "", "node3");
    timings["delete"] = await until(() => !/10\.244\.3\.0/.test(routes()) && !/10\.250\.0\.13/.test(nodeIps()), 5000, "node3 gone", a);

    // Dropped watch: every watch connection is cut and a change is made while they reconnect
    assert.ok(double!.api.dropWatches() > 0);
    double!.api.create("nodes", k8sNode(4));
    timings["after-drop"] = await until(() => /10\.244\.4\.0\/24 via 10\.250\.0\.14/.test(routes()), 15_000, "node4 route after watch drop", a);
    await until(() => double!.api.watchCount("nodes") > 0, 15_000, "watch re-established", a);
    double!.api.delete("nodes", "", "node4");
    await until(() => !/10\.244\.4\.0/.test(routes()), 5000, "node4 gone", a);

    // Each change reached the kernel quickly (debounce 20 ms; generous bound for CI)
    for (const [k, ms] of Object.entries(timings)) if (k !== "after-drop") assert.ok(ms < 2000, `${k} took ${ms} ms`);
    console.log(`# agent e2e: event → kernel ms: ${JSON.stringify(timings)}`);

    // Health and metrics, scraped for real
    const h = scrape(HEALTH, "/healthz");
    assert.deepEqual(h, { code: 200, body: "OK\n" });
    const m = scrape(METRICS, "/metrics");
    assert.equal(m.code, 200);
    assert.match(m.body, /kube_router_syncs_total\{controller="router",mode="full",result="success"\} [1-9]/);
    assert.match(m.body, /kube_router_syncs_total\{controller="router",mode="partial",result="success"\} [1-9]/);
    assert.match(m.body, /kube_router_sync_changes_total\{table="routes",op="create"\} [1-9]/);
    assert.match(m.body, /kube_router_informer_last_event_timestamp_seconds\{resource="nodes"\} \d/);
    assert.match(m.body, /kube_router_host_routes_synced 1/);
    assert.match(m.body, /kube_router_process_resident_memory_bytes \d/);
    assert.match(m.body, /kube_router_build_info\{/);
    // Logs are JSON lines with the plan summary per sync
    assert.ok(a.logs.some((l) => l["level"] === "info" && l["mode"] === "partial" && /Plan: \d+ to add/.test(String(l["summary"]))));
  } finally {
    // SIGTERM: exit 0, servers closed
    assert.equal(await stopAgent(a), 0);
  }
  assert.ok(a.logs.some((l) => l["msg"] === "kube-router agent stopped"));
  assert.equal(scrape(HEALTH, "/healthz").code, 0, "health server closed");
});

test("agent e2e: the requests the agent made are exactly what deploy/'s ClusterRole grants, but for the allocator's (not run here)", { skip }, () => {
  const docs = parseAllDocuments(readFileSync(join(import.meta.dirname, "../../deploy/kube-router-daemonset.yaml"), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
  const role = docs.find((d) => d["kind"] === "ClusterRole") as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
  const granted = new Set(role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g}/${res}`)))));
  const used = new Set(double!.api.requests.map((r) => `${r.verb} ${RESOURCES[r.resource].group}/${r.resource}`));
  // --run-loadbalancer (off here) reads a Service before writing its status and reports allocation problems as Events (test/e2e/lballoc-real.test.ts runs it against the real server)
  const allocator = new Set(["get /services", "update /services/status", "create /events", "patch /events"]);
  assert.deepEqual([...used].sort(), [...granted].filter((g) => !allocator.has(g)).sort());
  for (const g of allocator) assert.ok(granted.has(g), g);
});

test("agent e2e: --dry-run keeps watching and logs each new plan, changing nothing", { skip }, async () => {
  const before = routes();
  const a = startAgent(["--dry-run"]);
  try {
    await until(() => scrape(HEALTH, "/healthz").code === 200, 20_000, "healthy", a);
    double!.api.create("nodes", k8sNode(5));
    await until(() => a.logs.some((l) => /^dry-run: new plan/.test(String(l["msg"])) && /10\.244\.5\.0\/24/.test(String(l["plan"]))), 5000, "a plan with node5's route", a);
    assert.equal(routes(), before, "dry-run changed nothing");
  } finally {
    assert.equal(await stopAgent(a), 0);
    double!.api.delete("nodes", "", "node5");
  }
});

/** Runs the CLI in the node netns without blocking this process (the double and relay live here). */
function runCliAsync(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (b: Buffer) => { stdout += b.toString("utf8"); });
  p.stderr.on("data", (b: Buffer) => { stderr += b.toString("utf8"); });
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  return new Promise((resolve) => p.on("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

test("agent e2e: --once without --snapshot reads the cluster from the API server", { skip }, async () => {
  // Given the node converged by the agent runs above, a one-shot dry run against the API plans nothing
  const r = await runCliAsync(["--kubeconfig", kubeconfigFile(), "--hostname-override", "node1", "--run-firewall=false", "--run-service-proxy=false", "--once", "--dry-run"],
    { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni", "10-kuberouter.conf") });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Plan: 0 to add, 0 to change, 0 to destroy\./);
});

test("agent e2e: a kubeconfig that does not parse exits 1 with one line naming it; so does an unreachable API with --once", { skip }, () => {
  const bad = join(dir, "bad-kubeconfig");
  writeFileSync(bad, "apiVersion: v1\nclusters: [unclosed\n");
  for (const extra of [[], ["--once"]]) {
    const r = runCli(["--kubeconfig", bad, "--hostname-override", "node1", "--health-port=0", ...extra], { ns });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /bad-kubeconfig/);
  }
  const down = join(dir, "down-kubeconfig");
  writeFileSync(down, kubeconfigText("http://127.0.0.1:1"));
  const r = runCli(["--kubeconfig", down, "--hostname-override", "node1", "--once", "--cache-sync-timeout=1s"], { ns });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /caches not synced within --cache-sync-timeout 1s: .*ECONNREFUSED/);
});

test("agent e2e: --snapshot FILE without --once follows the file", { skip }, async () => {
  const nodeDoc = (n: number, cidr: string) => `apiVersion: v1\nkind: Node\nmetadata: {name: node${n}}\nspec: {podCIDR: "${cidr}"}\nstatus: {addresses: [{type: InternalIP, address: 10.250.0.1${n}}]}\n`;
  const file = join(dir, "cluster.yaml");
  const write = (...docs: string[]) => { writeFileSync(`${file}.tmp`, docs.join("---\n")); renameSync(`${file}.tmp`, file); };
  write(nodeDoc(1, "10.244.1.0/24"), nodeDoc(2, "10.244.22.0/24"), nodeDoc(6, "10.244.6.0/24"));
  const a = startAgent([], ["--snapshot", file]);
  try {
    await until(() => /10\.244\.6\.0\/24 via 10\.250\.0\.16/.test(routes()), 10_000, "node6 route from the file", a);
    // When node6 leaves the file (atomic replace, as editors and kubectl pipelines do)
    write(nodeDoc(1, "10.244.1.0/24"), nodeDoc(2, "10.244.22.0/24"));
    await until(() => !/10\.244\.6\.0/.test(routes()), 10_000, "node6 route gone", a);
  } finally {
    assert.equal(await stopAgent(a), 0);
  }
});
