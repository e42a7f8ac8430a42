/**
 * The kernel rows of one size, each run in fresh fixtures (fixture.ts):
 *
 * - ours cold: `syncNode` in apply mode with the real drivers (realExec in the node
 *   namespace), from an empty namespace to converged; wall time, tool calls, writes. No
 *   `verify` re-observe (the CLI's `--once` adds one, about the no-op row's observe part):
 *   the no-op row proves convergence;
 * - ours no-op: a second `syncNode` on the converged namespace; wall time and writes
 *   (recordingExec; must be 0, with an empty plan);
 * - bare cold: in a second fresh fixture, exactly the write commands ours ran (same tools,
 *   same arguments, same stdin: `sysctl -w`, `ip -force -batch -`, `ipset restore -exist`,
 *   `iptables-restore --noflush --wait`), run one after another by one shell inside the
 *   namespace — the bare kernel-tool time of loading the same content (the CNI file write is
 *   not part of it);
 * - bare no-op: `ip -j route show table all proto 17`, `ipset save`, and the backend's
 *   `iptables-save` and `ip6tables-save`, by one shell in the converged namespace.
 *
 * Both bare rows include one `ip netns exec … sh` spawn (about 3 ms), as every real run
 * includes at least one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Exec, ExecCall } from "../src/apply/exec.ts";
import { ReadAhead } from "../src/apply/shared-reads.ts";
import { realExec, recordingExec } from "../src/apply/exec.ts";
import { detectBackend } from "../src/apply/iptables/backend.ts";
import { realDrivers } from "../src/agent/cli.ts";
import { type SyncOutcome, syncNode } from "../src/agent/engine.ts";
import { readHostFacts } from "../src/agent/host-facts.ts";
import { isEmptyPlan, planSummary } from "../src/model/plan.ts";
import { ROUTE_PROTO } from "../src/model/names.ts";
import { nsSh } from "../test/support/netns.ts";
import { dropFixture, makeFixture } from "./fixture.ts";
import type { GeneratedCluster } from "./gen.ts";
import { benchConfig } from "./setup.ts";
import { type Samples, round3, samplesOf, timed, timedAsync } from "./stats.ts";

export interface KernelRun {
  readonly oursColdMs: number;
  readonly bareColdMs: number;
  readonly oursNoopMs: number;
  readonly bareNoopMs: number;
  readonly coldCalls: number;
  readonly coldWrites: number;
  readonly noopCalls: number;
  readonly noopWrites: number;
}

export interface KernelResult {
  readonly runs: readonly KernelRun[];
  readonly oursColdMs: Samples;
  readonly bareColdMs: Samples;
  readonly oursNoopMs: Samples;
  readonly bareNoopMs: Samples;
  /** median ours / median bare. */
  readonly coldRatio: number;
  readonly noopRatio: number;
  readonly coldWrites: number;
  /** Highest write count of any no-op run (0 when converged syncs write nothing). */
  readonly noopWrites: number;
  readonly iptablesBackend: string;
  /** The bare cold commands (stdin size in bytes), in order. */
  readonly bareCommands: readonly string[];
  /** A plan-mode sync of the bare-loaded namespace wants nothing but the CNI file. */
  readonly bareMatchesOurs: boolean;
}

