/**
 * NodePlan: the diff of a whole node, per table, as data. Apply executes it; the dry-run
 * printer shows it; nothing else changes the kernel.
 *
 * @category models
 */
import { type Row, TABLE_NAMES, type TableName, tableSpec } from "./registry.ts";
import { type NodeState, buildNodeState } from "./state.ts";
import { type Change, type MemberDiff, type Table, diffMembers, diffTable, patchMembers, patchTable, deepEqual, sortedTable } from "./table.ts";

/** Member changes of one ipset that exists on both sides with the same header. */
export interface IpsetMemberChange extends MemberDiff {
  readonly set: string;
  readonly family: "inet" | "inet6";
}

/**
 * The plan of a whole node: per table, its changes in key order (derived from the registry);
 * for `members` tables, a header change is an update (set replaced by swap) and member adds
 * and dels of rows kept as they are go in `ipsetMembers`.
 */
export type NodePlan = { readonly [K in TableName]: readonly Change<Row<K>>[] } & {
  readonly ipsetMembers: readonly IpsetMemberChange[];
};

/**
 * Member sets already found equal (desired → observed objects). Sets are immutable values, so
 * a pair once equal stays equal; a resync that sees the same objects again (memoised render,
 * cached observe parse) skips walking tens of thousands of members. Never changes a result.
 */
const knownEqual = new WeakMap<object, WeakSet<object>>();
function rememberEqual(a: object, b: object): void {
  let seen = knownEqual.get(a);
  if (seen === undefined) knownEqual.set(a, (seen = new WeakSet()));
  seen.add(b);
}

/**
 * Diffs one table by its registry policy. A (desired, observed) pair of table objects once
 * found equal is remembered the same way as member sets above (tables are immutable; a
 * table's comparator is fixed by the registry): the no-op resync of an unchanged snapshot
 * against an unchanged dump (memoised render, cached observe parse) skips walking the
 * 150k IPVS real servers of size L. Never changes a result.
 */
function diffOne<K extends TableName>(table: K, desired: Table<Row<K>>, observed: Table<Row<K>>): Change<Row<K>>[] {
  if (knownEqual.get(desired)?.has(observed)) return [];
  const spec = tableSpec(table);
  const changes = diffTable(desired, observed, spec.members?.sameHeader ?? spec.same);
  if (changes.length === 0) rememberEqual(desired, observed);
  return spec.diff === "never-delete" ? changes.filter((c) => c.op !== "delete") : changes;
}

/** Member diffs of the ipsets kept with the same header on both sides. */
function ipsetMemberChanges(desired: NodeState, observed: NodeState): IpsetMemberChange[] {
  const same = tableSpec("ipsets").members!.sameHeader;
  const out: IpsetMemberChange[] = [];
  for (const [name, want] of desired.ipsets) {
    const have = observed.ipsets.get(name);
    if (have === undefined || !same(have, want)) continue;
    if (want.members === have.members || knownEqual.get(want.members)?.has(have.members)) continue;
    const d = diffMembers(want.members, have.members);
    if (d.add.length + d.del.length === 0) rememberEqual(want.members, have.members);
    if (d.add.length + d.del.length > 0) out.push({ set: name, family: want.family, ...d });
  }
  return out;
}

/** Builds a plan table by table (`make` is called once per table, in table order). */
function buildPlan(make: <K extends TableName>(table: K) => readonly Change<Row<K>>[], ipsetMembers: readonly IpsetMemberChange[]): NodePlan {
  const out: Partial<Record<TableName, unknown>> = {};
  for (const t of TABLE_NAMES) out[t] = make(t);
  return { ...out, ipsetMembers } as NodePlan;
}

/**
 * Diffs a whole node, each table by its registry policy. Pure; deterministic (every list
 * sorted by key). `never-delete` tables never plan a delete.
 */
export function diffNode(desired: NodeState, observed: NodeState): NodePlan {
  return buildPlan((t) => diffOne(t, desired[t], observed[t]), ipsetMemberChanges(desired, observed));
}

/** The changes of one table of a plan, typed by its row. */
export function changesOf<K extends TableName>(plan: NodePlan, table: K): readonly Change<Row<K>>[] {
  return plan[table] as readonly Change<Row<K>>[];
}

/** Applies a plan to a state in memory (what a perfect apply does to the kernel). */
export function patchNode(observed: NodeState, plan: NodePlan): NodeState {
  let ipsets = patchTable(observed.ipsets, plan.ipsets);
  if (plan.ipsetMembers.length > 0) {
    const next = new Map(ipsets);
    for (const m of plan.ipsetMembers) {
      const s = next.get(m.set);
      if (s) next.set(m.set, { ...s, members: patchMembers(s.members, m) });
    }
    ipsets = sortedTable(next);
  }
  // ipsets: patched above (header changes, then members)
  return { ...buildNodeState((t) => (t === "ipsets" ? observed[t] : patchTable(observed[t], changesOf(plan, t)))), ipsets };
}

/** The plan with the changes of `tables` dropped (tables whose driver could not observe). */
export function withoutTables(plan: NodePlan, tables: ReadonlySet<TableName>): NodePlan {
  if (tables.size === 0) return plan;
  return buildPlan((t) => (tables.has(t) ? [] : changesOf(plan, t)), tables.has("ipsets") ? [] : plan.ipsetMembers);
}

/** True when the plan changes nothing. */
export function isEmptyPlan(p: NodePlan): boolean {
  return planTables(p).every((t) => t.changes === 0);
}

export interface PlanCounts {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

/** Counts per table: create and member add → add; update → change; delete and member del → destroy. */
export function planTables(p: NodePlan): { table: TableName; changes: number; counts: PlanCounts }[] {
  return TABLE_NAMES.map((table) => {
    const changes: readonly Change<unknown>[] = p[table];
    let add = changes.filter((c) => c.op === "create").length;
    const change = changes.filter((c) => c.op === "update").length;
    let destroy = changes.filter((c) => c.op === "delete").length;
    if (table === "ipsets") for (const m of p.ipsetMembers) { add += m.add.length; destroy += m.del.length; }
    return { table, changes: add + change + destroy, counts: { add, change, destroy } };
  });
}

/** Totals over all tables. */
export function planCounts(p: NodePlan): PlanCounts {
  return planTables(p).reduce(
    (a, t) => ({ add: a.add + t.counts.add, change: a.change + t.counts.change, destroy: a.destroy + t.counts.destroy }),
    { add: 0, change: 0, destroy: 0 },
  );
}

/** Terraform-style summary line: `Plan: 3 to add, 0 to change, 1 to destroy.` */
export function planSummary(p: NodePlan): string {
  const c = planCounts(p);
  return `Plan: ${c.add} to add, ${c.change} to change, ${c.destroy} to destroy.`;
}

/** States equal table by table (used by tests and the convergence check). */
export function sameNodeState(a: NodeState, b: NodeState): boolean {
  return TABLE_NAMES.every((t) => deepEqual(a[t], b[t]));
}

/** An empty plan. */
export function emptyPlan(): NodePlan {
  return buildPlan(() => [], []);
}
