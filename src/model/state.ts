/**
 * DesiredNodeState and ObservedNodeState: the same type, a record of keyed tables (DESIGN.md §4),
 * derived from the table registry (registry.ts): one `Table<Row>` per declared table.
 * Observed state holds only objects we own (see names.ts), so a diff never touches foreign ones.
 * Row types and key functions live in rows.ts and are re-exported here.
 *
 * @category models
 */
import { type Row, type TableName, TABLE_NAMES } from "./registry.ts";
import type { Table } from "./table.ts";

export * from "./rows.ts";
export { TABLE_NAMES, type TableName } from "./registry.ts";

/** The whole node: desired (rendered) and observed (read from the kernel) have this one type. */
export type NodeState = { readonly [K in TableName]: Table<Row<K>> };
export type DesiredNodeState = NodeState;
export type ObservedNodeState = NodeState;

/**
 * Builds a NodeState table by table (`make` is called once per table, in table order).
 * The one place a record keyed by table name becomes a NodeState.
 */
export function buildNodeState(make: <K extends TableName>(table: K) => Table<Row<K>>): NodeState {
  const out: { [K in TableName]?: Table<Row<K>> } = {};
  for (const t of TABLE_NAMES) (out as Record<TableName, unknown>)[t] = make(t);
  return out as NodeState;
}

/** One table of a state, typed by its row (TypeScript does not correlate `state[t]` with `t`). */
export function tableOf<K extends TableName>(state: NodeState, table: K): Table<Row<K>> {
  return state[table] as Table<Row<K>>;
}

/** An empty node state (nothing owned). */
export function emptyNodeState(): NodeState {
  return buildNodeState(() => new Map());
}
