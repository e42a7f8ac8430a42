/**
 * The generic differ: one function per table shape, all pure.
 *
 * - keyed tables (`Table<T>`): per key create / update / delete; values compared structurally;
 * - ordered lists (an iptables chain's rules) are values of a keyed table, so a chain is
 *   replaced whole when any rule or the order differs;
 * - per-member sets (ipset members): `diffMembers` gives adds and dels, one per member.
 *
 * Law (checked by property tests): `patchTable(observed, diffTable(desired, observed))`
 * equals `desired`, and likewise for members.
 *
 * @category diff
 */
import { ChunkedTable, changedChunks, mergedChunks, unorderedEntries } from "./chunked-table.ts";

/** A keyed table of kernel objects: key → normalised object. */
export type Table<T> = ReadonlyMap<string, T>;

export type Op = "create" | "update" | "delete";

/**
 * One planned change of one keyed object. Plans are data (Terraform's Change{Action,Before,After}).
 * `why` explains the change to people and never drives apply.
 */
export type Change<T> =
  | { readonly op: "create"; readonly key: string; readonly after: T; readonly why?: string }
  | { readonly op: "update"; readonly key: string; readonly before: T; readonly after: T; readonly why?: string }
  | { readonly op: "delete"; readonly key: string; readonly before: T; readonly why?: string };

/** Member adds and dels of one set; both lists sorted. */
export interface MemberDiff {
  readonly add: readonly string[];
  readonly del: readonly string[];
}

/**
 * Structural equality of plain data: primitives, arrays (ordered), plain objects
 * (key order ignored, `undefined` fields equal missing ones), Sets and Maps (a `ChunkedTable`
 * equals a Map with the same entries).
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (a instanceof Map || a instanceof ChunkedTable) {
    const bm = b as ReadonlyMap<unknown, unknown>;
    if (!(b instanceof Map || b instanceof ChunkedTable) || a.size !== bm.size) return false;
    for (const [k, v] of unorderedEntries(a as ReadonlyMap<unknown, unknown>)) if (!bm.has(k) || !deepEqual(v, bm.get(k))) return false;
    return true;
  }
  if (b instanceof Set || b instanceof Map || b instanceof ChunkedTable) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!deepEqual(ra[k], rb[k])) return false;
  return true;
}

const OP_ORDER: Record<Op, number> = { delete: 0, update: 1, create: 2 };

/**
 * Diffs a desired keyed table against an observed one.
 * Guarantees: output sorted by key (deterministic plans); a key present in both with equal
 * values (per `same`) yields nothing; never throws.
 *
 * Two `ChunkedTable`s are diffed chunk-wise: chunks that are the same object on both sides are
 * skipped unread, the rest diffed as below (same result; property-tested).
 */
export function diffTable<T>(
  desired: Table<T>,
  observed: Table<T>,
  same: (a: T, b: T) => boolean = deepEqual,
): Change<T>[] {
  if (desired === observed) return [];
  // the entries to compare: for two chunked tables only the chunks that differ, read in place
  let desiredParts: readonly Iterable<[string, T]>[] = [unorderedEntries(desired)];
  let observedParts: readonly Iterable<[string, T]>[] = [unorderedEntries(observed)];
  let before: ReadonlyMap<string, T> = observed;
  let desiredIndex = (): ReadonlyMap<string, T> => desired;
  if (desired instanceof ChunkedTable && observed instanceof ChunkedTable) {
    const sub = changedChunks(desired, observed);
    desiredParts = sub.desired;
    observedParts = sub.observed;
    before = mergedChunks(sub.observed);
    desiredIndex = () => mergedChunks(sub.desired);
  }
  const out: Change<T>[] = [];
  let matched = 0;
  for (const part of desiredParts) {
    for (const [key, after] of part) {
      const b = before.get(key);
      if (b === undefined) out.push({ op: "create", key, after });
      else {
        matched++;
        if (!same(b, after)) out.push({ op: "update", key, before: b, after });
      }
    }
  }
  // every observed key matched a desired one: nothing to delete (saves a lookup per key)
  if (matched !== before.size) {
    const wanted = desiredIndex();
    for (const part of observedParts) for (const [key, b] of part) if (!wanted.has(key)) out.push({ op: "delete", key, before: b });
  }
  // keys are unique within one diff: the op order only breaks ties that cannot occur
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key === y.key ? OP_ORDER[x.op] - OP_ORDER[y.op] : 1));
}

/** Applies changes to a table (the inverse of `diffTable`); returns a new table, sorted by key. */
export function patchTable<T>(observed: Table<T>, changes: readonly Change<T>[]): Table<T> {
  const next = new Map(observed);
  for (const c of changes) {
    if (c.op === "delete") next.delete(c.key);
    else next.set(c.key, c.after);
  }
  return sortedTable(next);
}

/** Member-level diff of two sets; adds and dels sorted. */
export function diffMembers(desired: ReadonlySet<string>, observed: ReadonlySet<string>): MemberDiff {
  const add: string[] = [];
  const del: string[] = [];
  for (const m of desired) if (!observed.has(m)) add.push(m);
  for (const m of observed) if (!desired.has(m)) del.push(m);
  return { add: add.sort(), del: del.sort() };
}

/** Applies a member diff to a set (the inverse of `diffMembers`). */
export function patchMembers(observed: ReadonlySet<string>, d: MemberDiff): ReadonlySet<string> {
  const next = new Set(observed);
  for (const m of d.del) next.delete(m);
  for (const m of d.add) next.add(m);
  return next;
}

/** A table built from entries, keys sorted (stable iteration order for formatting). */
export function sortedTable<T>(entries: Iterable<readonly [string, T]>): Table<T> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

