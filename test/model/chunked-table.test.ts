/**
 * ChunkedTable (structurally shared tables): it is a Table like any other (same entries, get /
 * has / size, iteration in sorted key order), and the differ's chunk-wise fast path (chunks
 * that are the same object skipped unread) gives exactly the generic diff, whatever the chunks:
 * reused, replaced by equal or changed copies, keys moved between chunks, chunks added and
 * dropped. The node-level law patch(observed, diff(desired, observed)) = desired still holds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkedTable } from "../../src/model/chunked-table.ts";
import { deepEqual, diffTable, patchTable, sortedTable } from "../../src/model/table.ts";
import { diffNode, patchNode, sameNodeState } from "../../src/model/plan.ts";
import { type NodeState, emptyNodeState } from "../../src/model/state.ts";

interface Entry { readonly key: string; readonly group: number; readonly value: { readonly v: number } }
type Op = "keep" | "value" | "move" | "drop";

const arbEntries = fc.uniqueArray(
  fc.record({ key: fc.string({ minLength: 1, maxLength: 3, unit: fc.constantFrom("a", "b", ">", "c", "1") }), group: fc.integer({ min: 0, max: 4 }), v: fc.integer({ min: 0, max: 2 }) }),
  { selector: (e) => e.key, maxLength: 25 },
).map((es) => es.map((e): Entry => ({ key: e.key, group: e.group, value: { v: e.v } })));

/** An observed description, a desired one derived from it (keep, change value, move group, drop; new keys), and per-group reuse flags. */
const arbCase = fc
  .tuple(arbEntries, arbEntries, fc.array(fc.constantFrom<Op>("keep", "keep", "value", "move", "drop"), { minLength: 25, maxLength: 25 }), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 25, maxLength: 25 }))
  .map(([observed, extra, ops, reuse, moves]) => {
    const desired: Entry[] = [];
    observed.forEach((e, i) => {
      const op = ops[i]!;
      if (op === "keep") desired.push(e);
      else if (op === "value") desired.push({ ...e, value: { v: e.value.v + 1 } });
      else if (op === "move") desired.push({ ...e, group: moves[i]! });
    });
    const known = new Set(observed.map((e) => e.key));
    for (const e of extra) if (!known.has(e.key)) desired.push(e);
    return { observed, desired, reuse };
  });

const groupsOf = (es: readonly Entry[]): Map<number, Map<string, Entry["value"]>> => {
  const g = new Map<number, Map<string, Entry["value"]>>();
  for (const e of es) (g.get(e.group) ?? g.set(e.group, new Map()).get(e.group)!).set(e.key, e.value);
  return g;
};
const sameChunk = <T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
const name = (g: number) => `g${g}`;

/** Chunked tables for both sides; a desired chunk equal to the observed one is the very same object when its group's reuse flag is set. */
function build(c: { observed: readonly Entry[]; desired: readonly Entry[]; reuse: readonly boolean[] }) {
  const og = groupsOf(c.observed);
  const dg = groupsOf(c.desired);
  const observed = new ChunkedTable([...og].reverse().map(([g, m]) => [name(g), m] as const)); // unordered input on purpose
  const desired = new ChunkedTable([...dg].map(([g, m]) => {
    const o = og.get(g);
    return [name(g), o !== undefined && c.reuse[g] && sameChunk(m, o) ? o : m] as const;
  }));
  const plain = (es: readonly Entry[]) => new Map(es.map((e) => [e.key, e.value]));
  return { observed, desired, plainObserved: plain(c.observed), plainDesired: plain(c.desired) };
}

test("a ChunkedTable is the Table of its entries: size, get, has, iteration in sorted key order, deepEqual to the Map", () => {
  fc.assert(fc.property(arbCase, fc.string({ maxLength: 3 }), (c, probe) => {
    const { desired, plainDesired } = build(c);
    const sorted = sortedTable(plainDesired);
    assert.equal(desired.size, plainDesired.size);
    assert.deepEqual([...desired], [...sorted]);
    assert.deepEqual([...desired.keys()], [...sorted.keys()]);
    assert.deepEqual([...desired.values()], [...sorted.values()]);
    const seen: string[] = [];
    desired.forEach((_v, k) => seen.push(k));
    assert.deepEqual(seen, [...sorted.keys()]);
    for (const k of [...plainDesired.keys(), probe]) {
      assert.equal(desired.get(k), plainDesired.get(k));
      assert.equal(desired.has(k), plainDesired.has(k));
    }
    assert.ok(deepEqual(desired, plainDesired) && deepEqual(plainDesired, desired));
  }));
});

test("diffTable: the chunk-wise path equals the generic diff (chunks reused, replaced, keys moved, chunks added and dropped)", () => {
  fc.assert(fc.property(arbCase, (c) => {
    const t = build(c);
    const generic = diffTable(t.plainDesired, t.plainObserved);
    assert.deepEqual(diffTable(t.desired, t.observed), generic);
    // mixed sides take the generic path over the chunked table's entries
    assert.deepEqual(diffTable(t.desired, t.plainObserved), generic);
    assert.deepEqual(diffTable(t.plainDesired, t.observed), generic);
    assert.ok(deepEqual(patchTable(t.observed, diffTable(t.desired, t.observed)), t.plainDesired));
  }));
});

test("a chunk that is the same object on both sides is not read by the diff", () => {
  const poisoned = new Map<string, number>([["x", 1]]);
  const reads = { n: 0 };
  const spy = new Proxy(poisoned, {
    get(target, prop) {
      if (prop === Symbol.iterator || prop === "entries" || prop === "get") reads.n++;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as ReadonlyMap<string, number>;
  const a = new ChunkedTable<number>([["shared", spy], ["own", new Map([["y", 1]])]]);
  const b = new ChunkedTable<number>([["shared", spy], ["own", new Map([["y", 2]])]]);
  reads.n = 0;
  assert.deepEqual(diffTable(b, a), [{ op: "update", key: "y", before: 1, after: 2 }]);
  assert.equal(reads.n, 0);
});

test("ChunkedTable: empty chunks are dropped, groups are ordered, a group given twice is refused", () => {
  const t = new ChunkedTable<number>([["b", new Map([["b1", 1]])], ["a", new Map([["a1", 1]])], ["c", new Map()]]);
  assert.deepEqual(t.chunks.map(([g]) => g), ["a", "b"]);
  assert.throws(() => new ChunkedTable<number>([["b", new Map([["x", 1]])], ["a", new Map([["y", 1]])], ["b", new Map([["z", 1]])]]), /given twice/);
});

test("nodes with chunked IPVS tables: patchNode(observed, diffNode(desired, observed)) = desired", () => {
  fc.assert(fc.property(arbCase, (c) => {
    const t = build(c);
    const asReals = (m: ReadonlyMap<string, unknown>) => m as unknown as NodeState["ipvsReals"];
    const desired: NodeState = { ...emptyNodeState(), ipvsReals: asReals(t.desired), ipvsServices: t.desired as unknown as NodeState["ipvsServices"] };
    const observed: NodeState = { ...emptyNodeState(), ipvsReals: asReals(t.observed), ipvsServices: t.plainObserved as unknown as NodeState["ipvsServices"] };
    const plan = diffNode(desired, observed);
    assert.ok(sameNodeState(patchNode(observed, plan), desired));
    assert.equal(plan.ipvsReals.length, diffTable(t.plainDesired, t.plainObserved).length);
    assert.ok(diffNode(desired, desired).ipvsReals.length === 0);
  }));
});
