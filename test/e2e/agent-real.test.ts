/**
 * End to end against the real kube-apiserver (test/support/apiserver): the built agent runs in
 * a netns "node" with deploy/'s ServiceAccount identity (static token, RBAC from deploy/'s
 * ClusterRole and binding, created through @kubernetes/client-node), over TLS checked against
 * the generated CA. Nodes created, updated and deleted through the real server become routes
 * and `kube-router-node-ips` members in the node's kernel; the agent rides out a kube-apiserver
 * restart; with one verb missing from the role it stays up, unhealthy, and says which.
 *
 * Plumbing as in agent.test.ts: netns 127.0.0.1:6443 → relay → unix socket → this process →
 * the real server's loopback port (TLS passes through the relays untouched).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";
import { type AgentProcess, scrapeIn, spawnAgent, stopAgent, until as untilReady } from "../support/agent-process.ts";
import { node } from "../support/kube-api-double/index.ts";
import { type RealApiServer, apiserverSkip, startRealApiServer } from "../support/apiserver/index.ts";
import { RealCluster } from "../support/apiserver/cluster.ts";

const skip = kernelSkip || apiserverSkip;

const API_PORT = 6443;
const HEALTH = 20254;
const METRICS = 20255;

let dir = "";
let ns = "";
let api: RealApiServer | undefined;
let k: RealCluster;
let objects: KubernetesObjectApi;
let relay: ApiRelay | undefined;
const agents = new Set<ChildProcess>();

type Doc = KubernetesObject & { rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
const rbacDocs = (): Doc[] => parseAllDocuments(readFileSync(join(import.meta.dirname, "../../deploy/kube-router-daemonset.yaml"), "utf8"))
  .map((d) => d.toJS() as Doc).filter((d) => ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"].includes(d.kind ?? ""));

/** A kubeconfig for the agent in the netns: the relayed port, the real CA, the ServiceAccount's token. */
function agentKubeconfig(): string {
  const p = join(dir, "kubeconfig");
  writeFileSync(p, [
    "apiVersion: v1", "kind: Config",
    "clusters:", "- name: real", "  cluster:", `    server: https://127.0.0.1:${API_PORT}`, `    certificate-authority-data: ${Buffer.from(api!.caPem).toString("base64")}`,
    "users:", "- name: kube-router", "  user:", `    token: ${api!.agentToken}`,
    "contexts:", "- name: real", "  context:", "    cluster: real", "    user: kube-router",
    "current-context: real", "",
  ].join("\n"));
  return p;
}

type Agent = AgentProcess;

function startAgent(): Agent {
  return spawnAgent(ns, [
    "--kubeconfig", agentKubeconfig(), "--hostname-override", "node1", "--run-firewall=false", "--run-service-proxy=false",
    "--state-dir", join(dir, "state"), `--health-port=${HEALTH}`, `--metrics-port=${METRICS}`, "--health-addr=127.0.0.1", "--metrics-addr=127.0.0.1",
    "--cache-sync-timeout=2s",
  ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni", "10-kuberouter.conf"), KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms" }, agents);
}

const until = (pred: () => boolean | Promise<boolean>, ms: number, what: string, agent?: Agent): Promise<number> => untilReady(pred, ms, what, agent, 20);

const routes = () => nsSh(ns, "ip route show proto 17");
const nodeIps = () => nsSh(ns, "ipset list kube-router-node-ips 2>/dev/null || true");
const scrape = (port: number, path: string) => scrapeIn(ns, port, path);
const k8sNode = (n: number, cidr = `10.244.${n}.0/24`) => node(`node${n}`, { ip: `10.250.0.1${n}`, podCIDR: cidr });


async function setRole(rules: Doc["rules"]): Promise<void> {
  const role = rbacDocs().find((d) => d.kind === "ClusterRole")!;
  const current = await objects.read({ apiVersion: role.apiVersion!, kind: role.kind!, metadata: { name: role.metadata!.name! } });
  await objects.replace({ ...current, rules } as KubernetesObject);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-agent-real-"));
  api = await startRealApiServer();
  k = new RealCluster(api);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfig());
  objects = KubernetesObjectApi.makeApiClient(kc);
  for (const d of rbacDocs()) await objects.create(d);
  ns = addNetns("agr");
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  const sock = join(dir, "api.sock");
  relay = await apiRelay(sock, api.port);
  await relay.into(ns, API_PORT);
});

