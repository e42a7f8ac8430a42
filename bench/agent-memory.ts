/**
 * RSS of the BUILT agent (dist/agent/main.js, not under tsx) against the API double serving a
 * generated cluster (default L), all controllers on (router, firewall, proxy; BGP is the
 * router's lane), in dry-run, inside a fresh fixture namespace (bench/fixture.ts) where the
 * API double also runs (so the agent reaches it on 127.0.0.1). This host has no IPVS: an
 * `ipvsadm` shim first on the agent's PATH answers every call with nothing (an empty IPVS
 * table), so the proxy renders and plans all its services and real servers.
 *
 *   node --import tsx bench/agent-memory.ts [L] [--steady-s 15] [--heap MiB] [--json FILE]
 *
 * Samples /proc/<pid>/status (VmRSS) every 100 ms; peak = VmHWM when the first sync's log line
 * appears; steady = median VmRSS over `--steady-s` seconds after it. `--heap` passes
 * --max-old-space-size. Needs root and `npm run build`. The first sync is the first `sync:` or
 * `dry-run: new plan` log line.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BuiltAgent, startBuiltAgent } from "./agent-harness.ts";
import { dropAllFixtures, makeFixture } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { type SizeName, type SizeSpec, sizeByName } from "./sizes.ts";
import { median } from "./stats.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { "steady-s": { type: "string", default: "15" }, heap: { type: "string" }, json: { type: "string" } } });
const named = sizeByName(positionals[0] ?? "L");
if (!named) throw new Error(`unknown size ${positionals[0]}`);
const size: SizeSpec = named;
const g = generateCluster(size.name as SizeName);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kib = (pid: number, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
};
const mib = (k: number) => Math.round(k / 102.4) / 10;

const scratch = mkdtempSync(join(tmpdir(), "krt-bench-mem-"));
const fx = makeFixture(g.selfIp, g.nodePrefix);
let agent: BuiltAgent | undefined;
const cleanup = () => { if (agent && !agent.exited()) try { process.kill(agent.pid, "SIGKILL"); } catch { /* gone */ } dropAllFixtures(); rmSync(scratch, { recursive: true, force: true }); };
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { cleanup(); process.exit(130); });
try {
  writeFileSync(join(scratch, "ipvsadm"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(scratch, "ipvsadm"), 0o755);
  const a = await startBuiltAgent({
    fx, spec: size,
    nodeArgs: values.heap ? [`--max-old-space-size=${values.heap}`] : [],
    agentArgs: ["--hostname-override", g.selfNode, "--dry-run", "--run-router=true", "--run-firewall=true", "--run-service-proxy=true", "--health-port=0", "--metrics-port=0"],
    env: { KUBE_ROUTER_CNI_CONF_FILE: join(scratch, "cni", "10-kuberouter.conf") },
    pathPrefix: scratch,
  });
  agent = a;
  let firstSyncAt = 0;
  let peakAtFirstSync = Number.NaN;
  const first = a.waitLog(/"msg":"(sync[: ]|dry-run: )/).then((hit) => { firstSyncAt = hit.ms; peakAtFirstSync = kib(a.pid, "VmHWM"); });
  first.catch(() => undefined);
  const samples: { t: number; rss: number }[] = [];
  while (firstSyncAt === 0) {
    if (a.exited()) { await first; throw new Error(`agent exited: ${a.logs.slice(-3).join("\n")}`); }
    if (performance.now() - a.spawnedAt > 600_000) throw new Error("no first sync within 10 min");
    samples.push({ t: performance.now() - a.spawnedAt, rss: kib(a.pid, "VmRSS") });
    await sleep(100);
  }
  const steady: number[] = [];
  const until = performance.now() + Number(values["steady-s"]) * 1000;
  while (performance.now() < until) { steady.push(kib(a.pid, "VmRSS")); await sleep(100); }
  const report = {
    size: size.name, heapFlag: values.heap ?? null, firstSyncMs: Math.round(firstSyncAt),
    peakFirstSyncMiB: mib(peakAtFirstSync), peakMiB: mib(kib(a.pid, "VmHWM")), steadyMedianMiB: mib(median(steady)), steadyMaxMiB: mib(Math.max(...steady)),
    outputMiB: mib(a.outBytes() / 1024), lastSyncLog: a.logs.filter((l) => l.includes("sync")).slice(-1)[0]?.slice(0, 200) ?? "",
    warnings: a.logs.filter((l) => /"level":(40|50)/.test(l)).slice(0, 3),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  await a.stop();
} finally {
  cleanup();
}
process.exit(0);
