/**
 * Incremental by construction: the plan (diffNode of two renders) after one change touches
 * only what that change is about; a no-op render plans nothing; renders are byte-identical.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../../src/agent/engine.ts";
import { formatPlanText } from "../../../src/agent/printer.ts";
import type { ClusterSnapshot, PodInfo } from "../../../src/model/cluster.ts";
import { DEFAULT_CONFIG } from "../../../src/model/config.ts";
import { type NodePlan, diffNode, isEmptyPlan } from "../../../src/model/plan.ts";
import { type NodeState, emptyNodeState } from "../../../src/model/state.ts";
import { podChainName, policyChainName } from "../../../src/render/firewall/names.ts";
import { fakeNode } from "../../support/fake-node.ts";
import { cluster, ns, pod, policy, render } from "./fixture.ts";

const full = (s: ClusterSnapshot): NodeState => ({ ...emptyNodeState(), ...render(s).state });
const plan = (before: ClusterSnapshot, after: ClusterSnapshot): NodePlan => diffNode(full(after), full(before));
const chainChanges = (p: NodePlan) => p.chains.map((c) => `${c.op} ${c.key}`);
const setChanges = (p: NodePlan) => [...p.ipsets.map((c) => `${c.op} ${c.key}`), ...p.ipsetMembers.map((m) => `members ${m.set} +${m.add.join(",")} -${m.del.join(",")}`)];

const PODS: PodInfo[] = [
  pod("x", "a", { app: "a" }, { ips: ["10.244.1.2"] }), pod("x", "b", { app: "b" }, { ips: ["10.244.1.3"] }), pod("x", "d", { app: "b" }, { ips: ["10.244.1.4"] }),
  pod("y", "a", { app: "a" }, { node: "node2", ips: ["10.244.2.2"] }), pod("y", "b", { app: "b" }, { node: "node2", ips: ["10.244.2.3"] }),
];
const POLICIES = [
  policy("x", "a-from-b", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "b" } }, namespaceSelector: {} }], ports: [{ port: 80 }] }] }),
  policy("x", "b-from-red", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "red" } } }] }] }),
];
const NSS = [ns("x", { team: "blue" }), ns("y", { team: "red" })];
const base = cluster({ pods: PODS, policies: POLICIES, namespaces: NSS });
const withPods = (pods: PodInfo[]) => cluster({ pods, policies: POLICIES, namespaces: NSS });

test("incremental: the same input renders byte-identical output and plans nothing", () => {
  assert.equal(JSON.stringify([...full(base).chains]), JSON.stringify([...full(base).chains]));
  assert.ok(isEmptyPlan(plan(base, base)));
});

test("incremental: a remote pod relabelled changes set members only", () => {
  // Given y/a (node2) relabelled app=a → app=b, so it becomes a source of x/a-from-b
  const after = withPods(PODS.map((p) => (p.namespace === "y" && p.name === "a" ? { ...p, labels: { app: "b" } } : p)));
  const p = plan(base, after);
  // Then no chain changes and one member add
  assert.deepEqual(chainChanges(p), []);
  assert.equal(p.ipsetMembers.length, 1);
  assert.deepEqual(p.ipsetMembers[0]!.add, ["10.244.2.2"]);
  assert.deepEqual(p.ipsets, []);
});

test("incremental: a local pod relabelled changes set members and that pod's chain only", () => {
  // Given x/b relabelled to app=a: it leaves x/b-from-red's targets and joins x/a-from-b's
  const after = withPods(PODS.map((p) => (p.namespace === "x" && p.name === "b" ? { ...p, labels: { app: "a" } } : p)));
  const p = plan(base, after);
  // Then only x/b's chain is rewritten (its policy jumps changed)
  assert.deepEqual(chainChanges(p), [`update ipv4/filter/${podChainName("x", "b")}`]);
  // And the sets change by members only (target and peer sets), no set is created or rebuilt
  assert.deepEqual(p.ipsets.filter((c) => c.op !== "delete"), []);
  assert.ok(p.ipsetMembers.length > 0);
  for (const m of p.ipsetMembers) assert.deepEqual([...m.add, ...m.del], ["10.244.1.3"]);
});

test("incremental: a policy whose last local target goes away is removed (chains and sets), and comes back whole", () => {
  // Given x/b and x/d, the only (local) targets of x/b-from-red, relabelled away
  const gone = withPods(PODS.map((p) => (p.namespace === "x" && p.labels["app"] === "b" ? { ...p, labels: { app: "z" } } : p)));
  const p = plan(base, gone);
  // Then its chain and its sets are deleted (a policy selecting no pod here renders nothing here)
  assert.ok(chainChanges(p).includes(`delete ipv4/filter/${policyChainName("x", "b-from-red", "ingress")}`));
  assert.ok(p.ipsets.every((c) => c.op === "delete") && p.ipsets.length === 2);
  assert.ok(chainChanges(plan(gone, base)).includes(`create ipv4/filter/${policyChainName("x", "b-from-red", "ingress")}`));
});

test("incremental: a remote pod added or removed changes set members only", () => {
  const added = withPods([...PODS, pod("y", "c", { app: "b" }, { node: "node2", ips: ["10.244.2.9"] })]);
  const p = plan(base, added);
  assert.deepEqual(chainChanges(p), []);
  assert.deepEqual(setChanges(p).sort(), p.ipsetMembers.map((m) => `members ${m.set} +10.244.2.9 -`).sort());
  const q = plan(added, base);
  assert.deepEqual(chainChanges(q), []);
  assert.ok(q.ipsetMembers.every((m) => m.add.length === 0 && m.del.join() === "10.244.2.9"));
});

test("incremental: a local pod added creates its chain, adds its jumps to the top-level chains, and set members", () => {
  const p = plan(base, withPods([...PODS, pod("x", "c", { app: "a" }, { ips: ["10.244.1.9"] })]));
  assert.deepEqual(chainChanges(p).sort(), [
    `create ipv4/filter/${podChainName("x", "c")}`,
    "update ipv4/filter/KUBE-ROUTER-FORWARD", "update ipv4/filter/KUBE-ROUTER-INPUT", "update ipv4/filter/KUBE-ROUTER-OUTPUT",
  ].sort());
  assert.deepEqual(p.ipsets, []);
  assert.ok(p.ipsetMembers.every((m) => m.add.join() === "10.244.1.9" && m.del.length === 0));
});

test("incremental: a policy change rewrites that policy's chain (and its sets) only", () => {
  // Given x/a-from-b's port 80 → 8080
  const changed = POLICIES.map((q) => (q.name === "a-from-b" ? policy("x", "a-from-b", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "b" } }, namespaceSelector: {} }], ports: [{ port: 8080 }] }] }) : q));
  const p = plan(base, cluster({ pods: PODS, policies: changed, namespaces: NSS }));
  assert.deepEqual(chainChanges(p), [`update ipv4/filter/${policyChainName("x", "a-from-b", "ingress")}`]);
  assert.deepEqual(setChanges(p), []);
});

test("incremental: a namespace relabel changes the affected sets' members only", () => {
  const p = plan(base, cluster({ pods: PODS, policies: POLICIES, namespaces: [ns("x", { team: "red" }), ns("y", { team: "red" })] }));
  assert.deepEqual(chainChanges(p), []);
  assert.deepEqual(p.ipsets, []);
  assert.equal(p.ipsetMembers.length, 1);
  assert.deepEqual(p.ipsetMembers[0]!.add, ["10.244.1.2", "10.244.1.3", "10.244.1.4"]);
});

test("incremental: through the engine (as `kube-router --dry-run --once`), a converged node plans nothing, and after one pod label change only that pod's set memberships and chain", async () => {
  // Given a fake node converged on the base cluster with only the firewall running
  const node = fakeNode({ interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" } });
  const config = { ...DEFAULT_CONFIG, runRouter: false, runServiceProxy: false, hostnameOverride: "node1" };
  const first = await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: base, verify: true });
  assert.deepEqual(first.errors, []);
  const dry = await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot: base });
  assert.ok(isEmptyPlan(dry.plan));
  // When x/b is relabelled and the node is planned (dry run)
  const after = withPods(PODS.map((p) => (p.namespace === "x" && p.name === "b" ? { ...p, labels: { app: "a" } } : p)));
  const out = await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot: after });
  // Then the plan is x/b's chain plus member adds/dels of 10.244.1.3
  assert.deepEqual(chainChanges(out.plan), [`update ipv4/filter/${podChainName("x", "b")}`]);
  assert.deepEqual(out.plan.jumps, []);
  const text = formatPlanText(out.plan, out.scripts);
  const lines = text.split("\n").filter((l) => /^(add|del|create|destroy|-A|-D|-I|-X|:)/.test(l));
  for (const l of lines) assert.match(l, new RegExp(`10\\.244\\.1\\.3|${podChainName("x", "b")}`), l);
});
