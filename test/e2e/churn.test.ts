/**
 * The agent under churn (issue 17), on the real kernel: the built agent (router + firewall,
 * real drivers) in a netns "node" against the in-process API server double, through the real
 * informers. 50,000 object changes in 60 s (pods created, relabelled and deleted; endpoint
 * slices rewritten) while the agent's RSS is sampled every 250 ms and /healthz every 200 ms.
 * Then: every change is coalesced into a sync within 1 s after the churn stops (the policy's
 * pod set in the kernel equals the final pods), the node's kernel state equals what a fresh
 * render wants (`--once --dry-run` against the same API plans nothing: exit 0), memory stayed
 * bounded, and /healthz never answered anything but 200.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliAsync, scrapeIn, spawnAgent, startHealthProbe, stopAgent, until } from "../support/agent-process.ts";
import { type DoubleHandle, endpointSlice, kubeconfigText, namespace, networkPolicy, node, pod, reserveApiDouble, service } from "../support/kube-api-double/index.ts";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";

const API_PORT = 6443;
const HEALTH = 20444;
const CHANGES = 50_000;
const CHURN_MS = 60_000;
const PODS = 200;
const SLICES = 50;

let dir = "";
let ns = "";
let double: DoubleHandle | undefined;
let relay: ApiRelay | undefined;
const live = new Set<ChildProcess>();

before(async () => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-churn-"));
  ns = addNetns("churn");
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

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

test("given the agent synced against the API double, when 50,000 pod and endpoint-slice changes arrive in 60 s, then memory stays bounded, /healthz stays 200, the final state is synced within 1 s of the churn's end and equals a fresh render", { skip: kernelSkip, timeout: 150_000 }, async () => {
  const api = double!.api;
  // Given a cluster: this node and another, a policy selecting app=web pods, a Service
  api.create("nodes", node("node1", { ip: "10.250.0.11", podCIDR: "10.244.1.0/24" }));
  api.create("nodes", node("node2", { ip: "10.250.0.12", podCIDR: "10.244.2.0/24" }));
  api.create("namespaces", namespace("default"));
  api.create("networkpolicies", networkPolicy("default", "web", { app: "web" }));
  api.create("services", service("default", "web"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigText(`http://127.0.0.1:${API_PORT}`));
  const common = ["--kubeconfig", kubeconfig, "--hostname-override", "node1", "--run-service-proxy=false", "--enable-pod-egress=false", "--state-dir", join(dir, "state")];
  const env = { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "10-kuberouter.conf") };
  const a = spawnAgent(ns, [...common, `--health-port=${HEALTH}`, "--health-addr=127.0.0.1", "--metrics-port=0", "--cache-sync-timeout=5s"], env, live);
  await until(() => scrapeIn(ns, HEALTH, "/healthz").code === 200, 30_000, "healthy", a, 200);

  // Samplers: RSS every 250 ms, /healthz every 200 ms (from a child, so churn does not starve them)
  const rss: number[] = [];
  const health: number[] = [];
  const rssTimer = setInterval(() => { try { rss.push(rssKb(a.proc.pid!)); } catch { /* exited: caught below */ } }, 250);
  const healthProbe = startHealthProbe(ns, HEALTH, live);
  try {
    // When 50,000 changes arrive in 60 s
    const pods = new Map<string, { ip: string; web: boolean }>();
    const podObj = (name: string, p: { ip: string; web: boolean }) => pod("default", name, { ip: p.ip, nodeName: "node1", labels: { app: p.web ? "web" : "other" } });
    for (let i = 0; i < SLICES; i++) api.create("endpointslices", endpointSlice("default", `web-${i}`, "web", [`10.244.1.${(i % 250) + 2}`]));
    let done = 0;
    let seed = 17;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const t0 = Date.now();
    while (done < CHANGES) {
      const due = Math.min(CHANGES, Math.floor(((Date.now() - t0) / CHURN_MS) * CHANGES) + 1);
      for (; done < due; done++) {
        if (done % 5 === 4) {
          const i = rand(SLICES);
          api.update("endpointslices", endpointSlice("default", `web-${i}`, "web", [`10.244.1.${rand(250) + 2}`, `10.244.2.${rand(250) + 2}`]));
          continue;
        }
        const n = rand(PODS);
        const name = `p${n}`;
        const cur = pods.get(name);
        const op = rand(3);
        if (cur === undefined) {
          const p = { ip: `10.244.1.${n + 2}`, web: rand(2) === 0 };
          pods.set(name, p);
          api.create("pods", podObj(name, p));
        } else if (op === 0) {
          pods.delete(name);
          api.delete("pods", "default", name);
        } else {
          const p = { ...cur, web: !cur.web };
          pods.set(name, p);
          api.update("pods", podObj(name, p));
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const churnMs = Date.now() - t0;
    const stoppedAt = Date.now();
    // Then the final pod set is in the kernel within 1 s
    const want = [...pods.values()].filter((p) => p.web).map((p) => p.ip).sort().join(" ");
    const webSet = () => nsSh(ns, "ipset save").split("\n").filter((l) => l.startsWith("add KUBE-DST-")).reduce((m, l) => {
      const [, set, ip] = l.split(" ");
      m.set(set!, [...(m.get(set!) ?? []), ip!]);
      return m;
    }, new Map<string, string[]>());
    const synced = () => [...webSet().values()].some((ips) => [...ips].sort().join(" ") === want);
    await until(synced, 5_000, "the final pods in the policy's set", a, 20);
    const convergeMs = Date.now() - stoppedAt;
    clearInterval(rssTimer);
    health.push(...(await healthProbe.stop()));
    const peakMb = Math.max(...rss) / 1024;
    const baseMb = rss[0]! / 1024;
    const healthBad = health.filter((c) => c !== 200);
    console.log(`churn: ${CHANGES} changes in ${churnMs} ms; agent RSS ${baseMb.toFixed(0)} MB at start, peak ${peakMb.toFixed(0)} MB; final state in the kernel ${convergeMs} ms after the churn stopped; ${health.length} /healthz samples, ${healthBad.length} not 200`);
    assert.ok(convergeMs <= 1_000, `converged ${convergeMs} ms after the churn stopped`);
    assert.ok(churnMs <= CHURN_MS + 5_000, `the churn itself took ${churnMs} ms`);
    // and memory stayed bounded
    assert.ok(peakMb < 400, `peak RSS ${peakMb.toFixed(0)} MB`);
    // and /healthz never flapped
    assert.ok(health.length >= CHURN_MS / 200 / 2, `only ${health.length} health samples`);
    assert.deepEqual(healthBad, []);
    assert.equal(a.proc.exitCode, null);
    // and the kernel equals a fresh render: --once --dry-run against the same API plans nothing
    // (a child process: the double and its relay live in this process's event loop)
    const fresh = await runCliAsync(ns, [...common, "--once", "--dry-run", "--cache-sync-timeout=10s"], env, live);
    assert.equal(fresh.code, 0, `${fresh.stdout}\n${fresh.stderr}`);
  } finally {
    clearInterval(rssTimer);
    await healthProbe.stop();
    assert.equal(await stopAgent(a), 0);
  }
});
