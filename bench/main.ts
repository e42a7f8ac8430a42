/**
 * `npm run bench [-- [XS] [S] [M] [L] [XL] [--quick] [--no-kernel] [--no-suites] [--compare FILE]]`:
 * benchmarks each size in its own child process (run-size.ts), prints one table, then the cost
 * per API object of every metric at every size run (scaling.ts: is it linear?), and writes
 * every result with date-free metadata to `.bench/results.json` so later runs can be compared.
 *
 * - sizes: default XS S M L; XL (2× L) only when asked; `--quick` runs XS and S only;
 * - `--compare FILE`: after the run, every metric against the same row of FILE (an earlier
 *   results.json) as a ratio, regressions over 15% flagged (and the exit code 1); with
 *   `--current FILE2` nothing runs and FILE2 is compared against FILE;
 * - `--no-suites`: the engine rows only (no per-controller suites);
 * - kernel rows need root (namespaces); when not root they are skipped with the reason and
 *   the pure rows still run; `--no-kernel` skips them on purpose;
 * - after each child exits, any fixture namespace it left (`krt-bnode-<pid>-*`,
 *   `krt-bpeer-<pid>-*`: only that child's) is deleted, whatever happened.
 *
 * - then the per-controller suites (SUITES below: firewall, service proxy, IPVS in the VM,
 *   agent event → kernel, vxlan overlay, API source memory), each a child script printing its own table at
 *   the sizes it is defined for (and only those the run asked for).
 *
 * Exit code: 0 when every size ran and no no-op sync wrote anything, 1 otherwise. An
 * interrupted run (SIGINT/SIGTERM) leaves `.bench/results.json` as it was.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { delNetns, kernelSkip } from "../test/support/netns.ts";
import { FIXTURE_TAGS } from "./fixture.ts";
import { compareResults, readResults } from "./compare.ts";
import { formatTable, sizeRows } from "./report.ts";
import { scalingTable } from "./scaling.ts";
import type { SizeResult } from "./run-size.ts";
import { DEFAULT_SIZES, SIZE_NAMES, type SizeName, sizeByName } from "./sizes.ts";

const ROOT = join(import.meta.dirname, "..");
const RESULTS = join(ROOT, ".bench", "results.json");
const PURE_RUNS: Readonly<Record<SizeName, number>> = { XS: 21, S: 21, M: 21, L: 9, XL: 5 };
const KERNEL_RUNS: Readonly<Record<SizeName, number>> = { XS: 9, S: 9, M: 9, L: 7, XL: 3 };

let interrupted = false;

/**
 * The per-controller suites after the engine rows: script, the sizes it runs at, how it takes
 * them, whether it needs the kernel (root). Exit 77 means "cannot run here" (e.g. no qemu).
 */
