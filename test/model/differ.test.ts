/**
 * The differ's laws, as properties: patch(observed, diff(desired, observed)) = desired for
 * keyed tables, ordered lists (chains) and per-member sets; diff of equal states is empty.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { deepEqual, diffMembers, diffTable, patchMembers, patchTable } from "../../src/model/table.ts";
import { diffNode, isEmptyPlan, patchNode, planCounts, planSummary, sameNodeState } from "../../src/model/plan.ts";
import { type Chain, type Ipset, type NodeState, type Route, chainKey, emptyNodeState, routeKey } from "../../src/model/state.ts";

const arbKey = fc.constantFrom("a", "b", "c", "d", "e", "f");
const arbTable = <T>(arbValue: fc.Arbitrary<T>) =>
  fc.dictionary(arbKey, arbValue).map((d) => new Map(Object.entries(d)) as ReadonlyMap<string, T>);

const arbRule = fc.constantFrom("-j ACCEPT", "-j DROP", "-s 10.0.0.1/32 -j RETURN", "-m mark --mark 0x10000/0x10000 -j RETURN");
const arbChain = (name: string): fc.Arbitrary<Chain> =>
  fc.array(arbRule, { maxLength: 4 }).map((rules) => ({ family: "ipv4", table: "filter", name, rules }));
const arbMembers = fc.uniqueArray(fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"), { maxLength: 4 }).map((a) => new Set(a));
const arbIpset = (name: string): fc.Arbitrary<Ipset> =>
  fc.record({ type: fc.constantFrom("hash:ip" as const, "hash:net" as const), members: arbMembers }).map((r) => ({ name, family: "inet", ...r }));
const arbRoute = (dst: string): fc.Arbitrary<Route> =>
  fc.constantFrom("10.0.0.2", "10.0.0.3").map((via) => ({ family: "ipv4", table: "main", dst, via, proto: "17" }));

const arbNode: fc.Arbitrary<NodeState> = fc
  .record({
    chains: fc.uniqueArray(fc.constantFrom("KUBE-ROUTER-A", "KUBE-ROUTER-B", "KUBE-ROUTER-C"), { maxLength: 3 }).chain((names) => fc.tuple(...names.map(arbChain))),
    ipsets: fc.uniqueArray(fc.constantFrom("kube-router-x", "kube-router-y"), { maxLength: 2 }).chain((names) => fc.tuple(...names.map(arbIpset))),
    routes: fc.uniqueArray(fc.constantFrom("10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"), { maxLength: 3 }).chain((d) => fc.tuple(...d.map(arbRoute))),
  })
  .map(({ chains, ipsets, routes }) => ({
    ...emptyNodeState(),
    chains: new Map(chains.map((c) => [chainKey(c), c])),
    ipsets: new Map(ipsets.map((s) => [s.name, s])),
    routes: new Map(routes.map((r) => [routeKey(r), r])),
  }));

test("keyed tables: patch(observed, diff(desired, observed)) = desired", () => {
  fc.assert(fc.property(arbTable(fc.integer({ min: 0, max: 3 })), arbTable(fc.integer({ min: 0, max: 3 })), (desired, observed) => {
    assert.ok(deepEqual(patchTable(observed, diffTable(desired, observed)), desired));
  }));
});

test("keyed tables: diff of a table with itself is empty, and output is sorted by key", () => {
  fc.assert(fc.property(arbTable(fc.string()), arbTable(fc.string()), (a, b) => {
    assert.deepEqual(diffTable(a, a), []);
    const keys = diffTable(a, b).map((c) => c.key);
    assert.deepEqual(keys, [...keys].sort());
  }));
});

test("ordered lists: a chain whose rules differ only in order is replaced", () => {
  // Given a chain observed with two rules in one order and desired in the other
  const observed = new Map([["c", ["-j ACCEPT", "-j DROP"]]]);
  const desired = new Map([["c", ["-j DROP", "-j ACCEPT"]]]);
  // When diffed
  const changes = diffTable(desired, observed);
  // Then the whole chain is one update
  assert.deepEqual(changes.map((c) => c.op), ["update"]);
});

test("sets: patchMembers(observed, diffMembers(desired, observed)) = desired", () => {
  fc.assert(fc.property(arbMembers, arbMembers, (desired, observed) => {
    assert.ok(deepEqual(patchMembers(observed, diffMembers(desired, observed)), desired));
  }));
});

test("whole node: patchNode(observed, diffNode(desired, observed)) = desired, and then the plan is empty", () => {
  fc.assert(fc.property(arbNode, arbNode, (desired, observed) => {
    const after = patchNode(observed, diffNode(desired, observed));
    assert.ok(sameNodeState(after, desired));
    assert.ok(isEmptyPlan(diffNode(desired, after)));
  }));
});

test("whole node: a member change of a kept set is a member diff, not a set replacement", () => {
  // Given a set observed with one member and desired with another, same header
  const set = (m: string[]): Ipset => ({ name: "kube-router-x", type: "hash:ip", family: "inet", members: new Set(m) });
  const observed = { ...emptyNodeState(), ipsets: new Map([["kube-router-x", set(["10.0.0.1"])]]) };
  const desired = { ...emptyNodeState(), ipsets: new Map([["kube-router-x", set(["10.0.0.2"])]]) };
  // When diffed
  const plan = diffNode(desired, observed);
  // Then there is no set change, one add and one del, and the summary counts them
  assert.deepEqual(plan.ipsets, []);
  assert.deepEqual(plan.ipsetMembers, [{ set: "kube-router-x", family: "inet", add: ["10.0.0.2"], del: ["10.0.0.1"] }]);
  assert.deepEqual(planCounts(plan), { add: 1, change: 0, destroy: 1 });
  assert.equal(planSummary(plan), "Plan: 1 to add, 0 to change, 1 to destroy.");
});

test("whole node: sysctls and files are never deleted", () => {
  // Given an observed sysctl that is no longer desired
  const observed = { ...emptyNodeState(), sysctls: new Map([["net/ipv4/ip_forward", { path: "net/ipv4/ip_forward", value: "1" }]]) };
  // When diffed against nothing
  const plan = diffNode(emptyNodeState(), observed);
  // Then nothing is planned
  assert.ok(isEmptyPlan(plan));
});
