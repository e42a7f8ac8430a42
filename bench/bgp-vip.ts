/**
 * Service added → its VIP in BIRD (issue 10 target: p99 <= 250 ms at M, debounce included).
 *
 *   node --import tsx bench/bgp-vip.ts [--size M] [--samples 50] [--gap-ms 1200]
 *
 * The generated cluster of `--size` is node 0's source (in memory, as bench/agent.ts); node 0
 * runs the agent runtime in process with upstream's default flags and the loop's default timing
 * (debounce 50 ms, minimum interval 1 s), `--advertise-cluster-ip` and BIRD 2 as its external
 * peer (`--peer-router-ips`), every kernel command inside a fresh fixture namespace and gobgpd in
 * it too; BIRD runs in the fixture's peer namespace. After the first sync, when BIRD has the
 * existing VIPs, each sample adds one ClusterIP Service with a new VIP (and its EndpointSlice,
 * one ready endpoint: a Service without any slice advertises nothing) and times from the
 * change entering the source to BIRD showing `<vip>/32` (polled with `birdc show route`, a
 * few ms apart: the poll adds up to one poll period). Samples are `--gap-ms` apart (more than
 * the minimum interval, so each is its own).
 *
 * Needs root, gobgpd (scripts/build-gobgp.sh) and bird2; exit 77 when one is missing. Prints
 * one JSON line and a table; exit 1 when p99 exceeds 250 ms at M or a VIP never showed up.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { realDrivers } from "../src/agent/cli.ts";
import { gobgpDriverOptionsFor } from "../src/agent/drivers.ts";
import { probeIpvs, readHostFacts } from "../src/agent/host-facts.ts";
import { runAgent } from "../src/agent/runtime/agent.ts";
import { makeLogger, memoryDestination } from "../src/agent/runtime/log.ts";
import { realExec } from "../src/apply/exec.ts";
import { gobgpDriver } from "../src/apply/gobgp/driver.ts";
import type { EndpointSliceInfo, ServiceInfo } from "../src/model/cluster.ts";
import { MemorySource } from "../test/support/memory-source.ts";
import { kernelSkip } from "../test/support/netns.ts";
import { gobgpSkip } from "../test/support/gobgp.ts";
import { type Bird, birdSkip, birdc, startBird, stopBird } from "../test/support/bird.ts";
import { PEER_IP, nodeName, podIp, serviceIp } from "./addressing.ts";
import { dropAllFixtures, dropFixture, makeFixture } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { benchConfig } from "./setup.ts";
import { sizeByName } from "./sizes.ts";

const { values: args } = parseArgs({ options: { size: { type: "string", default: "M" }, samples: { type: "string", default: "50" }, "gap-ms": { type: "string", default: "1200" } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const BIRD_ASN = 65099;

function birdHas(bird: Bird, prefix: string): boolean {
  try {
    return birdc(bird, ["show", "route", prefix]).includes(prefix);
  } catch {
    return false; // "Network not found" exits 1
  }
}

function newService(i: number): ServiceInfo {
  return {
    namespace: "default", name: `vip-bench-${i}`, labels: {}, annotations: {}, type: "ClusterIP", clusterIPs: [serviceIp(i)],
    externalIPs: [], loadBalancerIngress: [], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
    sessionAffinity: "None", externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
  };
}

/** The Service's EndpointSlice: one ready endpoint on another node (a Service without any slice advertises nothing). */
function newSlice(svc: ServiceInfo, podIp: string, node: string): EndpointSliceInfo {
  return {
    namespace: svc.namespace, name: `${svc.name}-bench`, serviceName: svc.name, addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [{ addresses: [podIp], ready: true, serving: true, terminating: false, nodeName: node }],
  };
}

