/**
 * One sync of the node: render (pure) → observe → assemble → diff → scripts → apply.
 * Every kernel change goes through the plan; `plan` mode stops before apply, so dry-run
 * shows exactly what apply would run. Controllers are isolated: one that fails to render
 * keeps its objects as they are and the others still sync.
 *
 * @category agent
 */
import type { Displacement, Driver, PlannedScript } from "../apply/driver.ts";
import type { Exec } from "../apply/exec.ts";
import { type ReadAhead, sharedReads } from "../apply/shared-reads.ts";
import type { ClusterSnapshot } from "../model/cluster.ts";
import type { NodeConfig } from "../model/config.ts";
import type { HostFacts } from "../model/host.ts";
import { type NodePlan, diffNode, isEmptyPlan, planSummary, withoutTables } from "../model/plan.ts";
import { type DriverFamily, TABLES, type TableName } from "../model/registry.ts";
import { unorderedEntries } from "../model/chunked-table.ts";
import type { Table } from "../model/table.ts";
import { type NodeState, TABLE_NAMES, buildNodeState, emptyNodeState, tableOf } from "../model/state.ts";
import { type Rendered, assemble, ownershipContext } from "../render/assemble.ts";
import type { ControllerName } from "../render/controller.ts";
import { CONTROLLERS } from "../render/controllers.ts";
import { renderNode } from "../render/index.ts";
import { SyncError, firstLine } from "./sync-error.ts";

export interface EngineDeps {
  readonly exec: Exec;
  readonly drivers: readonly Driver[];
  /** Reads HostFacts; `exec` is this sync's (reads shared with observe, apply/shared-reads.ts), use it when the reads go through an Exec. */
  readonly readHost: (exec: Exec) => Promise<HostFacts>;
  /** The agent's memory of its last full sync's reads: a full sync starts them all at once (apply/shared-reads.ts). */
  readonly readAhead?: ReadAhead;
}

export type SyncMode = "apply" | "plan" | "cleanup" | "cleanup-plan";

export interface SyncRequest {
  readonly mode: SyncMode;
  readonly config: NodeConfig;
  readonly nodeName: string;
  /** Required unless mode is a cleanup mode. */
  readonly snapshot?: ClusterSnapshot;
  /** After apply, observe again and report an error unless the plan is then empty. */
  readonly verify?: boolean;
  /** Render only these controllers; the others keep their objects exactly as observed. Default: all. */
  readonly controllers?: readonly ControllerName[];
  /** Diff against this state instead of reading the kernel (a partial sync against the last applied state). */
  readonly observed?: NodeState;
  /** With `observed`: read these driver families anyway (their confirmed state was invalidated). */
  readonly reobserve?: readonly DriverFamily[];
}

export interface SyncOutcome {
  /** The assembled desired state (empty when observe failed). */
  readonly desired: NodeState;
  readonly plan: NodePlan;
  readonly scripts: readonly PlannedScript[];
  /** Scripts actually run (0 in plan modes and for a no-op sync). */
  readonly ran: number;
  readonly warnings: readonly string[];
  /** Typed, one line each (`String(e)`); non-empty means the sync did not fully succeed. */
  readonly errors: readonly SyncError[];
  /** Driver families that failed to observe, apply or converge: their tables' state is not known. */
  readonly failedDrivers: readonly DriverFamily[];
  /** Best-effort scripts that failed (each also a warning line); they fail nothing. */
  readonly bestEffortFailures: number;
  /** Owned objects this sync put back after another writer moved them (a jump below a foreign rule), one per re-placement. */
  readonly displaced: readonly Displacement[];
  /** How many times verify found drift right after apply and re-applied (at most MAX_REAPPLY). */
  readonly reapplied: number;
  /** Controller → rendered | disabled | not-built | failed. */
  readonly controllers: Readonly<Record<string, string>>;
  /** Controller → how many render warnings it gave (bad input it skipped or failed closed on). */
  readonly controllerWarnings?: Readonly<Record<string, number>>;
  /** The host facts this sync rendered with (absent for cleanup), so callers need not read them again. */
  readonly host?: HostFacts;
  /** Wall milliseconds per phase of this sync (host facts, render, observe, assemble + diff, compile, apply + verify). */
  readonly phaseMs: SyncPhaseMs;
}

