/**
 * Label selectors and which pods a policy selects (upstream's §8.1 fixture), as stories.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileSelector } from "../../../src/render/firewall/selectors.ts";
import { type PolicyContext, compilePolicy, namespaceLabels, policyTargets } from "../../../src/render/firewall/policy.ts";
import { indexPods } from "../../../src/render/firewall/pods.ts";
import { NODE1, cluster, ns, pod, policy } from "./fixture.ts";

const sel = (matchLabels: Record<string, string>, matchExpressions: { key: string; operator: string; values?: string[] }[] = []) =>
  ({ matchLabels, matchExpressions: matchExpressions.map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })) });

test("selector: matchLabels AND matchExpressions; In, NotIn, Exists, DoesNotExist", () => {
  // Given a selector app=a, tier In [web, api], env NotIn [prod], owner Exists, legacy DoesNotExist
  const s = compileSelector(sel({ app: "a" }, [
    { key: "tier", operator: "In", values: ["web", "api"] },
    { key: "env", operator: "NotIn", values: ["prod"] },
    { key: "owner", operator: "Exists" },
    { key: "legacy", operator: "DoesNotExist" },
  ]), "spec.podSelector", true);
  // Then only objects satisfying every requirement match
  assert.equal(s.matches({ app: "a", tier: "web", owner: "me" }), true);
  assert.equal(s.matches({ app: "a", tier: "api", env: "dev", owner: "" }), true);
  assert.equal(s.matches({ app: "b", tier: "web", owner: "me" }), false);
  assert.equal(s.matches({ app: "a", tier: "db", owner: "me" }), false);
  assert.equal(s.matches({ app: "a", tier: "web", env: "prod", owner: "me" }), false);
  assert.equal(s.matches({ app: "a", tier: "web" }), false);
  assert.equal(s.matches({ app: "a", tier: "web", owner: "me", legacy: "x" }), false);
  assert.deepEqual(s.problems, []);
  assert.equal(s.everything, false);
});

test("selector: empty selects everything; NotIn holds without the key", () => {
  assert.equal(compileSelector(sel({}), "f", true).everything, true);
  assert.equal(compileSelector(sel({}, [{ key: "k", operator: "NotIn", values: ["v"] }]), "f", true).matches({}), true);
});

test("selector: an unknown operator is a problem naming the field, evaluated on the side the caller picks", () => {
  // Given an operator upstream does not know
  const s = sel({}, [{ key: "app", operator: "Like", values: ["a"] }]);
  // When compiled for targets (fail closed = over-select) and for peers (under-select)
  const t = compileSelector(s, "spec.podSelector", true);
  const p = compileSelector(s, "spec.ingress[0].from[0].podSelector", false);
  // Then the problem names the field and the value, and the predicate takes the given side
  assert.deepEqual(t.problems, ['spec.podSelector.matchExpressions[0].operator: unknown operator "Like" (want In, NotIn, Exists, DoesNotExist)']);
  assert.equal(t.matches({ app: "zzz" }), true);
  assert.equal(p.matches({ app: "a" }), false);
  // And In without values is a problem too
  assert.match(compileSelector(sel({}, [{ key: "a", operator: "In" }]), "f", false).problems[0] ?? "", /f\.matchExpressions\[0\]\.values: operator In needs at least one value/);
});

// Upstream's fixture (kube-router-features.md §8.1)
const PODS = [
  pod("nsA", "Aa", { app: "a" }), pod("nsA", "Aaa", { app: "a", component: "a" }), pod("nsA", "Aab", { app: "a", component: "b" }),
  pod("nsA", "Aac", { app: "a", component: "c" }), pod("nsB", "Ba", { app: "a" }), pod("nsB", "Baa", { app: "a", component: "a" }),
  pod("nsB", "Bab", { app: "a", component: "b" }), pod("nsC", "Ca", { app: "a" }),
];
const NAMESPACES = [ns("nsA", { name: "a", team: "a" }), ns("nsB", { name: "b", team: "a" }), ns("nsC", { name: "c" }), ns("nsD", { name: "d" })];
const snap = cluster({ pods: PODS, namespaces: NAMESPACES });
const index = indexPods(snap, "node1", NODE1);
const ctx = (): PolicyContext => ({
  pods: index, peerCache: new Map(),
  namespaces: new Map([...snap.namespaces].map(([n, i]) => [n, namespaceLabels(n, i.labels)])),
});
const names = (pods: readonly { name: string }[]) => pods.map((p) => p.name).sort();

test("targets: empty podSelector selects every pod of the policy namespace, none of an empty or missing one", () => {
  assert.deepEqual(names(policyTargets(policy("nsA", "p", { podSelector: {} }), index).targets), ["Aa", "Aaa", "Aab", "Aac"]);
  assert.deepEqual(names(policyTargets(policy("nsD", "p", { podSelector: {} }), index).targets), []);
  assert.deepEqual(names(policyTargets(policy("nsXX", "p", { podSelector: {} }), index).targets), []);
});

test("targets: matchExpressions In ≡ matchLabels; two expressions AND", () => {
  const a = policyTargets(policy("nsA", "p", { podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a"] }] } }), index).targets;
  assert.deepEqual(names(a), ["Aa", "Aaa", "Aab", "Aac"]);
  const bc = policyTargets(policy("nsA", "p", { podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a"] }, { key: "component", operator: "In", values: ["b", "c"] }] } }), index).targets;
  assert.deepEqual(names(bc), ["Aab", "Aac"]);
});

test("peers: namespaceSelector selects pods of matching namespaces; with podSelector in the same peer it is AND", () => {
  // Given ingress from namespace name=b
  const p1 = compilePolicy(policy("nsA", "p", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: "b" } } }] }] }), ctx());
  // Then the sources are every pod of nsB
  assert.deepEqual(names(p1.directions[0]!.rules[0]!.podPeers ?? []), ["Ba", "Baa", "Bab"]);
  // Given namespace name=b AND component In [b] in one peer
  const p2 = compilePolicy(policy("nsA", "p", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: "b" } }, podSelector: { matchExpressions: [{ key: "component", operator: "In", values: ["b"] }] } }] }] }), ctx());
  // Then only Bab
  assert.deepEqual(names(p2.directions[0]!.rules[0]!.podPeers ?? []), ["Bab"]);
});

test("peers: several peers in one rule are ORed; podSelector alone means the policy namespace", () => {
  const p = compilePolicy(policy("nsA", "p", {
    podSelector: {},
    ingress: [{ from: [{ podSelector: { matchLabels: { component: "a" } } }, { namespaceSelector: { matchLabels: { name: "c" } } }] }],
  }), ctx());
  assert.deepEqual(names(p.directions[0]!.rules[0]!.podPeers ?? []), ["Aaa", "Ca"]);
});

test("peers: the API server's kubernetes.io/metadata.name label is assumed on every namespace", () => {
  const p = compilePolicy(policy("nsA", "p", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "nsC" } } }] }] }), ctx());
  assert.deepEqual(names(p.directions[0]!.rules[0]!.podPeers ?? []), ["Ca"]);
});

test("pods: hostNetwork, Succeeded, Failed and IP-less pods are never targets or peers", () => {
  // Given non-actionable pods labelled like the targets
  const s = cluster({ pods: [
    pod("n", "ok", { app: "a" }), pod("n", "host", { app: "a" }, { hostNetwork: true }), pod("n", "done", { app: "a" }, { phase: "Succeeded" }),
    pod("n", "failed", { app: "a" }, { phase: "Failed" }), pod("n", "noip", { app: "a" }, { ips: [] }),
  ] });
  // Then only the running pod with an IP is a target
  assert.deepEqual(names(policyTargets(policy("n", "p", { podSelector: {} }), indexPods(s, "node1", NODE1)).targets), ["ok"]);
});