interface Suite { title: string; script: string; sizes: readonly SizeName[]; args: (s: readonly SizeName[]) => string[]; kernel: boolean; nodeArgs: readonly string[] }
const SUITES: readonly Suite[] = [
  { title: "firewall (issue 3): cold, no-op, pod added", script: "firewall.ts", sizes: ["M", "L"], args: (s) => [...s], kernel: true, nodeArgs: [] },
  { title: "service proxy (issue 4): one endpoint change render+diff, ipset/iptables cold start", script: "proxy.ts", sizes: ["L"], args: () => ["--size", "L"], kernel: true, nodeArgs: [] },
  { title: "IPVS apply in the qemu VM (issue 4)", script: "ipvs-vm.ts", sizes: ["S", "M"], args: (s) => [...s], kernel: true, nodeArgs: [] },
  { title: "agent (issue 5): event → kernel", script: "agent.ts", sizes: ["M"], args: () => ["--size", "M"], kernel: true, nodeArgs: [] },
  { title: "vxlan overlay (issue 11): 5,000 peers cold vs bare ip+bridge batches, no-op, node added", script: "overlay.ts", sizes: ["L"], args: () => [], kernel: true, nodeArgs: [] },
  { title: "BGP driver (issue 10): 150 peers + 10k paths against a real gobgpd: first apply, no-op sync vs bare List* calls", script: "bgp-driver.ts", sizes: ["L"], args: () => [], kernel: false, nodeArgs: [] },
  { title: "BGP learned routes (issue 10): 5,000 learned paths event → kernel vs bare ip -batch", script: "bgp-learned.ts", sizes: ["L"], args: () => [], kernel: true, nodeArgs: [] },
  { title: "BGP VIP (issue 10): Service added → VIP in BIRD at M, p99", script: "bgp-vip.ts", sizes: ["M"], args: () => ["--size", "M"], kernel: true, nodeArgs: [] },
  { title: "whole node host side (issue 15): router + firewall + proxy (fake IPVS) cold and no-op resync vs bare restores/dumps", script: "resync.ts", sizes: ["L"], args: () => ["--size", "L", "--runs", "5", "--repeat", "3"], kernel: true, nodeArgs: [] },
  { title: "built agent cold start (issue 15): process start → converged kernel at L (router + firewall, API list included) vs list time + bare restores", script: "agent-cold.ts", sizes: ["L"], args: () => ["L", "--runs", "3"], kernel: true, nodeArgs: [] },
  { title: "API source (issue 5): RSS and event → snapshot at L", script: "agent-source.ts", sizes: ["L"], args: () => ["L"], kernel: false, nodeArgs: ["--expose-gc"] },
];

/** Deletes the fixture namespaces a child (by pid) may have left behind. */
function sweep(pid: number | undefined): void {
  if (pid === undefined) return;
  let list = "";
  try {
    list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  } catch { return; }
  const mine = new RegExp(`^krt-(${FIXTURE_TAGS.join("|")})-${pid}-\\d+$`);
  for (const name of list.split("\n").map((l) => l.split(" ")[0] ?? "")) {
    if (!mine.test(name)) continue;
    process.stderr.write(`[bench] deleting leftover namespace ${name}\n`);
    try { delNetns(name); } catch { /* gone meanwhile */ }
  }
}

/** Runs one size in a child; resolves to its result or an error line. */
function runSize(size: SizeName, skip: string | undefined, dir: string): Promise<SizeResult | { size: SizeName; error: string }> {
  const out = join(dir, `${size}.json`);
  const args = [
    ...process.execArgv, join(import.meta.dirname, "run-size.ts"),
    "--size", size, "--pure-runs", String(PURE_RUNS[size]), "--kernel-runs", String(KERNEL_RUNS[size]), "--out", out,
    ...(skip !== undefined ? [`--no-kernel=${skip}`] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (e) => resolve({ size, error: e.message }));
    child.on("close", (code, signal) => {
      if (skip === undefined) sweep(child.pid);
      if (code !== 0) return resolve({ size, error: `child exited ${signal ?? code}` });
      try {
        resolve(JSON.parse(readFileSync(out, "utf8")) as SizeResult);
      } catch (e) {
        resolve({ size, error: `reading ${out}: ${(e as Error).message}` });
      }
    });
  });
}

