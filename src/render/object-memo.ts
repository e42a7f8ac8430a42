/**
 * A cache of a pure per-object function: the last result computed for an object (by identity)
 * in a named slot, under a context key that captures every other input the function reads.
 * The snapshot sources share unchanged objects between syncs, so a re-render recomputes only
 * the objects that changed (and all of them when the context changes). Objects are held
 * weakly. Never changes a result: a hit returns what the same computation returned before.
 *
 * @category render
 */
export class ObjectMemo<O extends object, R> {
  readonly #last = new WeakMap<O, Map<string, { readonly key: string; readonly value: R }>>();

  /**
   * `compute(obj, arg)`'s value for (`obj`, `slot`, `key`); computed only when the last one
   * differs. `key` must capture everything of `arg` that `compute` reads. (The argument is
   * passed, not closed over, so a lookup allocates no closure: renders call this per node.)
   */
  get<A>(obj: O, slot: string, key: string, arg: A, compute: (obj: O, arg: A) => R): R {
    let slots = this.#last.get(obj);
    if (slots === undefined) this.#last.set(obj, (slots = new Map()));
    const hit = slots.get(slot);
    if (hit !== undefined && hit.key === key) return hit.value;
    const value = compute(obj, arg);
    slots.set(slot, { key, value });
    return value;
  }
}
