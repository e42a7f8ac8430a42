/**
 * One shared frozen empty list. Per-object render results (one per Service at L's 10k) carry
 * many lists that are nearly always empty (warnings, hairpin rules, DSR pods); each fresh `[]`
 * costs 32 bytes and more once grown, so the memoised results share this one instead.
 *
 * @category render
 */
export const NONE: readonly never[] = Object.freeze([]);

/** `list`, or the shared NONE when it is empty (the caller no longer changes `list`). */
export function orNone<T>(list: readonly T[]): readonly T[] {
  return list.length === 0 ? NONE : list;
}
