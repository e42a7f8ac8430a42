/**
 * The agent through an API server outage (issue 17, fault e), on the real kernel: the built
 * agent (router + firewall, real drivers) in a netns "node", synced against the in-process API
 * server double through the real informers. Then, for `KRT_API_OUTAGE_S` seconds (default 60),
 * every request is refused: 429 Too Many Requests with `Retry-After: 5` for the first half, 500
 * for the second; the open watches are dropped and the history compacted at the start, so every
 * informer must come back and relist. A node is added during the outage.
 *
 * Then: the agent does not crash; every kind's requests are spaced by at least the Retry-After
 * in the 429 half and by the backoff (near its 10 s cap) in the 500 half, so the request rate
 * stays bounded; /healthz answers 200 throughout (the documented policy, health.ts: a synced
 * source going through a passing outage keeps the node's last state and is not unhealthy; only
 * a refusal that will not pass — 401/403 — is); and the node added during the outage is routed
 * in the kernel within the backoff cap (10 s) plus a relist of the outage's end.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scrapeIn, spawnAgent, startHealthProbe, stopAgent, until } from "../support/agent-process.ts";
import { type DoubleHandle, type RequestRecord, kubeconfigText, namespace, networkPolicy, node, reserveApiDouble } from "../support/kube-api-double/index.ts";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";

const API_PORT = 6443;
const HEALTH = 20544;
const OUTAGE_MS = Number(process.env["KRT_API_OUTAGE_S"] ?? "60") * 1000;
const RETRY_AFTER_S = 5;
/** The kube source's backoff cap (DESIGN §10) less its 20 % jitter. */
const BACKOFF_FLOOR_AT_CAP_MS = 8_000;

let dir = "";
let ns = "";
let double: DoubleHandle | undefined;
let relay: ApiRelay | undefined;
const live = new Set<ChildProcess>();