function tool(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n")[0] ?? "";
  } catch { return "unavailable"; }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false }, "no-kernel": { type: "boolean", default: false }, "no-suites": { type: "boolean", default: false },
      compare: { type: "string" }, current: { type: "string" }, help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write("usage: npm run bench -- [XS] [S] [M] [L] [XL] [--quick] [--no-kernel] [--no-suites] [--compare FILE [--current FILE2]]\n");
    return 0;
  }
  if (values.current !== undefined) {
    if (values.compare === undefined) throw new Error("--current needs --compare FILE");
    const c = compareResults(readResults(values.compare), readResults(values.current));
    process.stdout.write(c.text);
    return c.regressions > 0 ? 1 : 0;
  }
  // read the baseline before the run overwrites .bench/results.json (it may be that file)
  const baseline = values.compare !== undefined ? readResults(values.compare) : undefined;
  const bad = positionals.filter((p) => sizeByName(p) === undefined);
  if (bad.length > 0) {
    process.stderr.write(`bench: unknown size ${bad.join(", ")} (sizes: ${SIZE_NAMES.join(" ")})\n`);
    return 1;
  }
  const sizes: SizeName[] = values.quick ? ["XS", "S"] : positionals.length > 0 ? positionals.map((p) => sizeByName(p)!.name) : [...DEFAULT_SIZES];
  const skip = values["no-kernel"] ? "disabled by --no-kernel" : kernelSkip === false ? undefined : kernelSkip;
  if (skip !== undefined) process.stderr.write(`[bench] kernel rows skipped: ${skip}; pure rows only\n`);

  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { interrupted = true; });
  const dir = mkdtempSync(join(tmpdir(), "krt-bench-out-"));
  const results: (SizeResult | { size: SizeName; error: string })[] = [];
  try {
    for (const size of sizes) {
      if (interrupted) break;
      results.push(await runSize(size, skip, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const ok = results.filter((r): r is SizeResult => !("error" in r));
  const failed = results.filter((r): r is { size: SizeName; error: string } => "error" in r);
  for (const r of ok) if (!("skipped" in r.kernel) && r.kernel.noopWrites > 0) failed.push({ size: r.size.name, error: `no-op sync wrote ${r.kernel.noopWrites} times` });
  process.stdout.write(`\n${formatTable(ok.flatMap(sizeRows))}`);
  if (ok.length > 1) process.stdout.write(`\n# cost per API object (µs or KiB), ${ok.map((r) => r.size.name).join(" → ")}\n${scalingTable(ok)}`);
  // per-controller suites, each its own child script printing its own rows (see each file)
  for (const suite of SUITES) {
    const at = sizes.filter((sz) => suite.sizes.includes(sz));
    if (interrupted || values["no-suites"] || at.length === 0 || (suite.kernel && skip !== undefined)) continue;
    const code = await new Promise<number>((resolve) => {
      process.stdout.write(`\n# ${suite.title}\n`);
      const child = spawn(process.execPath, [...suite.nodeArgs, ...process.execArgv, join(import.meta.dirname, suite.script), ...suite.args(at)], { stdio: ["ignore", "inherit", "inherit"] });
      child.on("close", (c) => { sweep(child.pid); resolve(c ?? 1); });
    });
    if (code !== 0 && code !== 77) failed.push({ size: at[0]!, error: `${suite.script} exited ${code}` });
  }
  for (const f of failed) process.stdout.write(`${f.size}: FAILED: ${f.error}\n`);
  const metadata = {
    sizes,
    quick: values.quick,
    pureRuns: Object.fromEntries(sizes.map((s) => [s, PURE_RUNS[s]])),
    kernelRuns: Object.fromEntries(sizes.map((s) => [s, skip === undefined ? KERNEL_RUNS[s] : 0])),
    kernelSkipped: skip ?? null,
    node: process.version,
    kernel: release(),
    arch: arch(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    iptables: tool("iptables", ["--version"]),
    ipset: tool("ipset", ["--version"]),
    iproute2: tool("ip", ["-V"]),
  };
  if (interrupted) {
    process.stdout.write(`interrupted: ${RESULTS} left as it was\n`);
    return 1;
  }
  mkdirSync(join(ROOT, ".bench"), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify({ metadata, results }, null, 2)}\n`);
  process.stdout.write(`results: ${RESULTS}\n`);
  let regressions = 0;
  if (baseline !== undefined) {
    const c = compareResults(baseline, ok);
    process.stdout.write(`\n# against ${values.compare}\n${c.text}`);
    regressions = c.regressions;
  }
  return failed.length > 0 || regressions > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
