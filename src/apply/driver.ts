/**
 * The driver contract. A driver owns some tables of NodeState for one kernel tool family:
 * it observes them (parsing the tool's dump into the model, owned objects only), compiles a
 * plan into the tool's own batch text (pure), and the engine runs the resulting scripts in
 * `order`. Dry-run prints the same scripts, so it shows exactly what apply would run.
 *
 * @category apply
 */
import type { NodePlan } from "../model/plan.ts";
import type { NodeState, TableName } from "../model/state.ts";
import type { Exec } from "./exec.ts";

/**
 * Global execution order of scripts within one sync. Links and addresses come before routes;
 * ipsets are created and filled before iptables rules reference them and destroyed after
 * rules stop referencing them; files (CNI config) last, once the bridge exists.
 */
export const ORDER = {
  sysctls: 10,
  ipRemove: 20, // ip -batch: deletes of rules, routes, addresses (before links change)
  ipAdd: 30, // ip -batch: links, addresses, routes, rules (creates and updates), then link deletes
  ipsetFill: 40, // ipset restore: create, swap, add, del
  iptables: 50, // iptables-restore --noflush, per family and table
  ipsetDestroy: 60, // ipset restore: destroy
  files: 70,
} as const;

/** One native script: the exact command and stdin a real apply runs, or a file write. */
export interface Script {
  readonly order: number;
  /** The table(s) this script changes, as a heading for dry-run output. */
  readonly title: string;
  /** What an operator would type: the command line and its stdin, or a description of a write. */
  readonly text: string;
  readonly run: (exec: Exec) => Promise<void>;
}

export interface Driver {
  readonly name: string;
  /** The NodeState tables this driver observes and applies. */
  readonly tables: readonly TableName[];
  /**
   * Reads owned state of `tables` from the kernel. `desired` scopes reads that cannot list
   * everything (sysctls and files are read by path). Fails with ExecError if a dump fails.
   */
  observe(exec: Exec, desired: NodeState): Promise<Partial<NodeState>>;
  /** Pure: the scripts that carry out this driver's part of the plan; [] when nothing changes. */
  scripts(plan: NodePlan): Script[];
}
