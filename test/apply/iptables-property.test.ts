/**
 * Property: for any owned state found on a node (with foreign chains and rules interleaved,
 * duplicates, displaced jumps) and any desired owned state, one sync over the fake
 * (observe → diffNode → compile → restore) reaches the desired state exactly, leaves every
 * foreign rule where it was relative to the other foreign rules, and a second diff is empty.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { iptablesBackend } from "../../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../../src/apply/iptables/driver.ts";
import { FakeIptables } from "../../src/apply/iptables/fake.ts";
import { parseSaveText, ruleCommentAndTarget } from "../../src/apply/iptables/save-format.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { ruleTokens } from "../../src/model/iptables-rule.ts";
import { ownsBuiltinRule, ownsChain } from "../../src/model/names.ts";
import { diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import { type Chain, type Family, type IptTableName, type Jump, type NodeState, chainKey, emptyNodeState, jumpKey } from "../../src/model/state.ts";
import { deepEqual, sortedTable } from "../../src/model/table.ts";

type Place = { family: Family; table: IptTableName; builtins: string[] };
const PLACES: Place[] = [
  { family: "ipv4", table: "filter", builtins: ["INPUT", "FORWARD"] },
  { family: "ipv4", table: "nat", builtins: ["POSTROUTING"] },
  { family: "ipv6", table: "filter", builtins: ["FORWARD"] },
];
const CHAIN_NAMES = ["KUBE-NWPLCY-C", "KUBE-POD-FW-D", "KUBE-ROUTER-A", "KUBE-ROUTER-B"];
const COMMENTS = ["kube-router a", "kube-router b", "allow outbound traffic from pods", "kube-router netpol - u"];
const baseRules = (f: Family): string[] => [
  "-j ACCEPT", "-j RETURN", "-m mark --mark 0x10000/0x10000 -j RETURN", `-m comment --comment "ns/pol ingress" -j ACCEPT`,
  f === "ipv4" ? "-s 10.0.0.0/8 -j RETURN" : "-s fd00::/8 -j RETURN",
];
const FOREIGN_RULES = ["-i eth0 -j ACCEPT", "-j FOREIGN-A", `-m comment --comment "docker rule" -j FOREIGN-A`];

interface Owned { place: Place; chains: Chain[]; builtin: Map<string, string[]> }

/** Owned chains of one place (jumps only to later chains: no loops) and candidate builtin rules. */
const arbChains = (p: Place): fc.Arbitrary<Chain[]> =>
  fc.uniqueArray(fc.constantFrom(...CHAIN_NAMES), { maxLength: 3 }).chain((names) => {
    const sorted = [...names].sort();
    return fc.tuple(...sorted.map((name, i) =>
      fc.array(fc.constantFrom(...baseRules(p.family), ...sorted.slice(i + 1).map((t) => `-j ${t}`)), { maxLength: 3 })
        .map((rules): Chain => ({ family: p.family, table: p.table, name, rules })),
    ));
  });
const ownedRule = (comment: string | undefined, target: string): string =>
  comment === undefined ? `-j ${target}` : `-m comment --comment "${comment}" -j ${target}`;

/** A desired state: chains, and per builtin chain distinct-keyed jumps at positions 1..n. */
const arbDesired: fc.Arbitrary<NodeState> = fc.tuple(...PLACES.map((p) =>
  arbChains(p).chain((chains) => {
    const targets = ["ACCEPT", "RETURN", ...chains.map((c) => c.name)];
    const owned = chains.map((c) => c.name);
    const arbJumpList = fc.uniqueArray(
      fc.oneof(
        fc.tuple(fc.constantFrom(...COMMENTS), fc.constantFrom(...targets)).map(([c, t]) => ownedRule(c, t)),
        ...(owned.length > 0 ? [fc.constantFrom(...owned).map((t) => ownedRule(undefined, t))] : []),
      ),
      { maxLength: 3, selector: (r) => ruleCommentAndTarget(ruleTokens(r)).comment ?? r },
    );
    return fc.tuple(...p.builtins.map(() => arbJumpList)).map((lists): Owned => ({
      place: p, chains, builtin: new Map(p.builtins.map((b, i) => [b, lists[i]!])),
    }));
  }),
)).map((places) => {
  const chains: [string, Chain][] = [];
  const jumps: [string, Jump][] = [];
  for (const o of places) {
    for (const c of o.chains) chains.push([chainKey(c), c]);
    for (const [chain, rules] of o.builtin) {
      rules.forEach((rule, i) => {
        const comment = ruleCommentAndTarget(ruleTokens(rule)).comment ?? rule;
        const j: Jump = { family: o.place.family, table: o.place.table, chain, comment, rule, position: i + 1 };
        jumps.push([jumpKey(j), j]);
      });
    }
  }
  return { ...emptyNodeState(), chains: sortedTable(chains), jumps: sortedTable(jumps) };
});

