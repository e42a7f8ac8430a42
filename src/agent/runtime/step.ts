/**
 * One step of the loop: sync a batch of lanes through the engine, then log and count it.
 *
 * - full: render the lanes, observe the kernel, diff, apply, verify (repairs drift);
 * - partial: render the lanes and diff against the state last applied without error (kept in
 *   memory), apply; no kernel read, so the cost follows what changed. Without a trusted state
 *   (start, after any failure) a partial request runs as full.
 * - dry-run: always observes, renders every lane, applies nothing, and logs the plan when it
 *   differs from the last one logged.
 *
 * Lanes not in the batch keep their objects as they are (engine `controllers`). A lane fails
 * when its render fails, or when a driver family it owns tables in (registry ownership)
 * fails to observe, apply or converge; the other lanes of the batch stay healthy. A failed
 * driver invalidates only its own part of the confirmed state: the next partial sync reads
 * just that driver again (engine `reobserve`) and trusts the rest. Never throws.
 *
 * @category agent
 */
import { createHash } from "node:crypto";
import { type EngineDeps, type SyncOutcome, type SyncPhaseMs, syncNode } from "../engine.ts";
import { formatPlanText, planTextParts } from "../printer.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import { isEmptyPlan, planSummary, planTables } from "../../model/plan.ts";
import { type DriverFamily, TABLES, tablesOwnedBy } from "../../model/registry.ts";
import type { NodeState } from "../../model/state.ts";
import type { ControllerName } from "../../render/controller.ts";
import type { Logger } from "./log.ts";
import type { AgentMetrics } from "./metrics.ts";
import type { SyncKind } from "./schedule.ts";

export interface StepEnv {
  readonly deps: EngineDeps;
  readonly config: NodeConfig;
  readonly nodeName: string;
  readonly dryRun: boolean;
  readonly log: Logger;
  readonly metrics?: AgentMetrics;
  readonly now: () => number;
  /** Dry-run: the longest plan text logged as one line (default PLAN_LINE_MAX). */
  readonly planLineMax?: number;
}

/** What the step remembers between syncs. */
export interface StepMemory {
  /** Desired state of the last sync that applied; undefined = observe everything next time. */
  confirmed: NodeState | undefined;
  /** Driver families whose part of `confirmed` is not known (they failed): read again next time. */
  untrusted: ReadonlySet<DriverFamily>;
  /** SHA-256 of the last dry-run plan logged (the text itself, megabytes at L, is not kept). */
  lastPlanDigest: string | undefined;
  /** Render warnings logged by the previous sync (each new one is logged once). */
  warned: ReadonlySet<string>;
  /** Per controller, the render error logged last: the same error again is logged at debug only. */
  renderErrors: Map<string, string>;
  /** Per builtin chain: when a jump re-placement was last logged, and how many since (logged at most once a minute). */
  replacements: Map<string, { loggedMs: number; since: number }>;
  syncs: number;
}

export const newStepMemory = (): StepMemory => ({ confirmed: undefined, untrusted: new Set(), lastPlanDigest: undefined, warned: new Set(), renderErrors: new Map(), replacements: new Map(), syncs: 0 });

export interface LaneResult {
  readonly lane: ControllerName;
  readonly ok: boolean;
  readonly error?: string;
}

export interface StepResult {
  readonly syncId: number;
  /** The mode actually run (a partial without a trusted state runs full). */
  readonly mode: SyncKind;
  readonly lanes: readonly LaneResult[];
  readonly outcome?: SyncOutcome;
}