/** Quotes a word for sh when needed. */
const q = (w: string): string => (/^[A-Za-z0-9_./=:,+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);
const cmdline = (c: ExecCall): string => [c.cmd, ...c.args].map(q).join(" ");

function check(what: string, o: SyncOutcome): void {
  if (o.errors.length > 0) throw new Error(`${what}: ${o.errors.join("; ")}`);
}

/** The shell script replaying `calls` with their stdin (written under `dir`). */
function replayScript(calls: readonly ExecCall[], dir: string): string {
  mkdirSync(dir, { recursive: true });
  return calls
    .map((c, i) => {
      if (c.stdin === undefined) return cmdline(c);
      const f = join(dir, `stdin-${i}`);
      writeFileSync(f, c.stdin);
      return `${cmdline(c)} < ${q(f)}`;
    })
    .join(" && ");
}

/** One run in fresh fixtures; `scratch` is an empty directory of this run. */
async function runOnce(g: GeneratedCluster, scratch: string, verifyBare: boolean): Promise<{ run: KernelRun; bare: string[]; backend: string; matches: boolean }> {
  const ours = makeFixture(g.selfIp, g.nodePrefix);
  let bareNs: ReturnType<typeof makeFixture> | undefined;
  try {
    bareNs = makeFixture(g.selfIp, g.nodePrefix);
    // router + firewall: this host kernel has no IPVS (the proxy's kernel rows: proxy.ts, ipvs-vm.ts)
    // BGP off (`once`: the bgp controller runs only in the long-lived agent and needs gobgpd
    // listening on the node IP, i.e. inside this namespace; bench/bgp-driver.ts measures it)
    const cfg = { ...benchConfig(g, join(scratch, "ours", "10-kuberouter.conf")), runServiceProxy: false, once: true };
    const base = realExec({ netns: ours.node });
    const backend = await detectBackend(base, cfg.iptablesBackend);
    const drivers = await realDrivers(base, cfg);
    const readAhead = new ReadAhead(); // as the agent keeps one across its syncs
    const sync = async () => {
      const rec = recordingExec(base);
      const deps = { exec: rec, drivers, readHost: (e: Exec) => readHostFacts(e, cfg.cniConfFile), readAhead };
      const { ms, value } = await timedAsync(() => syncNode(deps, { mode: "apply", config: cfg, nodeName: g.selfNode, snapshot: g.snapshot }));
      return { ms, outcome: value, calls: rec.calls };
    };

    const cold = await sync();
    check("ours cold", cold.outcome);
    const noop = await sync();
    check("ours no-op", noop.outcome);
    if (!isEmptyPlan(noop.outcome.plan) || noop.outcome.ran !== 0) throw new Error(`ours no-op: not converged: ${planSummary(noop.outcome.plan)}`);

    const saves = `ip -j route show table all proto ${ROUTE_PROTO} >/dev/null && ipset save >/dev/null && ${backend.save.ipv4} >/dev/null && ${backend.save.ipv6} >/dev/null`;
    const bareNoopMs = timed(() => nsSh(ours.node, saves)).ms;

    const writes = cold.calls.filter((c) => c.write);
    const script = replayScript(writes, join(scratch, "bare"));
    const bareColdMs = timed(() => nsSh(bareNs!.node, script)).ms;

    let matches = true;
    if (verifyBare) {
      const bcfg = { ...benchConfig(g, join(scratch, "bare", "cni", "10-kuberouter.conf")), runServiceProxy: false, once: true };
      const bexec = realExec({ netns: bareNs.node });
      const plan = await syncNode(
        { exec: bexec, drivers: await realDrivers(bexec, bcfg), readHost: () => readHostFacts(bexec, bcfg.cniConfFile) },
        { mode: "plan", config: bcfg, nodeName: g.selfNode, snapshot: g.snapshot },
      );
      check("bare verify", plan);
      matches = isEmptyPlan({ ...plan.plan, files: [] });
    }
    return {
      run: {
        oursColdMs: round3(cold.ms), bareColdMs: round3(bareColdMs), oursNoopMs: round3(noop.ms), bareNoopMs: round3(bareNoopMs),
        coldCalls: cold.calls.length, coldWrites: writes.length, noopCalls: noop.calls.length, noopWrites: noop.calls.filter((c) => c.write).length,
      },
      bare: writes.map((c) => `${cmdline(c)}${c.stdin !== undefined ? ` < (${Buffer.byteLength(c.stdin)} bytes)` : ""}`),
      backend: backend.mode,
      matches,
    };
  } finally {
    dropFixture(ours);
    if (bareNs) dropFixture(bareNs);
  }
}

/** Measures the kernel rows of `g` over `runs` fresh fixtures; `scratch` is an empty directory. */
export async function runKernel(g: GeneratedCluster, runs: number, scratch: string): Promise<KernelResult> {
  const results: Awaited<ReturnType<typeof runOnce>>[] = [];
  for (let i = 0; i < runs; i++) results.push(await runOnce(g, join(scratch, `run-${i}`), i === 0));
  const list = results.map((r) => r.run);
  const pick = (f: (r: KernelRun) => number) => samplesOf(list.map(f));
  const oursColdMs = pick((r) => r.oursColdMs);
  const bareColdMs = pick((r) => r.bareColdMs);
  const oursNoopMs = pick((r) => r.oursNoopMs);
  const bareNoopMs = pick((r) => r.bareNoopMs);
  return {
    runs: list,
    oursColdMs, bareColdMs, oursNoopMs, bareNoopMs,
    coldRatio: round3(oursColdMs.median / bareColdMs.median),
    noopRatio: round3(oursNoopMs.median / bareNoopMs.median),
    coldWrites: Math.max(...list.map((r) => r.coldWrites)),
    noopWrites: Math.max(...list.map((r) => r.noopWrites)),
    iptablesBackend: results[0]?.backend ?? "",
    bareCommands: results[0]?.bare ?? [],
    bareMatchesOurs: results[0]?.matches ?? false,
  };
}
