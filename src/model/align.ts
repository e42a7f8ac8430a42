/**
 * Aligns observed state with what desired state manages, before diffing: an optional field
 * that desired leaves out is not managed, so the observed value of it is dropped (a link whose
 * MTU we do not set is not "changed" because the kernel reports one). Pure.
 *
 * @category diff
 */
import type { Link, NodeState } from "./state.ts";

/** Returns `observed` with unmanaged fields removed where desired has the same key. */
export function alignObserved(observed: NodeState, desired: NodeState): NodeState {
  let links = observed.links;
  for (const [key, want] of desired.links) {
    const have = observed.links.get(key);
    if (have !== undefined && want.mtu === undefined && have.mtu !== undefined) {
      if (links === observed.links) links = new Map(observed.links);
      const { mtu: _mtu, ...rest } = have;
      (links as Map<string, Link>).set(key, rest);
    }
  }
  return links === observed.links ? observed : { ...observed, links };
}