async function main(): Promise<number> {
  const why = kernelSkip || gobgpSkip() || birdSkip();
  if (why) { process.stderr.write(`bench bgp-vip: skipped: ${why}\n`); return 77; }
  const size = sizeByName(args.size ?? "M");
  if (!size) { process.stderr.write(`bench bgp-vip: unknown size ${args.size}\n`); return 1; }
  const samples = Number(args.samples);
  const gapMs = Number(args["gap-ms"]);
  const g = generateCluster(size.name);
  const scratch = mkdtempSync(join(tmpdir(), "krt-bench-vip-"));
  const fixture = makeFixture(g.selfIp, g.nodePrefix);
  let bird: Bird | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => { stop = r; });
  let done: Promise<unknown> = Promise.resolve();
  const onSignal = () => { dropAllFixtures(); rmSync(scratch, { recursive: true, force: true }); process.exit(130); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    bird = await startBird(fixture.peer, `router id ${PEER_IP};
protocol device { scan time 10; }
protocol bgp node0 {
  local ${PEER_IP} as ${BIRD_ASN};
  neighbor ${g.selfIp} as 64512;
  hold time 9; keepalive time 3; connect delay time 1; connect retry time 1; error wait time 1, 5;
  ipv4 { import all; export none; };
}
`);
    const exec = realExec({ netns: fixture.node });
    const ipvs = await probeIpvs(exec);
    const cfg = {
      ...benchConfig(g, join(scratch, "cni", "10-kuberouter.conf")), healthPort: 0, metricsPort: 0, runServiceProxy: ipvs.available,
      stateDir: join(scratch, "state"), peerRouterIps: [PEER_IP], peerRouterAsns: [BIRD_ASN], advertiseClusterIp: true,
    };
    // the real drivers, gobgpd in the node's namespace
    const drivers = (await realDrivers(exec, cfg)).map((d) => (d.name === "gobgp" ? gobgpDriver({ ...gobgpDriverOptionsFor(cfg), netns: fixture.node }) : d));
    const source = new MemorySource(g.snapshot);
    const logs = memoryDestination();
    const t0 = performance.now();
    done = runAgent({
      config: cfg, nodeName: g.selfNode, source, log: makeLogger({ node: g.selfNode, v: 0, dest: logs }), stop: stopped, processMetrics: false,
      deps: { exec, drivers, readHost: () => readHostFacts(exec, cfg.cniConfFile) },
    });
    // BIRD has the existing VIPs: the session is up and the first sync advertised
    const first = serviceIp(0);
    while (!birdHas(bird, `${first}/32`)) {
      if (performance.now() - t0 > 120_000) throw new Error(`BIRD never learned ${first}/32; last logs:\n${logs.text.slice(-6).join("")}`);
      await sleep(50);
    }
    const firstMs = performance.now() - t0;
    await sleep(gapMs);
    const lat: number[] = [];
    let missing = 0;
    for (let k = 0; k < samples; k++) {
      const i = size.services + 1000 + k;
      const svc = newService(i);
      const prefix = `${serviceIp(i)}/32`;
      const slice = newSlice(svc, podIp(1, k % 200), nodeName(1));
      const start = performance.now();
      source.put("services", `${svc.namespace}/${svc.name}`, svc);
      source.put("endpointSlices", `${slice.namespace}/${slice.name}`, slice);
      let seen = false;
      while (performance.now() - start < 10_000) {
        if (birdHas(bird, prefix)) { seen = true; break; }
        await sleep(2);
      }
      if (seen) lat.push(performance.now() - start);
      else {
        missing++;
        if (missing === 1) process.stderr.write(`bench bgp-vip: ${prefix} never reached BIRD; last logs:\n${logs.text.slice(-8).join("")}\n`);
      }
      await sleep(gapMs);
    }
    const result = {
      size: size.name, samples, missing, firstSyncToBirdMs: Math.round(firstMs),
      latencyMs: { p50: r1(pct(lat, 50)), p90: r1(pct(lat, 90)), p99: r1(pct(lat, 99)), max: r1(Math.max(...lat)), min: r1(Math.min(...lat)) },
    };
    const partial = logs.lines().filter((l) => l["mode"] === "partial" && typeof l["durationMs"] === "number").map((l) => l["durationMs"] as number);
    if (process.env["KRT_BENCH_DEBUG"]) process.stderr.write(`partial sync durations ms: ${partial.join(" ")}\n${logs.text.filter((l) => l.includes("partial")).slice(-3).join("")}\n`);
    process.stdout.write(`${JSON.stringify({ ...result, partialSyncMsP50: pct(partial, 50) })}\n`);
    process.stdout.write(`\nService added → VIP in BIRD (${size.name}; debounce 50 ms, min interval 1 s; birdc poll every ~2 ms)\n`);
    process.stdout.write(`samples  p50 ms  p90 ms  p99 ms  max ms  missing\n`);
    process.stdout.write(`${String(samples).padStart(7)}  ${String(result.latencyMs.p50).padStart(6)}  ${String(result.latencyMs.p90).padStart(6)}  ${String(result.latencyMs.p99).padStart(6)}  ${String(result.latencyMs.max).padStart(6)}  ${String(missing).padStart(7)}\n`);
    return missing === 0 && (size.name !== "M" || result.latencyMs.p99 <= 250) ? 0 : 1;
  } finally {
    stop();
    await done.catch(() => undefined);
    await stopBird(bird);
    dropFixture(fixture);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  dropAllFixtures();
  process.stderr.write(`bench bgp-vip: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
