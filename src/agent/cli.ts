/**
 * The CLI's behaviour, separate from process plumbing so tests can call it.
 *
 * @category agent
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Exec, realExec } from "../apply/exec.ts";
import { formatWarning } from "../model/cluster.ts";
import type { NodeConfig } from "../model/config.ts";
import { isEmptyPlan, planSummary } from "../model/plan.ts";
import { SnapshotError, loadSnapshotFile, snapshotHostProblem } from "../sources/snapshot-file.ts";
import { realDrivers, startDrivers, stopDrivers } from "./drivers.ts";
import { type EngineDeps, type SyncOutcome, syncNode } from "./engine.ts";
import { firstLine } from "./sync-error.ts";
import { refusals } from "./flag-status.ts";
import { parseFlags, usage } from "./flags.ts";
import { readHostFacts } from "./host-facts.ts";
import { formatPlanJson, formatPlanText } from "./printer.ts";
import { VERSION } from "./version.ts";

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

import { resolveNodeName, resolveStateDir } from "./identity.ts";
export { resolveNodeName, resolveStateDir };

export { realDrivers } from "./drivers.ts";

/** Runs the command; resolves to the exit code. */
export async function run(argv: readonly string[], env: Record<string, string | undefined>, io: Io = stdio): Promise<number> {
  const parsed = parseFlags([...argv], env);
  if ("error" in parsed) {
    io.err(`kube-router: ${parsed.error}\n`);
    return 1;
  }
  const cfg = parsed.config;
  if (cfg.help) { io.out(usage()); return 0; }
  if (cfg.version) { io.out(`kube-router-ts ${VERSION}\n`); return 0; }
  // A flag asking for something not built: one-shot runs refuse it (one line, exit 1); the
  // long-running agent logs it, parks that controller and reports it in /healthz (lanes.ts).
  const refused = refusals(cfg);
  if (refused.length > 0 && (cfg.once || cfg.cleanupConfig)) {
    io.err(`kube-router: ${refused.map((r) => r.line).join("; ")}\n`);
    return 1;
  }
  const nodeName = resolveNodeName(cfg);
  // Without --once (and not cleaning up): the long-running agent (runtime/cli-agent.ts).
  // The long-running agent (the Kubernetes client, pino, prom-client) is loaded only
  // when needed: one-shot runs (--once, --dry-run --once, --cleanup-config) start ~4x faster.
  if (!cfg.once && !cfg.cleanupConfig) {
    const { runAgentCli } = await import("./runtime/cli-agent.ts");
    return runAgentCli(cfg, nodeName, env, io, (exec, log) => realDrivers(exec, cfg, { nodeName, log }));
  }
  const exec = realExec(cfg.v >= 2 ? { onCall: (c) => io.err(`exec: ${[c.cmd, ...c.args].join(" ")}\n`) } : {});
  const drivers = await realDrivers(exec, cfg, { nodeName });
  try {
    await startDrivers(drivers);
  } catch (e) {
    io.err(`kube-router: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    return await oneShot(cfg, nodeName, { exec, drivers, readHost: (e) => readHostFacts(e, cfg.cniConfFile) }, io);
  } finally {
    await stopDrivers(drivers);
  }
}

/** `--once` and `--cleanup-config`: one sync with started drivers; resolves to the exit code. */
async function oneShot(cfg: NodeConfig, nodeName: string, deps: EngineDeps, io: Io): Promise<number> {

  if (cfg.cleanupConfig) {
    const outcome = await syncNode(deps, { mode: cfg.dryRun ? "cleanup-plan" : "cleanup", config: cfg, nodeName, verify: true });
    return report(outcome, cfg, io);
  }
  let loaded;
  try {
    // --once without --snapshot: one consistent list of every kind from the API server.
    if (cfg.snapshot === undefined) {
      const { snapshotFromApi } = await import("./runtime/cli-agent.ts");
      const fromApi = await snapshotFromApi(cfg, io);
      if (typeof fromApi === "number") return fromApi;
      loaded = fromApi;
    } else loaded = loadSnapshotFile(cfg.snapshot);
  } catch (e) {
    io.err(`kube-router: ${e instanceof SnapshotError ? e.message : `${cfg.snapshot}: ${(e as Error).message}`}\n`);
    return 1;
  }
  for (const w of loaded.warnings) io.err(`warning: ${formatWarning(w)}\n`);
  const hostProblem = cfg.snapshot === undefined ? undefined : snapshotHostProblem(cfg.snapshot, loaded.snapshot, nodeName, loaded.warnings.length);
  if (hostProblem !== undefined) io.err(`warning: ${hostProblem}\n`);
  if (cfg.runRouter) io.err("warning: bgp: --once leaves BGP alone (gobgpd lives only as long as the agent); run without --once to peer and advertise\n");
  const once = async () => {
    const outcome = await syncNode(deps, { mode: cfg.dryRun ? "plan" : "apply", config: cfg, nodeName, snapshot: loaded.snapshot, verify: true });
    if (!cfg.dryRun && outcome.ran > 0) {
      const failed = saveLastSync(resolveStateDir(cfg, nodeName), outcome);
      if (failed) io.err(`warning: ${failed}\n`);
    }
    return report(outcome, cfg, io);
  };
  return once();
}

/** Prints the outcome and returns the exit code. */
function report(outcome: SyncOutcome, cfg: NodeConfig, io: Io): number {
  for (const w of outcome.warnings) io.err(`warning: ${w}\n`);
  for (const [name, status] of Object.entries(outcome.controllers)) {
    if (status === "not-built") io.err(`warning: ${name} controller is enabled but not built yet; its kernel objects are left as they are\n`);
  }
  if (outcome.reapplied > 0) io.err(`warning: another writer moved our objects right after apply; re-applied ${outcome.reapplied} time(s): ${[...new Set(outcome.displaced.map((d) => d.line))].join("; ")}\n`);
  for (const e of outcome.errors) io.err(`error: ${e}\n`);
  if (cfg.dryRun) {
    io.out(cfg.output === "json" ? formatPlanJson(outcome.plan) : formatPlanText(outcome.plan, outcome.scripts));
    if (outcome.errors.length > 0) return 1;
    return isEmptyPlan(outcome.plan) ? 0 : 2;
  }
  if (cfg.output === "json") io.out(formatPlanJson(outcome.plan));
  else io.out(`${outcome.ran > 0 ? "Applied" : "No changes"}. ${planSummary(outcome.plan)}\n`);
  return outcome.errors.length > 0 ? 1 : 0;
}

/**
 * Records the last applied plan summary in the node's state directory (best effort: the file
 * is informational, so a read-only or full file system must not fail the sync). Returns the
 * one-line warning naming the file when it could not be written.
 */
function saveLastSync(dir: string, outcome: SyncOutcome): string | undefined {
  const file = join(dir, "last-sync.json");
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify({ summary: planSummary(outcome.plan), scripts: outcome.scripts.map((s) => s.title), errors: outcome.errors }, null, 2)}\n`);
    return undefined;
  } catch (e) {
    return `state dir: cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? firstLine(e)}); the sync itself is applied`;
  }
}
