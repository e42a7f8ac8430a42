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

  /** `compute()`'s value for (`obj`, `slot`, `key`); computed only when the last one differs. */
  get(obj: O, slot: string, key: string, compute: () => R): R {
    let slots = this.#last.get(obj);
    if (slots === undefined) this.#last.set(obj, (slots = new Map()));
    const hit = slots.get(slot);
    if (hit !== undefined && hit.key === key) return hit.value;
    const value = compute();
    slots.set(slot, { key, value });
    return value;
  }
}
