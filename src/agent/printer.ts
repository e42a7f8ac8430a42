/**
 * Dry-run output: the scripts a sync would run, per table, in each tool's own syntax (what an
 * operator would type), then Terraform's summary line; or the plan as JSON (`-o json`).
 *
 * @category agent
 */
import type { Script } from "../apply/driver.ts";
import { type NodePlan, planCounts, planSummary, planTables } from "../model/plan.ts";

/** Human-readable plan: one block per script, then `Plan: A to add, C to change, D to destroy.` */
export function formatPlanText(plan: NodePlan, scripts: readonly Script[]): string {
  return planTextParts(plan, scripts).join("\n");
}

/**
 * The pieces of `formatPlanText`'s text, which joined with "\n" they are: one block per script
 * (`# <title>` then its text), then the summary line. Lets a caller hand out a plan of many
 * megabytes (L) piece by piece instead of as one string.
 */
export function planTextParts(plan: NodePlan, scripts: readonly Script[]): string[] {
  const blocks = scripts.map((s) => `# ${s.title}\n${s.text.endsWith("\n") ? s.text : `${s.text}\n`}`);
  const perTable = planTables(plan)
    .filter((t) => t.changes > 0)
    .map((t) => `${t.table} +${t.counts.add} ~${t.counts.change} -${t.counts.destroy}`);
  const tail = perTable.length > 0 ? `${planSummary(plan).slice(0, -1)} (${perTable.join(", ")}).` : planSummary(plan);
  return [...blocks, `${tail}\n`];
}

/** JSON form of a plan: Sets become sorted arrays; counts included. */
export function formatPlanJson(plan: NodePlan): string {
  const replacer = (_k: string, v: unknown) => (v instanceof Set ? [...v].sort() : v instanceof Map ? Object.fromEntries(v) : v);
  return `${JSON.stringify({ counts: planCounts(plan), summary: planSummary(plan), plan }, replacer, 2)}\n`;
}
