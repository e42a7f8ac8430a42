/**
 * NodePlan: the diff of a whole node, per table, as data. Apply executes it; the dry-run
 * printer shows it; nothing else changes the kernel.
 *
 * @category models
 */
import type { Chain, Ipset, IpvsReal, IpvsService, IpvsTimeouts, Jump, Link, Address, Route, PolicyRule, Sysctl, ManagedFile, NodeState, TableName } from "./state.ts";
import { TABLE_NAMES } from "./state.ts";
import { type Change, type MemberDiff, diffMembers, diffTable, patchMembers, patchTable, deepEqual, sortedTable } from "./table.ts";

/** Member changes of one ipset that exists on both sides with the same header. */
export interface IpsetMemberChange extends MemberDiff {
  readonly set: string;
  readonly family: "inet" | "inet6";
}

export interface NodePlan {
  readonly chains: readonly Change<Chain>[];
  readonly jumps: readonly Change<Jump>[];
  /** create / delete whole sets; update = header changed (set replaced by swap with `after.members`). */
  readonly ipsets: readonly Change<Ipset>[];
  /** per-member adds and dels of sets kept as they are. */
  readonly ipsetMembers: readonly IpsetMemberChange[];
  readonly links: readonly Change<Link>[];
  readonly addresses: readonly Change<Address>[];
  readonly routes: readonly Change<Route>[];
  readonly rules: readonly Change<PolicyRule>[];
  readonly sysctls: readonly Change<Sysctl>[];
  readonly files: readonly Change<ManagedFile>[];
  readonly ipvsServices: readonly Change<IpvsService>[];
  readonly ipvsReals: readonly Change<IpvsReal>[];
  /** create/update only: timeouts are never deleted (a flag unset just stops managing them). */
  readonly ipvsTimeouts: readonly Change<IpvsTimeouts>[];
}

const sameIpsetHeader = (a: Ipset, b: Ipset): boolean =>
  a.type === b.type && a.family === b.family && a.timeout === b.timeout;

/**
 * Member sets already found equal (desired → observed objects). Sets are immutable values, so
 * a pair once equal stays equal; a resync that sees the same objects again (memoised render,
 * cached observe parse) skips walking tens of thousands of members. Never changes a result.
 */
const knownEqual = new WeakMap<ReadonlySet<string>, WeakSet<ReadonlySet<string>>>();
function rememberEqual(a: ReadonlySet<string>, b: ReadonlySet<string>): void {
  let seen = knownEqual.get(a);
  if (seen === undefined) knownEqual.set(a, (seen = new WeakSet()));
  seen.add(b);
}

/**
 * Diffs a whole node. Pure; deterministic (every list sorted by key). Sysctls and files are
 * never deleted: observe reports only those desired, so a stale one simply stops being managed.
 */
export function diffNode(desired: NodeState, observed: NodeState): NodePlan {
  const ipsets = diffTable(desired.ipsets, observed.ipsets, sameIpsetHeader);
  const ipsetMembers: IpsetMemberChange[] = [];
  for (const [name, want] of desired.ipsets) {
    const have = observed.ipsets.get(name);
    if (have === undefined || !sameIpsetHeader(have, want)) continue;
    if (want.members === have.members || knownEqual.get(want.members)?.has(have.members)) continue;
    const d = diffMembers(want.members, have.members);
    if (d.add.length + d.del.length === 0) rememberEqual(want.members, have.members);
    if (d.add.length + d.del.length > 0) ipsetMembers.push({ set: name, family: want.family, ...d });
  }
  return {
    chains: diffTable(desired.chains, observed.chains),
    jumps: diffTable(desired.jumps, observed.jumps),
    ipsets,
    ipsetMembers,
    links: diffTable(desired.links, observed.links),
    addresses: diffTable(desired.addresses, observed.addresses),
    routes: diffTable(desired.routes, observed.routes),
    rules: diffTable(desired.rules, observed.rules),
    sysctls: diffTable(desired.sysctls, observed.sysctls).filter((c) => c.op !== "delete"),
    files: diffTable(desired.files, observed.files).filter((c) => c.op !== "delete"),
    ipvsServices: diffTable(desired.ipvsServices, observed.ipvsServices),
    ipvsReals: diffTable(desired.ipvsReals, observed.ipvsReals),
    ipvsTimeouts: diffTable(desired.ipvsTimeouts, observed.ipvsTimeouts).filter((c) => c.op !== "delete"),
  };
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
  return {
    chains: patchTable(observed.chains, plan.chains),
    jumps: patchTable(observed.jumps, plan.jumps),
    ipsets,
    links: patchTable(observed.links, plan.links),
    addresses: patchTable(observed.addresses, plan.addresses),
    routes: patchTable(observed.routes, plan.routes),
    rules: patchTable(observed.rules, plan.rules),
    sysctls: patchTable(observed.sysctls, plan.sysctls),
    files: patchTable(observed.files, plan.files),
    ipvsServices: patchTable(observed.ipvsServices, plan.ipvsServices),
    ipvsReals: patchTable(observed.ipvsReals, plan.ipvsReals),
    ipvsTimeouts: patchTable(observed.ipvsTimeouts, plan.ipvsTimeouts),
  };
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
    const changes = p[table] as readonly Change<unknown>[];
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
  return { chains: [], jumps: [], ipsets: [], ipsetMembers: [], links: [], addresses: [], routes: [], rules: [], sysctls: [], files: [], ipvsServices: [], ipvsReals: [], ipvsTimeouts: [] };
}
