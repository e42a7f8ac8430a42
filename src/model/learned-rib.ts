/**
 * The learned best paths (BGP, issue 10) as a structurally shared table: key = the canonical
 * prefix (one best path per prefix), value = the LearnedPath, spread over LEARNED_BUCKETS
 * chunks of a ChunkedTable by a hash of the prefix. A change to one prefix replaces only its
 * bucket, so a render memoised per chunk (render/bgp/learned.ts) and the chunk-wise differ
 * cost what changed, not the size of the RIB.
 *
 * - `LearnedRib` is the mutable side (the gobgp driver feeds it GoBGP's best-path events);
 *   `table()` hands out an immutable snapshot; later writes copy the bucket they touch first
 *   (copy on write), so a snapshot never changes.
 * - `learnedTable(paths)` builds the same table from a list (a RIB read with ListPath).
 *
 * Guarantees: keys are canonical prefixes (the caller passes canonical prefixes: the driver
 * canonicalises at ingest); the bucket of a prefix is `learnedBucket(prefix)`, a pure function
 * of the text, so a reader can find a prefix's chunk without indexing the table. Pure data: no
 * I/O, no clock.
 *
 * @category diff
 */
import type { LearnedPath } from "./bgp.ts";
import { ChunkedTable } from "./chunked-table.ts";

/** How many chunks the learned table is spread over. */
export const LEARNED_BUCKETS = 128;

const NAMES = Array.from({ length: LEARNED_BUCKETS }, (_, i) => `learned-${String(i).padStart(3, "0")}`);

const bucketIndex = (prefix: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), 0x01000193);
  return (h >>> 0) % LEARNED_BUCKETS;
};

/** The chunk (group name) of the learned table holding `prefix`. */
export const learnedBucket = (prefix: string): string => NAMES[bucketIndex(prefix)]!;

const samePath = (a: LearnedPath, b: LearnedPath): boolean =>
  a.family === b.family && a.prefix === b.prefix && a.nextHop === b.nextHop && a.peer === b.peer;

/** Of two paths for one prefix, the one a list read keeps: the lowest next hop, then the lowest peer. */
const better = (a: LearnedPath, b: LearnedPath): boolean => a.nextHop < b.nextHop || (a.nextHop === b.nextHop && a.peer < b.peer);

/** The mutable learned RIB; see the module comment. */
export class LearnedRib {
  readonly #buckets: Map<string, LearnedPath>[] = Array.from({ length: LEARNED_BUCKETS }, () => new Map());
  /** Bucket i is referenced by a snapshot handed out: copy before writing. */
  readonly #shared: boolean[] = new Array<boolean>(LEARNED_BUCKETS).fill(false);
  #snapshot: ChunkedTable<LearnedPath> | undefined;

  #writable(i: number): Map<string, LearnedPath> {
    if (this.#shared[i]) {
      this.#buckets[i] = new Map(this.#buckets[i]);
      this.#shared[i] = false;
    }
    this.#snapshot = undefined;
    return this.#buckets[i]!;
  }

  /** Sets the best path of `p.prefix` (canonical); false when it was already exactly that. */
  set(p: LearnedPath): boolean {
    const i = bucketIndex(p.prefix);
    const old = this.#buckets[i]!.get(p.prefix);
    if (old !== undefined && samePath(old, p)) return false;
    this.#writable(i).set(p.prefix, p);
    return true;
  }

  /** Removes the learned path of `prefix`; false when there was none. */
  delete(prefix: string): boolean {
    const i = bucketIndex(prefix);
    if (!this.#buckets[i]!.has(prefix)) return false;
    this.#writable(i).delete(prefix);
    return true;
  }

  /** Forgets everything (a new gobgpd, a new event stream). */
  clear(): void {
    for (let i = 0; i < LEARNED_BUCKETS; i++) if (this.#buckets[i]!.size > 0) this.#writable(i).clear();
  }

  get size(): number {
    let n = 0;
    for (const b of this.#buckets) n += b.size;
    return n;
  }

  /** An immutable snapshot (the same object until the next change). */
  table(): ChunkedTable<LearnedPath> {
    if (this.#snapshot === undefined) {
      this.#snapshot = new ChunkedTable(this.#buckets.map((b, i) => [NAMES[i]!, b] as const));
      this.#shared.fill(true);
    }
    return this.#snapshot;
  }
}

/** The learned table of a list of best paths with canonical prefixes; several for one prefix: the lowest next hop, then peer. */
export function learnedTable(paths: Iterable<LearnedPath>): ChunkedTable<LearnedPath> {
  const rib = new LearnedRib();
  const best = new Map<string, LearnedPath>();
  for (const p of paths) {
    const prev = best.get(p.prefix);
    if (prev === undefined || better(p, prev)) best.set(p.prefix, p);
  }
  for (const p of best.values()) rib.set(p);
  return rib.table();
}