/** Where one sync's time went, in wall milliseconds (`apply` includes verify and re-applies). */
export interface SyncPhaseMs { readonly host: number; readonly render: number; readonly observe: number; readonly diff: number; readonly compile: number; readonly apply: number }

/** HostFacts from `readHost`, plus what drivers read for render (Driver.hostFacts; never rejects). */
export async function readHostWithDrivers(deps: EngineDeps, exec: Exec = deps.exec): Promise<HostFacts> {
  const [base, ...extra] = await Promise.all([deps.readHost(exec), ...deps.drivers.map((d) => (d.hostFacts ? d.hostFacts().catch(() => ({})) : Promise.resolve({})))]);
  return extra.some((e) => Object.keys(e).length > 0) ? Object.assign({}, base, ...extra) as HostFacts : base as HostFacts;
}

/** Reads every driver's owned state; `scope` bounds reads of path-addressed tables. Rejects when any driver fails. */
export async function observeAll(exec: Exec, drivers: readonly Driver[], scope: NodeState): Promise<NodeState> {
  const parts = await Promise.all(drivers.map((d) => d.observe(exec, scope)));
  return Object.assign(emptyNodeState(), ...parts) as NodeState;
}

/**
 * Reads each driver's owned state on its own: a driver that fails leaves its tables empty and
 * is reported in `failed` (one line each); the others' reads are unaffected.
 */
export async function observeEach(exec: Exec, drivers: readonly Driver[], scope: NodeState): Promise<{ state: NodeState; failed: Map<DriverFamily, string> }> {
  const results = await Promise.allSettled(drivers.map((d) => d.observe(exec, scope)));
  const failed = new Map<DriverFamily, string>();
  const parts: Partial<NodeState>[] = [];
  results.forEach((r, i) => (r.status === "fulfilled" ? parts.push(r.value) : failed.set(drivers[i]!.name, firstLine(r.reason))));
  return { state: Object.assign(emptyNodeState(), ...parts) as NodeState, failed };
}

/** All scripts of a plan, in execution order (stable within one order), tagged with their driver. */
export function compilePlan(drivers: readonly Driver[], plan: NodePlan): PlannedScript[] {
  return drivers.flatMap((d) => d.scripts(plan).map((s) => ({ ...s, driver: d.name }))).sort((a, b) => a.order - b.order);
}

/** The tables of some driver families. */
const tablesOf = (families: Iterable<DriverFamily>): Set<TableName> => {
  const f = new Set(families);
  return new Set(TABLE_NAMES.filter((t) => f.has(TABLES[t].driver)));
};

/**
 * Union of what the rendered controllers want (scopes sysctl and file reads, decides IPVS
 * ownership). A table only one controller renders rows for is that controller's table itself
 * (no copy: an unchanged render keeps the scope's identity, so drivers can reuse their last
 * observe; ipvs/driver.ts).
 */
function renderedScope(rendered: readonly Rendered[]): NodeState {
  return buildNodeState((t) => {
    const parts = rendered.flatMap((r) => { const x = r.output?.state[t]; return x !== undefined && x.size > 0 ? [x as Table<unknown>] : []; });
    if (parts.length === 1) return parts[0] as never;
    const last = SCOPES.get(t);
    if (last !== undefined && last.parts.length === parts.length && last.parts.every((p, i) => p === parts[i])) return last.merged as never;
    const into = new Map<string, unknown>();
    for (const part of parts) for (const [k, v] of unorderedEntries(part)) into.set(k, v);
    SCOPES.set(t, { parts, merged: into });
    return into as never;
  });
}

/** The last merged scope of each table and its parts (same parts, same objects ⇒ same scope). */
const SCOPES = new Map<TableName, { parts: readonly Table<unknown>[]; merged: Table<unknown> }>();

/** `base` with the tables of `over`'s families replaced by `over`'s. */
function overlay(base: NodeState, over: NodeState, families: ReadonlySet<DriverFamily>): NodeState {
  return buildNodeState((t) => tableOf(families.has(TABLES[t].driver) ? over : base, t));
}

