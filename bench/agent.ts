/**
 * Event → kernel latency of the live agent, for one changed object, on the real kernel.
 *
 *   node --import tsx bench/agent.ts [--size M] [--events 21] [--source memory|api|both] [--gap-ms 1200]
 *
 * The generated cluster of `--size` is loaded, node 0 runs the agent runtime in process (all
 * three controllers, upstream's default flags, the loop's default timing: debounce 50 ms,
 * minimum interval 1 s) with every kernel command run inside a fresh fixture namespace
 * (bench/fixture.ts). After the first full sync, each event is one Node joining (then leaving)
 * the cluster, which the router turns into one route create (then delete) and one
 * `kube-router-node-ips` member. Latency = from the change entering the source (memory) or the
 * API server double (api: through the real client-node informers over HTTP) to the end of the
 * apply that programmed it (hook: the agent's onSynced callback), checked in the kernel once
 * the event is done. Events are `--gap-ms` apart (more than the minimum interval, so each
 * event's latency is its own).
 *
 * Needs root (network namespaces). Prints one JSON line per source and a table; exit 1 when
 * p50 exceeds 200 ms at M or an event never reached the kernel.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { realDrivers } from "../src/agent/cli.ts";
import { probeIpvs, readHostFacts } from "../src/agent/host-facts.ts";
import { runAgent } from "../src/agent/runtime/agent.ts";
import { makeLogger, memoryDestination } from "../src/agent/runtime/log.ts";
import { realExec } from "../src/apply/exec.ts";
import type { NodeInfo } from "../src/model/cluster.ts";
import { createKubeSource } from "../src/sources/kube/index.ts";
import type { ClusterSource } from "../src/sources/source.ts";
import { MemorySource } from "../test/support/memory-source.ts";
import { kernelSkip } from "../test/support/netns.ts";
import { apiObjectsOf, nodeObject, startApiDouble } from "../test/support/kube-api-double/index.ts";
import type { ResourceName } from "../test/support/kube-api-double/index.ts";
import { nodeIp, nodeName, podCidr } from "./addressing.ts";
import { dropAllFixtures, dropFixture, makeFixture } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { benchConfig } from "./setup.ts";
import { type SizeName, sizeByName } from "./sizes.ts";

const { values: args } = parseArgs({
  options: {
    size: { type: "string", default: "M" },
    events: { type: "string", default: "21" },
    source: { type: "string", default: "both" },
    "gap-ms": { type: "string", default: "1200" },
  },
});

const scratchDirs = new Set<string>();
const cleanup = () => {
  dropAllFixtures();
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

function extraNode(i: number): NodeInfo {
  return {
    name: nodeName(i), uid: `bench-extra-${i}`, labels: { "kubernetes.io/hostname": nodeName(i) }, annotations: {},
    podCIDR: podCidr(i), podCIDRs: [podCidr(i)], addresses: [{ type: "InternalIP", address: nodeIp(i) }],
  };
}

interface SourceRun {
  readonly source: "memory" | "api";
  readonly controllers: string;
  readonly size: SizeName;
  readonly events: number;
  readonly firstSyncMs: number;
  /** Routes in the kernel after the first full sync (M: nodes − 1 on the connected subnet). */
  readonly routesAfterFirstSync: number;
  readonly latencyMs: { p50: number; p90: number; max: number; min: number };
  readonly missing: number;
  readonly samples: number[];
}

