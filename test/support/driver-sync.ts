/**
 * Test support: one sync of a set of drivers through the engine's own observe and compile,
 * so driver tests exercise exactly the path production takes.
 */
import type { Driver } from "../../src/apply/driver.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { compilePlan, observeAll } from "../../src/agent/engine.ts";
import { type NodePlan, diffNode } from "../../src/model/plan.ts";
import type { NodeState } from "../../src/model/state.ts";

/** Observes the drivers' tables (scoped by `desired`). */
export function observeWith(drivers: readonly Driver[], exec: Exec, desired: NodeState): Promise<NodeState> {
  return observeAll(exec, drivers, desired);
}

/** Plans `desired` against the kernel, runs the scripts in order, returns the plan. */
export async function syncWith(drivers: readonly Driver[], exec: Exec, desired: NodeState): Promise<NodePlan> {
  const plan = diffNode(desired, await observeAll(exec, drivers, desired));
  for (const s of compilePlan(drivers, plan)) await s.run(exec);
  return plan;
}
