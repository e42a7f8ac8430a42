/**
 * Assembles the node's desired state from the controllers' renders (pure):
 * - tables of controllers that rendered are unioned (a key claimed by two renders with
 *   different values is a conflict: reported, first controller wins);
 * - objects of controllers that did not render (disabled, not built, failed) are kept
 *   exactly as observed;
 * - builtin-chain jumps are numbered 1..n per builtin chain in controller order, each
 *   controller's jumps in its own order, so placement is deterministic and contiguous.
 *
 * @category render
 */
import { type Jump, type NodeState, type TableName, TABLE_NAMES, buildNodeState, jumpKey, tableOf } from "../model/state.ts";
import { ChunkedTable, unorderedEntries } from "../model/chunked-table.ts";
import type { ClusterSnapshot } from "../model/cluster.ts";
import { canonicalCidr } from "../model/ip.ts";
import { NO_CONTEXT, type OwnershipContext } from "../model/ownership.ts";
import { type Row, ownedBy, tableSpec } from "../model/registry.ts";
import { nodePodCidrs } from "./node-facts.ts";
import { type Table, deepEqual, sortedTable } from "../model/table.ts";
import type { Controller, ControllerOutput } from "./controller.ts";

export interface Rendered {
  readonly controller: Controller;
  /** undefined when the controller did not render this sync (its objects are preserved). */
  readonly output?: ControllerOutput;
}

export interface Assembled {
  readonly desired: NodeState;
  readonly conflicts: readonly string[];
}

const contexts = new WeakMap<ClusterSnapshot, ReadonlySet<string>>();
/**
 * The cluster facts ownership predicates need: whether the bgp controller runs (`bgp`, from the
 * config) and every node's canonical pod CIDRs (memoised per snapshot).
 */
export function ownershipContext(snapshot: ClusterSnapshot | undefined, bgp: boolean): OwnershipContext {
  if (snapshot === undefined) return NO_CONTEXT;
  let podCidrs = contexts.get(snapshot);
  if (podCidrs === undefined) {
    const set = new Set<string>();
    for (const n of snapshot.nodes.values()) for (const c of nodePodCidrs(n).cidrs) { const v = canonicalCidr(c); if (v !== undefined) set.add(v); }
    podCidrs = set;
    contexts.set(snapshot, podCidrs);
  }
  return { bgp, podCidrs };
}

/**
 * Builds the desired state; see the module comment for the rules. `ctx` (ownershipContext of
 * the snapshot rendered) lets the kept objects of a controller that did not render be told
 * apart from another's in a shared table (the router's pod routes vs BGP's learned routes).
 */
export function assemble(rendered: readonly Rendered[], observed: NodeState, ctx: OwnershipContext = NO_CONTEXT): Assembled {
  // conflicts as (controller index, table index, line): reported controller by controller, table by table
  const conflicts: [number, number, string][] = [];
  const tables = new Map<TableName, Map<string, unknown>>(TABLE_NAMES.map((t) => [t, new Map()]));
  const jumpGroups: Jump[][] = [];
  const sources = rendered.map(({ controller, output }) =>
    TABLE_NAMES.map((t) => (output ? output.state[t] : keepClaimed(controller, t, tableOf(observed, t), ctx)) as Table<unknown> | undefined));
  // A chunked table, or a table already in key order, that is the only non-empty contribution
  // to its table is used as it is (same entries, same order): no copy, it keeps its identity
  // (an unchanged render then diffs as known-equal: plan.ts). A table merged from the very
  // same contributions (objects) as last time is last time's result (MERGED).
  const whole = new Map<TableName, Table<unknown>>();
  const parts = new Map<TableName, Table<unknown>[]>();
  TABLE_NAMES.forEach((t, ti) => {
    const nonEmpty = sources.flatMap((s) => (s[ti] !== undefined && s[ti].size > 0 ? [s[ti]] : []));
    parts.set(t, nonEmpty);
    if (t === "jumps") return;
    if (nonEmpty.length === 1 && (nonEmpty[0] instanceof ChunkedTable || inKeyOrder(nonEmpty[0]!))) whole.set(t, nonEmpty[0]!);
    const last = MERGED.get(t);
    if (!whole.has(t) && last !== undefined && last.parts.length === nonEmpty.length && last.parts.every((p, i) => p === nonEmpty[i])) {
      whole.set(t, last.merged);
      conflicts.push(...last.conflicts);
    }
  });
  for (const [ci, { controller }] of rendered.entries()) {
    const own: Jump[] = [];
    for (const [ti, t] of TABLE_NAMES.entries()) {
      const source = sources[ci]![ti];
      if (source === undefined || whole.has(t)) continue;
      const into = tables.get(t)!;
      for (const [key, value] of source) {
        if (t === "jumps") { own.push(value as Jump); continue; }
        const prev = into.get(key);
        if (prev !== undefined && !deepEqual(prev, value)) conflicts.push([ci, ti, `${t} ${key}: claimed by ${controller.name} and another controller with different content; kept the first`]);
        else into.set(key, value);
      }
    }
    jumpGroups.push(own.sort((a, b) => a.position - b.position));
  }
  tables.set("jumps", new Map(numberJumps(jumpGroups).map((j) => [jumpKey(j), j])));
  const desired = buildNodeState((t) => {
    const w = whole.get(t);
    if (w !== undefined) return w as Table<Row<typeof t>>;
    const merged = sortedTable(tables.get(t)!);
    const ti = TABLE_NAMES.indexOf(t);
    if (t !== "jumps") MERGED.set(t, { parts: parts.get(t)!, merged, conflicts: conflicts.filter((c) => c[1] === ti) });
    return merged as Table<Row<typeof t>>;
  });
  conflicts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { desired, conflicts: conflicts.map((c) => c[2]) };
}

/**
 * The last merge of each table: its contributions (objects, in controller order), the merged
 * table and its conflict lines. Tables are immutable, so the same contributions merge to the
 * same table; holding the last one keeps nothing alive that the last desired state does not.
 */
const MERGED = new Map<TableName, { parts: readonly Table<unknown>[]; merged: Table<unknown>; conflicts: readonly [number, number, string][] }>();

/** True when a plain Map iterates in key order (as sortedTable builds it). */
function inKeyOrder(t: Table<unknown>): boolean {
  let prev: string | undefined;
  for (const k of t.keys()) {
    if (prev !== undefined && !(prev < k)) return false;
    prev = k;
  }
  return true;
}

/** The observed rows of `table` the controller owns (registry ownership predicates). */
function keepClaimed<K extends TableName>(controller: Controller, table: K, observed: Table<Row<K>>, ctx: OwnershipContext): Table<Row<K>> {
  if (tableSpec(table).owners[controller.name] === undefined) return new Map();
  const kept = new Map<string, Row<K>>();
  for (const [k, v] of unorderedEntries(observed)) if (ownedBy(controller.name, table, v, ctx)) kept.set(k, v);
  return kept;
}

/** Renumbers jumps 1..n per (family, table, chain), groups in order, first occurrence of a key wins. */
function numberJumps(groups: readonly (readonly Jump[])[]): Jump[] {
  const next = new Map<string, number>();
  const seen = new Set<string>();
  const out: Jump[] = [];
  for (const group of groups) {
    for (const j of group) {
      const key = jumpKey(j);
      if (seen.has(key)) continue;
      seen.add(key);
      const chain = `${j.family}/${j.table}/${j.chain}`;
      const position = (next.get(chain) ?? 0) + 1;
      next.set(chain, position);
      out.push({ ...j, position });
    }
  }
  return out;
}