async function runOne(kind: "memory" | "api", size: SizeName, events: number, gapMs: number): Promise<SourceRun> {
  const g = generateCluster(size);
  const scratch = mkdtempSync(join(tmpdir(), "krt-bench-agent-"));
  scratchDirs.add(scratch);
  const fixture = makeFixture(g.selfIp, g.nodePrefix);
  const exec = realExec({ netns: fixture.node });
  // Without IPVS in the kernel the proxy cannot run (it reports that and fails its lane): bench the others.
  const ipvs = await probeIpvs(exec);
  const cfg = { ...benchConfig(g, join(scratch, "cni", "10-kuberouter.conf")), healthPort: 0, metricsPort: 0, runServiceProxy: ipvs.available };
  const logs = memoryDestination();
  const log = makeLogger({ node: g.selfNode, v: 0, dest: logs });
  let double: Awaited<ReturnType<typeof startApiDouble>> | undefined;
  let source: ClusterSource;
  if (kind === "memory") {
    source = new MemorySource(g.snapshot);
  } else {
    double = await startApiDouble();
    const objs = apiObjectsOf(g.snapshot);
    for (const [res, list] of Object.entries(objs) as [ResourceName, object[]][]) for (const o of list) double.api.create(res, o);
    source = createKubeSource({ kubeconfig: double.kubeconfig });
  }
  // The hook: each finished sync reports which bench routes it applied.
  const applied = new Map<string, number>();
  let stop!: () => void;
  const stopped = new Promise<void>((r) => { stop = r; });
  let firstSyncAt = 0;
  const t0 = performance.now();
  const done = runAgent({
    config: cfg, nodeName: g.selfNode, source, log, stop: stopped, processMetrics: false,
    deps: { exec, drivers: await realDrivers(exec, cfg), readHost: () => readHostFacts(exec, cfg.cniConfFile) },
    onSynced: (outcome) => {
      const now = performance.now();
      if (firstSyncAt === 0 && outcome.controllers["router"] === "rendered" && outcome.errors.length === 0) firstSyncAt = now;
      if (outcome.ran === 0) return;
      for (const c of outcome.plan.routes) applied.set(`${c.op} ${c.key}`, now);
    },
  });
  const samples: number[] = [];
  let missing = 0;
  let routesAfterFirstSync = 0;
  try {
    while (firstSyncAt === 0) {
      if (performance.now() - t0 > 120_000) throw new Error(`no successful first sync within 2 min; last logs:\n${logs.text.slice(-6).join("")}`);
      await sleep(20);
    }
    routesAfterFirstSync = execFileSync("ip", ["netns", "exec", fixture.node, "ip", "route", "show", "proto", "17"], { encoding: "utf8" }).trim().split("\n").filter((l) => l).length;
    await sleep(gapMs);
    for (let e = 0; e < events; e++) {
      const i = g.spec.nodes + 1 + Math.floor(e / 2);
      const n = extraNode(i);
      const joining = e % 2 === 0;
      const key = `${joining ? "create" : "delete"} ipv4/main/${n.podCIDR}`;
      const start = performance.now();
      if (kind === "memory") {
        if (joining) (source as MemorySource).put("nodes", n.name, n);
        else (source as MemorySource).delete("nodes", n.name);
      } else if (joining) double!.api.create("nodes", nodeObject(n));
      else double!.api.delete("nodes", "", n.name);
      while (!applied.has(key) && performance.now() - start < 10_000) await sleep(1);
      const at = applied.get(key);
      if (at === undefined) { missing++; continue; }
      samples.push(at - start);
      // Check the kernel really has (or no longer has) the route.
      const routes = execFileSync("ip", ["netns", "exec", fixture.node, "ip", "route", "show", "proto", "17"], { encoding: "utf8" });
      if (routes.includes(`${n.podCIDR} `) !== joining) missing++;
      await sleep(gapMs);
    }
  } finally {
    stop();
    await done;
    await double?.dispose();
    dropFixture(fixture);
    rmSync(scratch, { recursive: true, force: true });
    scratchDirs.delete(scratch);
  }
  const failed = logs.lines().filter((l) => l["level"] === "error").map((l) => String(l["msg"]));
  if (failed.length > 0) process.stderr.write(`[bench agent ${kind}] errors logged: ${[...new Set(failed)].slice(0, 3).join(" | ")}\n`);
  return {
    source: kind, controllers: ["firewall", ...(cfg.runServiceProxy ? ["proxy"] : []), "router"].join(","), size, events, firstSyncMs: Math.round(firstSyncAt - t0), routesAfterFirstSync, missing,
    latencyMs: { p50: r1(pct(samples, 50)), p90: r1(pct(samples, 90)), max: r1(Math.max(...samples)), min: r1(Math.min(...samples)) },
    samples: samples.map(r1),
  };
}

async function main(): Promise<number> {
  if (kernelSkip) { process.stderr.write(`bench agent: skipped: ${kernelSkip}\n`); return 0; }
  const size = sizeByName(args.size ?? "M");
  if (!size) { process.stderr.write(`bench agent: unknown size ${args.size}\n`); return 1; }
  const kinds = args.source === "both" ? (["memory", "api"] as const) : [args.source as "memory" | "api"];
  const onSignal = () => { cleanup(); process.exit(130); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let ok = true;
  const rows: SourceRun[] = [];
  for (const k of kinds) {
    const r = await runOne(k, size.name, Number(args.events), Number(args["gap-ms"]));
    rows.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    if (r.missing > 0 || (size.name === "M" && !(r.latencyMs.p50 <= 200))) ok = false;
  }
  process.stdout.write(`\nevent → kernel, one changed object (${size.name}; debounce 50 ms, min interval 1 s; controllers ${rows[0]?.controllers})\n`);
  process.stdout.write(`source   events  p50 ms  p90 ms  max ms  first full sync ms  missing\n`);
  for (const r of rows) {
    process.stdout.write(`${r.source.padEnd(8)} ${String(r.events).padStart(6)}  ${String(r.latencyMs.p50).padStart(6)}  ${String(r.latencyMs.p90).padStart(6)}  ${String(r.latencyMs.max).padStart(6)}  ${String(r.firstSyncMs).padStart(18)}  ${String(r.missing).padStart(7)}\n`);
  }
  return ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  cleanup();
  process.stderr.write(`bench agent: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
