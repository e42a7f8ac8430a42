/**
 * Kubernetes label selectors (matchLabels + matchExpressions) compiled to predicates. Pure.
 *
 * Guarantees:
 * - semantics of `metav1.LabelSelector`: every matchLabels pair and every expression must hold
 *   (AND); an empty selector matches everything; `In` / `NotIn` compare the label's value
 *   with `values`; `NotIn` and `DoesNotExist` hold for objects without the key; `Exists` /
 *   `DoesNotExist` ignore `values`;
 * - never throws: an unknown operator, or `In`/`NotIn` with no values, becomes a `problem`
 *   naming the field (`spec.podSelector.matchExpressions[0].operator`), and the broken
 *   expression evaluates to `onInvalid` — the caller picks the fail-closed side (true to
 *   over-select targets, false to under-select peers).
 *
 * @category render
 */
import type { LabelSelector } from "../../model/cluster.ts";

export type Labels = Readonly<Record<string, string>>;

/** A compiled selector: a predicate, whether it selects everything, and its problems. */
export interface CompiledSelector {
  readonly matches: (labels: Labels) => boolean;
  /** True when the selector is empty (selects every object). */
  readonly everything: boolean;
  /** One line each: `<field>: <why>`. */
  readonly problems: readonly string[];
}

type Test = (labels: Labels) => boolean;

/** Compiles `sel` found at `field`; broken expressions evaluate to `onInvalid`. */
export function compileSelector(sel: LabelSelector, field: string, onInvalid: boolean): CompiledSelector {
  const tests: Test[] = [];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels)) tests.push((l) => l[k] === v);
  sel.matchExpressions.forEach((e, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const values = new Set(e.values);
    const key = e.key;
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (values.size === 0) {
          problems.push(`${f}.values: operator ${e.operator} needs at least one value`);
          tests.push(() => onInvalid);
        } else if (e.operator === "In") tests.push((l) => Object.hasOwn(l, key) && values.has(l[key]!));
        else tests.push((l) => !Object.hasOwn(l, key) || !values.has(l[key]!));
        break;
      case "Exists":
        tests.push((l) => Object.hasOwn(l, key));
        break;
      case "DoesNotExist":
        tests.push((l) => !Object.hasOwn(l, key));
        break;
      default:
        problems.push(`${f}.operator: unknown operator ${JSON.stringify(e.operator)} (want In, NotIn, Exists, DoesNotExist)`);
        tests.push(() => onInvalid);
    }
  });
  const everything = tests.length === 0;
  const matches: Test = everything ? () => true : tests.length === 1 ? tests[0]! : (l) => tests.every((t) => t(l));
  return { matches, everything, problems };
}
