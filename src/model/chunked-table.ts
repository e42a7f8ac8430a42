/**
 * A structurally shared keyed table: a `Table<T>` (ReadonlyMap) whose entries live in named
 * chunks, each chunk an immutable Map. A renderer that memoises per-object results (one chunk
 * per Service in the proxy) reuses unchanged chunks by identity, so building the table costs
 * O(chunks), not O(entries), and `diffTable` between two chunked tables skips chunks that are
 * the same object without looking inside (see `changedChunks`).
 *
 * Contract (same as any Table):
 * - a key appears in at most one chunk (the constructor's caller guarantees it; `changedChunks`
 *   relies on it);
 * - chunks are never mutated after construction (they are shared between renders);
 * - iteration (`entries`, `keys`, `values`, `forEach`, `for…of`) is in sorted key order, exactly
 *   like `sortedTable`; the order is computed on first iteration and cached;
 * - `get`/`has` use an index built on first use (O(entries) once per table).
 *
 * Pure data: no I/O, no clock; equal inputs give equal tables.
 *
 * @category diff
 */

const byKey = <T>([a]: readonly [string, T], [b]: readonly [string, T]): number => (a < b ? -1 : a > b ? 1 : 0);

export class ChunkedTable<T> implements ReadonlyMap<string, T> {
  /** Chunks by strictly increasing group name. */
  readonly chunks: readonly (readonly [string, ReadonlyMap<string, T>])[];
  readonly size: number;
  #index: Map<string, T> | undefined;
  #sorted: (readonly [string, T])[] | undefined;

  /** `chunks`: group name → chunk; reordered by group name if needed; empty chunks dropped; groups must be unique. */
  constructor(chunks: Iterable<readonly [string, ReadonlyMap<string, T>]>) {
    const list: (readonly [string, ReadonlyMap<string, T>])[] = [];
    let size = 0;
    let ordered = true;
    for (const c of chunks) {
      if (c[1].size === 0) continue;
      const last = list[list.length - 1];
      if (last !== undefined && !(last[0] < c[0])) ordered = false;
      list.push(c);
      size += c[1].size;
    }
    if (!ordered) {
      list.sort(byKey);
      for (let i = 1; i < list.length; i++) if (list[i - 1]![0] === list[i]![0]) throw new Error(`ChunkedTable: group ${list[i]![0]} given twice`);
    }
    this.chunks = list;
    this.size = size;
  }

  /** Entries in no particular order (cheap; what order-free consumers such as the differ use). */
  *unordered(): IterableIterator<[string, T]> {
    for (const [, chunk] of this.chunks) yield* chunk;
  }

  #lookup(): Map<string, T> {
    if (this.#index === undefined) {
      const index = new Map<string, T>();
      for (const [, chunk] of this.chunks) for (const [k, v] of chunk) index.set(k, v);
      this.#index = index;
    }
    return this.#index;
  }

  #order(): (readonly [string, T])[] {
    if (this.#sorted === undefined) {
      const all: (readonly [string, T])[] = [];
      for (const [, chunk] of this.chunks) for (const e of chunk) all.push(e);
      this.#sorted = all.sort(byKey);
    }
    return this.#sorted;
  }

  get(key: string): T | undefined {
    if (this.chunks.length === 1) return this.chunks[0]![1].get(key);
    return this.#lookup().get(key);
  }

  has(key: string): boolean {
    if (this.chunks.length === 1) return this.chunks[0]![1].has(key);
    return this.#lookup().has(key);
  }

  *entries(): MapIterator<[string, T]> {
    for (const [k, v] of this.#order()) yield [k, v];
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.#order()) yield k;
  }

  *values(): MapIterator<T> {
    for (const [, v] of this.#order()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, T]> {
    return this.entries();
  }

  forEach(fn: (value: T, key: string, map: ReadonlyMap<string, T>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#order()) fn.call(thisArg, v, k, this);
  }

  get [Symbol.toStringTag](): string {
    return "ChunkedTable";
  }
}

/** Entries of any table in no particular order (a chunked table's without sorting them). */
export function unorderedEntries<K, T>(t: ReadonlyMap<K, T>): Iterable<[K, T]> {
  return t instanceof ChunkedTable ? (t.unordered() as Iterable<[K, T]>) : t;
}

/**
 * The chunks of two chunked tables that may differ: chunks under the same group name that are
 * the same object on both sides are left out (they hold the same keys with the same values on
 * both sides, and — keys being unique within a table — none of their keys occurs elsewhere on
 * either side). Diffing the entries of what remains gives exactly the diff of the whole tables.
 * The chunks are returned as they are (not copied): O(chunks).
 */
export function changedChunks<T>(desired: ChunkedTable<T>, observed: ChunkedTable<T>): { desired: ReadonlyMap<string, T>[]; observed: ReadonlyMap<string, T>[] } {
  const d = desired.chunks;
  const o = observed.chunks;
  const dOut: ReadonlyMap<string, T>[] = [];
  const oOut: ReadonlyMap<string, T>[] = [];
  let i = 0;
  let j = 0;
  while (i < d.length || j < o.length) {
    const dc = d[i];
    const oc = o[j];
    if (dc !== undefined && oc !== undefined && dc[0] === oc[0]) {
      if (dc[1] !== oc[1]) {
        dOut.push(dc[1]);
        oOut.push(oc[1]);
      }
      i++;
      j++;
    } else if (oc === undefined || (dc !== undefined && dc[0] < oc[0])) {
      dOut.push(dc![1]);
      i++;
    } else {
      oOut.push(oc[1]);
      j++;
    }
  }
  return { desired: dOut, observed: oOut };
}

/** One lookup over disjoint chunks: the chunk itself when there is one, else a merged copy. */
export function mergedChunks<T>(chunks: readonly ReadonlyMap<string, T>[]): ReadonlyMap<string, T> {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Map<string, T>();
  for (const c of chunks) for (const [k, v] of c) all.set(k, v);
  return all;
}
