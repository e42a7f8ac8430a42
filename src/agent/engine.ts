/**
 * One sync of the node: render (pure) → observe → assemble → diff → scripts → apply.
 * Every kernel change goes through the plan; `plan` mode stops before apply, so dry-run
 * shows exactly what apply would run. Controllers are isolated: one that fails to render
 * keeps its objects as they are and the others still sync.
 *
 * @category agent
 */
import type { Driver, Script } from "../apply/driver.ts";
import type { Exec } from "../apply/exec.ts";
import type { ClusterSnapshot } from "../model/cluster.ts";
import type { NodeConfig } from "../model/config.ts";
import type { HostFacts } from "../model/host.ts";
import { type NodePlan, diffNode, isEmptyPlan, planSummary } from "../model/plan.ts";
import { type NodeState, TABLE_NAMES, emptyNodeState } from "../model/state.ts";
import { type Rendered, assemble } from "../render/assemble.ts";
import type { ControllerName } from "../render/controller.ts";
import { CONTROLLERS } from "../render/controllers.ts";
import { renderNode } from "../render/index.ts";

export interface EngineDeps {
  readonly exec: Exec;
  readonly drivers: readonly Driver[];
  readonly readHost: () => Promise<HostFacts>;
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
}

export interface SyncOutcome {
  /** The assembled desired state (empty when observe failed). */
  readonly desired: NodeState;
  readonly plan: NodePlan;
  readonly scripts: readonly Script[];
  /** Scripts actually run (0 in plan modes and for a no-op sync). */
  readonly ran: number;
  readonly warnings: readonly string[];
  /** One line each; non-empty means the sync did not fully succeed. */
  readonly errors: readonly string[];
  /** Controller → rendered | disabled | not-built | failed. */
  readonly controllers: Readonly<Record<string, string>>;
  /** Controller → how many render warnings it gave (bad input it skipped or failed closed on). */
  readonly controllerWarnings?: Readonly<Record<string, number>>;
  /** The host facts this sync rendered with (absent for cleanup), so callers need not read them again. */
  readonly host?: HostFacts;
}

/** Reads every driver's owned state; `scope` bounds reads of path-addressed tables. */
export async function observeAll(exec: Exec, drivers: readonly Driver[], scope: NodeState): Promise<NodeState> {
  const parts = await Promise.all(drivers.map((d) => d.observe(exec, scope)));
  return Object.assign(emptyNodeState(), ...parts) as NodeState;
}

/** All scripts of a plan, in execution order (stable within one order). */
export function compilePlan(drivers: readonly Driver[], plan: NodePlan): Script[] {
  return drivers.flatMap((d) => d.scripts(plan)).sort((a, b) => a.order - b.order);
}

/** Union of what the rendered controllers want (scopes sysctl and file reads). */
function renderedScope(rendered: readonly Rendered[]): NodeState {
  const scope = emptyNodeState() as unknown as Record<string, Map<string, unknown>>;
  for (const r of rendered) for (const t of TABLE_NAMES) for (const [k, v] of r.output?.state[t] ?? []) scope[t]!.set(k, v);
  return scope as unknown as NodeState;
}

/**
 * Runs one sync. Never throws for bad input or a failed tool: problems come back as
 * `errors` (one line each). In `apply` mode scripts run in order; a failed script is
 * reported and the rest still run (each is atomic on its own or idempotent on retry).
 */
export async function syncNode(deps: EngineDeps, req: SyncRequest): Promise<SyncOutcome> {
  const warnings: string[] = [];
  const errors: string[] = [];
  const controllers: Record<string, string> = {};
  const controllerWarnings: Record<string, number> = {};
  const cleanup = req.mode === "cleanup" || req.mode === "cleanup-plan";
  let rendered: Rendered[] = [];
  let host: HostFacts | undefined;
  if (!cleanup) {
    if (req.snapshot === undefined) throw new Error("syncNode: snapshot required");
    host = await deps.readHost();
    const only = req.controllers;
    const renders = new Map(renderNode({ snapshot: req.snapshot, config: req.config, host, nodeName: req.nodeName }, only ? CONTROLLERS.filter((c) => only.includes(c.name)) : CONTROLLERS).map((r) => [r.controller, r]));
    for (const controller of CONTROLLERS) {
      const r = renders.get(controller);
      if (r === undefined) { rendered.push({ controller }); continue; }
      controllers[r.controller.name] = r.status;
      const ws = r.result ? ("ok" in r.result ? r.result.ok.warnings : r.result.warnings) : [];
      warnings.push(...ws);
      if (r.result) controllerWarnings[r.controller.name] = ws.length;
      if (r.result && "error" in r.result) errors.push(r.result.error);
      rendered.push({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) });
    }
  } else {
    // Cleanup: every controller renders nothing, so every owned object is planned for removal.
    rendered = CONTROLLERS.map((controller) => ({ controller, output: { state: {}, warnings: [] } }));
  }
  const empty = { desired: emptyNodeState(), plan: diffNode(emptyNodeState(), emptyNodeState()), scripts: [], ran: 0, warnings, controllers, controllerWarnings, ...(host ? { host } : {}) };
  let observed: NodeState;
  try {
    observed = req.observed ?? await observeAll(deps.exec, deps.drivers, renderedScope(rendered));
  } catch (e) {
    return { ...empty, errors: [...errors, `observe: ${(e as Error).message}`] };
  }
  const { desired, conflicts } = assemble(rendered, observed);
  warnings.push(...conflicts);
  const plan = diffNode(desired, observed);
  const scripts = compilePlan(deps.drivers, plan);
  if (req.mode === "plan" || req.mode === "cleanup-plan") return { desired, plan, scripts, ran: 0, warnings, errors, controllers, controllerWarnings, ...(host ? { host } : {}) };
  let ran = 0;
  for (const s of scripts) {
    try {
      await s.run(deps.exec);
      ran++;
    } catch (e) {
      errors.push(`apply ${s.title}: ${(e as Error).message}`);
    }
  }
  if (req.verify && scripts.length > 0) {
    try {
      const after = await observeAll(deps.exec, deps.drivers, renderedScope(rendered));
      const again = diffNode(desired, after);
      if (!isEmptyPlan(again)) errors.push(`not converged after apply: ${planSummary(again)}`);
    } catch (e) {
      errors.push(`observe after apply: ${(e as Error).message}`);
    }
  }
  return { desired, plan, scripts, ran, warnings, errors, controllers, controllerWarnings, ...(host ? { host } : {}) };
}