before(async () => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-apifaults-"));
  ns = addNetns("apif");
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  double = await reserveApiDouble();
  await double.api.listen();
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

interface Stamped { readonly at: number; readonly r: RequestRecord }

/** Stamps each request the double records from now on with the time it was first seen (every 20 ms). */
function stampRequests(requests: readonly RequestRecord[]): { stop: () => Stamped[] } {
  const from = requests.length;
  const seen: Stamped[] = [];
  const take = () => { for (let i = from + seen.length; i < requests.length; i++) seen.push({ at: Date.now(), r: requests[i]! }); };
  const t = setInterval(take, 20);
  return { stop: () => { clearInterval(t); take(); return seen; } };
}

/** The smallest gap between consecutive requests of the same resource in `reqs`, with the resource. */
function smallestGap(reqs: readonly Stamped[]): { ms: number; resource: string } {
  const last = new Map<string, number>();
  let best = { ms: Infinity, resource: "" };
  for (const { at, r } of reqs) {
    const prev = last.get(r.resource);
    if (prev !== undefined && at - prev < best.ms) best = { ms: at - prev, resource: r.resource };
    last.set(r.resource, at);
  }
  return best;
}

test(`given the agent synced against the API, when every request is refused for ${OUTAGE_MS / 1000} s (429 with Retry-After, then 500) and its watches dropped, then it does not crash, backs off, stays healthy, and routes a node added during the outage soon after`, { skip: kernelSkip, timeout: OUTAGE_MS + 60_000 }, async () => {
  const api = double!.api;
  // Given a synced agent: this node, another, a policy
  api.create("nodes", node("node1", { ip: "10.250.0.11", podCIDR: "10.244.1.0/24" }));
  api.create("nodes", node("node2", { ip: "10.250.0.12", podCIDR: "10.244.2.0/24" }));
  api.create("namespaces", namespace("default"));
  api.create("networkpolicies", networkPolicy("default", "web", { app: "web" }));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigText(`http://127.0.0.1:${API_PORT}`));
  const a = spawnAgent(ns, [
    "--kubeconfig", kubeconfig, "--hostname-override", "node1", "--run-service-proxy=false", "--state-dir", join(dir, "state"),
    `--health-port=${HEALTH}`, "--health-addr=127.0.0.1", "--metrics-port=0", "--cache-sync-timeout=5s",
  ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "10-kuberouter.conf"), KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms" }, live);
  await until(() => scrapeIn(ns, HEALTH, "/healthz").code === 200, 30_000, "healthy", a, 200);
  await until(() => /10\.244\.2\.0\/24 via 10\.250\.0\.12/.test(nsSh(ns, "ip route show proto 17")), 10_000, "node2 routed", a, 50);
  const health = startHealthProbe(ns, HEALTH, live);
  const stamps = stampRequests(api.requests);
  const kinds = new Set(api.requests.map((r) => r.resource)).size;

  // When every request is refused: 429 + Retry-After for the first half, 500 for the second
  const t0 = Date.now();
  api.failRequests({ status: 429, retryAfterS: RETRY_AFTER_S });
  api.compact();
  api.dropWatches();
  await new Promise((r) => setTimeout(r, 1_000));
  api.create("nodes", node("node3", { ip: "10.250.0.13", podCIDR: "10.244.3.0/24" }));
  await new Promise((r) => setTimeout(r, OUTAGE_MS / 2 - 1_000));
  const half = Date.now();
  api.clearFailures();
  api.failRequests({ status: 500 });
  await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
  const end = Date.now();
  api.clearFailures();
  const routed = /10\.244\.3\.0\/24 via 10\.250\.0\.13/;

  // Then node3 (added during the outage) is routed soon after it ends
  const recoverMs = await until(() => routed.test(nsSh(ns, "ip route show proto 17")), 20_000, "node3 routed after the outage", a, 50);
  const codes = await health.stop();
  const reqs = stamps.stop();
  const in429 = reqs.filter((s) => s.at >= t0 && s.at < half);
  const in500 = reqs.filter((s) => s.at >= half && s.at < end);
  const gap429 = smallestGap(in429);
  const gap500 = smallestGap(in500.filter((s) => s.at >= half + 12_000));
  const rate = (xs: readonly Stamped[], ms: number) => xs.length / (ms / 1000);
  const refusals = a.logs.filter((l) => /HTTP 429/.test(String(l["msg"])));
  console.log(`API outage ${OUTAGE_MS / 1000} s, ${kinds} kinds: ${in429.length} requests in the 429 half (${rate(in429, half - t0).toFixed(2)}/s, smallest per-kind gap ${gap429.ms} ms), ` +
    `${in500.length} in the 500 half (${rate(in500, end - half).toFixed(2)}/s, smallest per-kind gap after its first 12 s ${gap500.ms} ms); ` +
    `node3 routed ${recoverMs} ms after the outage; ${codes.length} /healthz samples, ${codes.filter((c) => c !== 200).length} not 200`);
  assert.equal(a.proc.exitCode, null, "the agent is still running");
  assert.equal(routed.test(nsSh(ns, "ip route show proto 17")), true);
  // the 429s' Retry-After was honoured: no kind asked again sooner
  assert.ok(gap429.ms >= RETRY_AFTER_S * 1000 - 200, `${gap429.resource} asked again after ${gap429.ms} ms`);
  assert.ok(refusals.length > 0 && refusals.every((l) => /retrying in (\d+) ms/.exec(String(l["msg"])) && Number(/retrying in (\d+) ms/.exec(String(l["msg"]))![1]) >= RETRY_AFTER_S * 1000), JSON.stringify(refusals.slice(0, 3)));
  // the 500s met the backoff near its cap: at most one request per kind every 8 s
  assert.ok(gap500.ms >= BACKOFF_FLOOR_AT_CAP_MS - 200, `${gap500.resource} asked again after ${gap500.ms} ms`);
  assert.ok(rate(in429, half - t0) <= (kinds / RETRY_AFTER_S) + 0.5, `${in429.length} requests in the 429 half`);
  assert.ok(rate(in500, end - half) <= kinds / (BACKOFF_FLOOR_AT_CAP_MS / 1000) + 0.5, `${in500.length} requests in the 500 half`);
  // /healthz stayed 200 throughout
  assert.ok(codes.length >= OUTAGE_MS / 200 / 2, `only ${codes.length} health samples`);
  assert.deepEqual(codes.filter((c) => c !== 200), []);
  // and the change reached the kernel within the backoff cap and a relist
  assert.ok(recoverMs <= 12_000, `node3 routed ${recoverMs} ms after the outage`);
  assert.equal(await stopAgent(a), 0);
});