/** What a node might hold: owned chains, a foreign chain, builtin chains mixing owned (dupes too) and foreign rules. */
const arbSeed: fc.Arbitrary<Map<Family, string>> = fc.tuple(...PLACES.map((p) =>
  arbChains(p).chain((chains) => {
    const targets = ["ACCEPT", ...chains.map((c) => c.name)];
    const anyRule = fc.oneof(
      fc.constantFrom(...FOREIGN_RULES),
      fc.tuple(fc.constantFrom(...COMMENTS), fc.constantFrom(...targets)).map(([c, t]) => ownedRule(c, t)),
      ...(chains.length > 0 ? [fc.constantFrom(...chains.map((c) => ownedRule(undefined, c.name)))] : []),
    );
    return fc.tuple(...p.builtins.map(() => fc.array(anyRule, { maxLength: 6 }))).map((lists) => {
      const lines = [`*${p.table}`, ...p.builtins.map((b) => `:${b} ACCEPT [0:0]`), ":FOREIGN-A - [0:0]"];
      for (const c of chains) lines.push(`:${c.name} - [0:0]`);
      p.builtins.forEach((b, i) => lists[i]!.forEach((r) => lines.push(`-A ${b} ${r}`)));
      lines.push("-A FOREIGN-A -j ACCEPT");
      for (const c of chains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
      lines.push("COMMIT");
      return [p.family, lines.join("\n") + "\n"] as const;
    });
  }),
)).map((parts) => {
  const m = new Map<Family, string>();
  for (const [f, text] of parts) m.set(f, (m.get(f) ?? "") + text);
  return m;
});

/** Foreign content of a dump: non-owned chains whole, and builtin chains' foreign rules in order. */
function foreign(dump: string): unknown {
  return parseSaveText(dump).map((t) => [t.name, [...t.rules].flatMap(([chain, rules]) => {
    if (t.policies.get(chain) === "-") return ownsChain(chain) ? [] : [[chain, rules]];
    return [[chain, rules.filter((r) => { const { comment, target } = ruleCommentAndTarget(ruleTokens(r)); return !ownsBuiltinRule(comment, target); })]];
  })]);
}

for (const mode of ["nft", "legacy"] as const) {
  test(`one sync over the fake reaches any desired state and keeps foreign rules (${mode})`, async () => {
    const driver = iptablesDriver(iptablesBackend(mode));
    await fc.assert(fc.asyncProperty(arbSeed, arbDesired, async (seed, desired) => {
      // Given a fake node seeded with owned and foreign state
      const fake = new FakeIptables({ variants: [mode] });
      for (const [family, text] of seed) fake.seed(family, text);
      const foreignBefore = [foreign(fake.dump("ipv4")), foreign(fake.dump("ipv6"))];
      const exec = fakeExec(fake);
      const observed = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
      // When the plan's scripts run
      for (const s of driver.scripts(diffNode(desired, observed))) await s.run(exec);
      // Then observing again gives exactly the desired chains and jumps
      const after = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
      assert.ok(deepEqual(after.chains, desired.chains), "chains");
      assert.ok(deepEqual(after.jumps, desired.jumps), `jumps\n${fake.dump("ipv4")}`);
      // And foreign chains and rules are as they were
      assert.deepEqual([foreign(fake.dump("ipv4")), foreign(fake.dump("ipv6"))], foreignBefore);
      // And a second sync has nothing to do
      const writes = exec.writes();
      const again = diffNode(desired, after);
      assert.ok(isEmptyPlan(again));
      assert.deepEqual(driver.scripts(again), []);
      assert.equal(exec.writes(), writes);
    }), { numRuns: 300 });
  });
}

test("a state already in place compiles to no script (no-op sync writes nothing)", async () => {
  const driver = iptablesDriver(iptablesBackend("nft"));
  await fc.assert(fc.asyncProperty(arbDesired, async (desired) => {
    // Given a node brought to the desired state from empty
    const fake = new FakeIptables();
    const exec = fakeExec(fake);
    const first = diffNode(desired, { ...emptyNodeState(), ...(await driver.observe(exec, desired)) });
    for (const s of driver.scripts(first)) await s.run(exec);
    // When synced again
    const writes = exec.writes();
    const plan = diffNode(desired, { ...emptyNodeState(), ...(await driver.observe(exec, desired)) });
    // Then no script and no write
    assert.deepEqual(driver.scripts(plan), []);
    assert.equal(exec.writes(), writes);
  }), { numRuns: 100 });
});

test("cleanup: diffing an empty desired state removes every owned object and only those", async () => {
  const driver = iptablesDriver(iptablesBackend("legacy"));
  await fc.assert(fc.asyncProperty(arbSeed, async (seed) => {
    // Given a seeded node
    const fake = new FakeIptables();
    for (const [family, text] of seed) fake.seed(family, text);
    const foreignBefore = [foreign(fake.dump("ipv4")), foreign(fake.dump("ipv6"))];
    const exec = fakeExec(fake);
    const empty = emptyNodeState();
    // When the empty state is applied
    const observed = { ...empty, ...(await driver.observe(exec, empty)) };
    for (const s of driver.scripts(diffNode(empty, observed))) await s.run(exec);
    // Then nothing owned is left and foreign state is intact
    const after = await driver.observe(exec, empty);
    assert.equal((after.chains?.size ?? 0) + (after.jumps?.size ?? 0), 0);
    assert.deepEqual([foreign(fake.dump("ipv4")), foreign(fake.dump("ipv6"))], foreignBefore);
  }), { numRuns: 150 });
});