after(async () => {
  for (const a of agents) a.kill("SIGKILL");
  await relay?.close();
  await api?.stop();
  if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("agent e2e (real apiserver): as deploy/'s ServiceAccount the kernel follows node create, update, delete; it rides out an apiserver restart", { skip }, async () => {
  // Given two nodes in the real cluster and the agent started with the ServiceAccount's token
  await k.create("nodes", k8sNode(1));
  await k.create("nodes", k8sNode(2));
  const a = startAgent();
  const timings: Record<string, number> = {};
  try {
    // Then it syncs and turns healthy
    await until(() => scrape(HEALTH, "/healthz").code === 200, 30_000, "healthy", a);
    assert.match(routes(), /10\.244\.2\.0\/24 via 10\.250\.0\.12/);
    // When a node is created, one updated, one deleted
    await k.create("nodes", k8sNode(3));
    timings["create"] = await until(() => /10\.244\.3\.0\/24 via 10\.250\.0\.13/.test(routes()) && /10\.250\.0\.13/.test(nodeIps()), 10_000, "node3 route", a);
    // (podCIDR is immutable on a real server once set; the kubelet's kind of update is the node's addresses, through nodes/status)
    await k.patch("nodes", undefined, "node2/status", { status: { addresses: [{ type: "InternalIP", address: "10.250.0.22" }, { type: "Hostname", address: "node2" }] } });
    timings["update"] = await until(() => /10\.244\.2\.0\/24 via 10\.250\.0\.22/.test(routes()) && /10\.250\.0\.22/.test(nodeIps()) && !/10\.250\.0\.12\b/.test(nodeIps()), 10_000, "node2 route via its new address", a);
    await k.delete("nodes", undefined, "node3");
    timings["delete"] = await until(() => !/10\.244\.3\.0/.test(routes()) && !/10\.250\.0\.13/.test(nodeIps()), 10_000, "node3 gone", a);
    console.log(`# agent e2e (real apiserver): event → kernel ms: ${JSON.stringify(timings)}`);

    // When kube-apiserver restarts and a node joins right after
    await api!.stopApiServer();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.proc.exitCode, null, "the agent survives the outage");
    await api!.startApiServer();
    await k.create("nodes", k8sNode(4));
    // Then the agent catches up and stays healthy
    await until(() => /10\.244\.4\.0\/24 via 10\.250\.0\.14/.test(routes()), 30_000, "node4 route after the restart", a);
    await k.delete("nodes", undefined, "node4");
    await until(() => !/10\.244\.4\.0/.test(routes()), 10_000, "node4 gone", a);
    await until(() => scrape(HEALTH, "/healthz").code === 200, 10_000, "healthy after the restart", a);
    const m = scrape(METRICS, "/metrics");
    assert.match(m.body, /kube_router_informer_last_event_timestamp_seconds\{resource="nodes"\} \d/);
  } finally {
    assert.equal(await stopAgent(a), 0);
  }
});

test("agent e2e (real apiserver): the role without `list` on networkpolicies — the agent stays up, /healthz 500 naming resource and verb", { skip }, async () => {
  const role = rbacDocs().find((d) => d.kind === "ClusterRole")!;
  // (the agent's own Node, so that it can turn healthy once granted; the first test may have made it)
  if ((await api!.request("GET", "/api/v1/nodes/node1")).status === 404) await k.create("nodes", k8sNode(1));
  // Given the ClusterRole with `list` removed for networkpolicies (enforced once the authorizer's cache has it)
  await setRole(role.rules!.map((r) => (r.resources.includes("networkpolicies") ? { ...r, verbs: r.verbs.filter((v) => v !== "list") } : r)));
  await until(async () => (await api!.request("GET", "/apis/networking.k8s.io/v1/networkpolicies", undefined, api!.agentToken)).status === 403, 10_000, "list forbidden");
  const a = startAgent();
  try {
    // Then the agent is alive and unhealthy, and /healthz and the log name the resource and the verb
    const want = /networkPolicies: list \/apis\/networking\.k8s\.io\/v1\/networkpolicies: HTTP 403 Forbidden: .*cannot list resource "networkpolicies" in API group "networking\.k8s\.io"/;
    await until(() => want.test(scrape(HEALTH, "/healthz").body), 20_000, "/healthz naming list networkpolicies", a);
    const h = scrape(HEALTH, "/healthz");
    assert.equal(h.code, 500);
    assert.equal(h.body.trim().split("\n").length, 1, h.body);
    // (the log is JSON: match the message itself, not its escaped form)
    await until(() => a.logs.some((l) => want.test(String(l["msg"]))), 10_000, "the same line in the log", a);
    assert.equal(a.proc.exitCode, null);
    console.log(`# agent e2e (real apiserver) /healthz without list networkpolicies: ${h.body.trim()}`);
    // When the verb is granted again, the agent syncs without a restart
    await setRole(role.rules);
    await until(() => scrape(HEALTH, "/healthz").code === 200, 30_000, "healthy once granted", a);
  } finally {
    await setRole(role.rules);
    assert.equal(await stopAgent(a), 0);
  }
});