/** Runs one sync of `lanes` against `snapshot`. */
export async function runStep(env: StepEnv, mem: StepMemory, snapshot: ClusterSnapshot, lanes: readonly ControllerName[], asked: SyncKind): Promise<StepResult> {
  const syncId = ++mem.syncs;
  const partial = asked === "partial" && (env.dryRun || mem.confirmed !== undefined);
  const mode: SyncKind = partial ? "partial" : "full";
  const log = env.log.child({ syncId, mode, controllers: lanes });
  const t0 = env.now();
  let outcome: SyncOutcome;
  try {
    outcome = await syncNode(env.deps, {
      mode: env.dryRun ? "plan" : "apply",
      config: env.config,
      nodeName: env.nodeName,
      snapshot,
      controllers: lanes,
      verify: mode === "full",
      ...(partial && !env.dryRun && mem.confirmed ? { observed: mem.confirmed, reobserve: [...mem.untrusted] } : {}),
    });
  } catch (e) {
    const error = (e as Error).message.split("\n")[0] ?? "sync failed";
    mem.confirmed = undefined;
    mem.untrusted = new Set();
    log.error({ err: error }, "sync failed");
    const seconds = (env.now() - t0) / 1000;
    for (const l of lanes) env.metrics?.syncDone(l, mode, seconds, false, env.now());
    return { syncId, mode, lanes: lanes.map((lane) => ({ lane, ok: false, error })) };
  }
  const ms = env.now() - t0;
  const renderErrors = new Map(outcome.errors.flatMap((e) => (e.phase === "render" && e.where.controller ? [[e.where.controller, String(e)] as const] : [])));
  const failedRender = lanes.filter((l) => outcome.controllers[l] === "failed");
  const syncErrors = outcome.errors.filter((e) => e.phase !== "render");
  const broken = new Set(outcome.failedDrivers);
  const results: LaneResult[] = lanes.map((lane) => {
    if (failedRender.includes(lane)) return { lane, ok: false, error: renderErrors.get(lane) ?? "render failed" };
    const hit = tablesOwnedBy(lane).find((t) => broken.has(TABLES[t].driver));
    if (hit === undefined) return { lane, ok: true };
    const driver = TABLES[hit].driver;
    const err = syncErrors.find((e) => e.where.driver === driver) ?? syncErrors.find((e) => e.where.driver === undefined);
    return { lane, ok: false, error: err ? String(err) : `driver ${driver} failed` };
  });
  if (!env.dryRun) {
    mem.confirmed = outcome.desired;
    mem.untrusted = broken;
  }

  // Metrics.
  const m = env.metrics;
  if (m) {
    for (const r of results) m.syncDone(r.lane, mode, ms / 1000, r.ok, env.now());
    if (!syncErrors.some((e) => e.phase === "observe")) m.desired(outcome.desired);
    if (outcome.controllerWarnings) m.renderWarnings(outcome.controllerWarnings);
    if (!env.dryRun && outcome.ran > 0) m.applied(outcome.plan);
    m.bestEffortFailed(outcome.bestEffortFailures);
    for (const d of outcome.displaced) m.jumpReplaced(d.chain);
  }
  logReplacements(log, mem, outcome, env.now());

  // Logs: summary at info, the full plan at debug; dry-run logs each new plan at info.
  const changes = Object.fromEntries(planTables(outcome.plan).filter((t) => t.changes > 0).map((t) => [t.table, t.counts]));
  const fresh = outcome.warnings.filter((w) => !mem.warned.has(w));
  for (const w of fresh) log.warn({ warning: w }, w);
  mem.warned = new Set(outcome.warnings);
  // A controller that keeps failing the same way (e.g. no IPVS in the kernel) says so once.
  for (const lane of lanes) if (!failedRender.includes(lane)) mem.renderErrors.delete(lane);
  failedRender.forEach((lane) => {
    const err = renderErrors.get(lane) ?? "render failed";
    const repeat = mem.renderErrors.get(lane) === err;
    mem.renderErrors.set(lane, err);
    (repeat ? log.debug.bind(log) : log.error.bind(log))({ controller: lane, err }, `controller ${lane} failed to render; its objects are kept as they are: ${err}`);
  });
  for (const e of syncErrors) log.error({ err: String(e), phase: e.phase, ...(e.where.driver ? { driver: e.where.driver } : {}) }, String(e));
  const summary = planSummary(outcome.plan);
  if (env.dryRun) {
    const parts = planTextParts(outcome.plan, outcome.scripts);
    const hash = createHash("sha256");
    let size = 0;
    for (const p of parts) { hash.update(p).update("\u0000"); size += p.length + 1; }
    const digest = hash.digest("hex");
    if (digest !== mem.lastPlanDigest) {
      mem.lastPlanDigest = digest;
      // a plan of megabytes (L) goes out one script per line, so it is never one string twice
      if (size <= (env.planLineMax ?? PLAN_LINE_MAX)) log.info({ durationMs: ms, summary, changes, plan: parts.join("\n") }, `dry-run: new plan: ${summary}`);
      else {
        log.info({ durationMs: ms, summary, changes, parts: parts.length }, `dry-run: new plan: ${summary}`);
        parts.forEach((p, i) => log.info({ part: i + 1, of: parts.length, plan: p }, `dry-run: new plan, part ${i + 1} of ${parts.length}`));
      }
    } else {
      log.debug({ durationMs: ms, summary }, "dry-run: plan unchanged");
    }
  } else {
    const empty = isEmptyPlan(outcome.plan);
    log.info({ durationMs: ms, phaseMs: roundPhases(outcome.phaseMs), summary, changes, ran: outcome.ran, ok: results.every((r) => r.ok) }, empty ? `sync: no changes` : `sync: ${summary}`);
    if (!empty && log.isLevelEnabled("debug")) log.debug({ plan: formatPlanText(outcome.plan, outcome.scripts) }, "sync plan");
  }
  return { syncId, mode, lanes: results, outcome };
}

/** Dry-run: a plan text longer than this (1 MiB) is logged one script per line after its summary line. */
export const PLAN_LINE_MAX = 1 << 20;

/** A minute: re-placements in one chain are logged at most this often (the metric counts each). */
export const REPLACEMENT_LOG_MS = 60_000;

/**
 * Logs the sync's jump re-placements (another writer inserted a rule above ours) at most once
 * a minute per chain, with how many happened since the last line, so an endless fight with
 * another tool is visible without a line per sync.
 */
function logReplacements(log: Logger, mem: StepMemory, outcome: SyncOutcome, now: number): void {
  for (const d of outcome.displaced) {
    const seen = mem.replacements.get(d.chain);
    if (seen !== undefined && now - seen.loggedMs < REPLACEMENT_LOG_MS) { seen.since++; continue; }
    const since = (seen?.since ?? 0) + 1;
    mem.replacements.set(d.chain, { loggedMs: now, since: 0 });
    log.warn({ chain: d.chain, replacements: since }, `jump re-placed (${since} in ${d.chain} since the last such line): ${d.line}`);
  }
}

/** Phase times rounded to 0.1 ms for the sync log line. */
function roundPhases(p: SyncPhaseMs): Record<string, number> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
