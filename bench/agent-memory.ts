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
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { dropAllFixtures, makeFixture } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { type SizeName, sizeByName } from "./sizes.ts";
import { median } from "./stats.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { "steady-s": { type: "string", default: "15" }, heap: { type: "string" }, json: { type: "string" } } });
const spec = sizeByName(positionals[0] ?? "L");
if (!spec) throw new Error(`unknown size ${positionals[0]}`);
const ROOT = join(import.meta.dirname, "..");
const MAIN = join(ROOT, "dist", "agent", "main.js");
if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
const g = generateCluster(spec.name as SizeName);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kib = (pid: number, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
};
const mib = (k: number) => Math.round(k / 102.4) / 10;

const scratch = mkdtempSync(join(tmpdir(), "krt-bench-mem-"));
const fx = makeFixture(g.selfIp, g.nodePrefix);
const kids: ReturnType<typeof spawn>[] = [];
const cleanup = () => { for (const k of kids) if (k.exitCode === null && k.pid) try { process.kill(k.pid, "SIGKILL"); } catch { /* gone */ } dropAllFixtures(); rmSync(scratch, { recursive: true, force: true }); };
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { cleanup(); process.exit(130); });
try {
  writeFileSync(join(scratch, "ipvsadm"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(scratch, "ipvsadm"), 0o755);
  const server = spawn("ip", ["netns", "exec", fx.node, process.execPath, ...process.execArgv, join(import.meta.dirname, "agent-source-server.ts"), spec.name], { stdio: ["pipe", "pipe", "inherit"] });
  kids.push(server);
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const ready = ((await lines.next()).value as string | undefined ?? "").split(" ");
  if (ready[0] !== "READY") throw new Error(`server: ${ready.join(" ")}`);
  const args = [
    ...(values.heap ? [`--max-old-space-size=${values.heap}`] : []), MAIN,
    "--kubeconfig", ready[1]!, "--hostname-override", g.selfNode, "--dry-run",
    "--run-router=true", "--run-firewall=true", "--run-service-proxy=true",
    "--health-port=0", "--metrics-port=0",
  ];
  const t0 = performance.now();
  const agent = spawn("ip", ["netns", "exec", fx.node, "env", `PATH=${scratch}:${process.env["PATH"]}`, `KUBE_ROUTER_CNI_CONF_FILE=${join(scratch, "cni", "10-kuberouter.conf")}`, process.execPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  kids.push(agent);
  const pid = agent.pid!;
  let firstSyncAt = 0;
  let peakAtFirstSync = Number.NaN;
  let outBytes = 0;
  const logs: string[] = [];
  const onLine = (l: string) => {
    outBytes += l.length + 1;
    logs.push(l.slice(0, 300));
    if (logs.length > 200) logs.splice(0, 100);
    if (firstSyncAt === 0 && /"msg":"(sync[: ]|dry-run: )/.test(l)) { firstSyncAt = performance.now(); peakAtFirstSync = kib(pid, "VmHWM"); }
  };
  createInterface({ input: agent.stdout! }).on("line", onLine);
  createInterface({ input: agent.stderr! }).on("line", onLine);
  const samples: { t: number; rss: number }[] = [];
  while (firstSyncAt === 0) {
    if (agent.exitCode !== null) throw new Error(`agent exited ${agent.exitCode}: ${logs.slice(-3).join("\n")}`);
    if (performance.now() - t0 > 600_000) throw new Error("no first sync within 10 min");
    samples.push({ t: performance.now() - t0, rss: kib(pid, "VmRSS") });
    await sleep(100);
  }
  const steady: number[] = [];
  const until = performance.now() + Number(values["steady-s"]) * 1000;
  while (performance.now() < until) { steady.push(kib(pid, "VmRSS")); await sleep(100); }
  const report = {
    size: spec.name, heapFlag: values.heap ?? null, firstSyncMs: Math.round(firstSyncAt - t0),
    peakFirstSyncMiB: mib(peakAtFirstSync), peakMiB: mib(kib(pid, "VmHWM")), steadyMedianMiB: mib(median(steady)), steadyMaxMiB: mib(Math.max(...steady)),
    outputMiB: mib(outBytes / 1024), lastSyncLog: logs.filter((l) => l.includes("sync")).slice(-1)[0]?.slice(0, 200) ?? "",
    warnings: logs.filter((l) => /"level":(40|50)/.test(l)).slice(0, 3),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  agent.kill("SIGTERM");
  server.stdin!.write("quit\n");
  await sleep(500);
} finally {
  cleanup();
}
process.exit(0);