/** Observe failures as typed errors. */
const observeErrors = (failed: ReadonlyMap<DriverFamily, string>): SyncError[] =>
  [...failed].map(([driver, message]) => new SyncError("observe", message, { driver }));

/**
 * Runs one sync. Never throws for bad input or a failed tool: problems come back as typed
 * `errors` (one line each). Drivers are isolated: one that cannot observe has its tables
 * left out of the plan (nothing of it is changed blind) and is listed in `failedDrivers`;
 * the others sync. In `apply` mode scripts run in order; a failed script is reported and the
 * rest still run (each is atomic on its own or idempotent on retry). With `verify`, drift found
 * right after apply (another writer moved our objects) is re-planned and re-applied up to
 * MAX_REAPPLY times before it is reported; every re-placement is listed in `displaced`.
 * Foreign objects are never deleted or moved: only ours are put back.
 */
export async function syncNode(deps: EngineDeps, req: SyncRequest): Promise<SyncOutcome> {
  const warnings: string[] = [];
  const errors: SyncError[] = [];
  const controllers: Record<string, string> = {};
  const controllerWarnings: Record<string, number> = {};
  const cleanup = req.mode === "cleanup" || req.mode === "cleanup-plan";
  let rendered: Rendered[] = [];
  let host: HostFacts | undefined;
  // this sync's reads: each dump once for host facts and observe (not for verify's re-reads);
  // a full sync starts the last full sync's reads right away (a partial one observes nothing)
  const full = req.observed === undefined;
  const phase = { host: 0, render: 0, observe: 0, diff: 0, compile: 0, apply: 0 };
  let mark = performance.now();
  const reads = sharedReads(deps.exec, full ? deps.readAhead : undefined);
  /** Adds the time since the last lap to `p`. */
  const lap = (p: keyof typeof phase): void => { const now = performance.now(); phase[p] += now - mark; mark = now; };
  /** The phases so far, the time since compile counted as apply. */
  const phases = (): SyncPhaseMs => { lap("apply"); return { ...phase }; };
  if (!cleanup) {
    if (req.snapshot === undefined) throw new Error("syncNode: snapshot required");
    host = await readHostWithDrivers(deps, reads);
    lap("host");
    const only = req.controllers;
    const renders = new Map(renderNode({ snapshot: req.snapshot, config: req.config, host, nodeName: req.nodeName }, only ? CONTROLLERS.filter((c) => only.includes(c.name)) : CONTROLLERS).map((r) => [r.controller, r]));
    for (const controller of CONTROLLERS) {
      const r = renders.get(controller);
      if (r === undefined) { rendered.push({ controller }); continue; }
      controllers[r.controller.name] = r.status;
      const ws = r.result ? ("ok" in r.result ? r.result.ok.warnings : r.result.warnings) : [];
      warnings.push(...ws);
      if (r.result) controllerWarnings[r.controller.name] = ws.length;
      if (r.result && "error" in r.result) errors.push(new SyncError("render", r.result.error, { controller: r.controller.name as ControllerName }));
      rendered.push({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) });
    }
  } else {
    // Cleanup: every controller renders nothing, so every owned object is planned for removal.
    rendered = CONTROLLERS.map((controller) => ({ controller, output: { state: {}, warnings: [] } }));
  }
  const scope = renderedScope(rendered);
  lap("render");
  let observed: NodeState;
  let failed: Map<DriverFamily, string>;
  if (req.observed === undefined) ({ state: observed, failed } = await observeEach(reads, deps.drivers, scope));
  else if ((req.reobserve ?? []).length === 0) ({ observed, failed } = { observed: req.observed, failed: new Map() });
  else {
    const again = new Set(req.reobserve);
    const fresh = await observeEach(deps.exec, deps.drivers.filter((d) => again.has(d.name)), scope);
    observed = overlay(req.observed, fresh.state, again);
    failed = fresh.failed;
  }
  errors.push(...observeErrors(failed));
  if (full) deps.readAhead?.remember(reads.used());
  lap("observe");
  const bgpOn = CONTROLLERS.some((c) => c.name === "bgp" && c.enabled(req.config));
  const { desired, conflicts } = assemble(rendered, observed, ownershipContext(req.snapshot, bgpOn));
  warnings.push(...conflicts);
  const plan = withoutTables(diffNode(desired, observed), tablesOf(failed.keys()));
  lap("diff");
  const scripts = compilePlan(deps.drivers, plan);
  lap("compile");
  let bestEffortFailures = 0;
  const displaced: Displacement[] = [];
  let reapplied = 0;
  const outcome = (ran: number, broken: Iterable<DriverFamily>): SyncOutcome =>
    ({ desired, plan, scripts, ran, warnings, errors, failedDrivers: [...new Set(broken)].sort(), bestEffortFailures, displaced, reapplied, controllers, controllerWarnings, ...(host ? { host } : {}), phaseMs: phases() });
  if (req.mode === "plan" || req.mode === "cleanup-plan") return outcome(0, failed.keys());
  const broken = new Set(failed.keys());
  let ran = 0;
  /** Runs scripts in order; a failed one is reported (best-effort ones only counted) and the rest still run. */
  const runAll = async (list: readonly PlannedScript[]): Promise<void> => {
    for (const s of list) {
      try {
        await s.run(deps.exec);
        ran++;
      } catch (e) {
        if (s.bestEffort) {
          bestEffortFailures++;
          warnings.push(`best-effort step ${s.title} failed (the sync goes on): ${firstLine(e)}`);
          continue;
        }
        broken.add(s.driver);
        errors.push(new SyncError("apply", firstLine(e), { driver: s.driver, object: s.title }));
      }
    }
  };
  displaced.push(...displacedIn(deps.drivers, plan));
  await runAll(scripts);
  if (req.verify && scripts.length > 0) {
    // Re-read only the drivers that had something to do and did it (a driver whose apply
    // failed is already reported and broken: re-reading it adds nothing). Another writer may
    // have moved our objects between apply and this read (a tool inserting its rule at the
    // top of INPUT): re-plan and re-apply what differs, at most MAX_REAPPLY times, then report
    // what is still off, naming the foreign object (Driver.displaced). Also re-read the drivers
    // whose changes another driver's script carried out (an FDB entry goes with its deleted link).
    const touchedBy = (list: readonly PlannedScript[], p: NodePlan) =>
      new Set([...list.map((s) => s.driver), ...TABLE_NAMES.filter((t) => p[t].length > 0).map((t) => TABLES[t].driver)].filter((d) => !broken.has(d)));
    let base = observed;
    let touched = touchedBy(scripts, plan);
    for (;;) {
      const after = await observeEach(deps.exec, deps.drivers.filter((d) => touched.has(d.name)), scope);
      for (const [driver, message] of after.failed) {
        broken.add(driver);
        errors.push(new SyncError("observe", `after apply: ${message}`, { driver }));
      }
      base = overlay(base, after.state, touched);
      const again = withoutTables(diffNode(desired, base), tablesOf(broken));
      if (isEmptyPlan(again)) break;
      const moved = displacedIn(deps.drivers, again);
      if (reapplied === MAX_REAPPLY) {
        const off = new Set(TABLE_NAMES.filter((t) => again[t].length > 0 || (t === "ipsets" && again.ipsetMembers.length > 0)).map((t) => TABLES[t].driver));
        for (const d of off) broken.add(d);
        const why = moved.length > 0 ? ` after ${MAX_REAPPLY} re-applies; another writer keeps moving our objects: ${moved.map((m) => m.line).join("; ")}` : "";
        errors.push(new SyncError("verify", `${planSummary(again)}${why}`, { ...(off.size === 1 ? { driver: [...off][0]! } : {}) }));
        break;
      }
      reapplied++;
      displaced.push(...moved);
      const more = compilePlan(deps.drivers, again);
      await runAll(more);
      touched = touchedBy(more, again);
      if (touched.size === 0) break;
    }
  }
  return outcome(ran, broken);
}

/** How many times one sync re-plans and re-applies what another writer changed right after our apply. */
export const MAX_REAPPLY = 3;

/** What each driver says `plan` puts back after another writer moved it. */
const displacedIn = (drivers: readonly Driver[], plan: NodePlan): Displacement[] => drivers.flatMap((d) => d.displaced?.(plan) ?? []);
