/**
 * The sync engine over a fake node: minimality (one changed object touches only its keys),
 * idempotence (a converged node writes nothing), controller isolation, and cleanup.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { isEmptyPlan, planCounts } from "../../src/model/plan.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";

const nodeYaml = (n: number, cidr = `10.244.${n}.0/24`) => `apiVersion: v1
kind: Node
metadata: {name: node${n}}
spec: {podCIDR: "${cidr}"}
status: {addresses: [{type: InternalIP, address: 10.250.0.1${n}}]}
`;
const snapshotOf = (...ns: number[]) => parseSnapshotText(ns.map((n) => nodeYaml(n)).join("---\n"), "t.yaml").snapshot;
const config: NodeConfig = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runFirewall: false, runServiceProxy: false };
const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/cni/10-kuberouter.conf" } };

test("engine: a node joining changes only its route, its set members and its BGP peer", async () => {
  // Given a converged two-node cluster
  const node = fakeNode(seed);
  await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: snapshotOf(1, 2) });
  // When node3 joins
  const out = await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot: snapshotOf(1, 2, 3) });
  // Then the plan holds exactly one route, two set members, one BGP peer and its two neighbour-set members
  assert.deepEqual(out.plan.routes.map((c) => `${c.op} ${c.key}`), ["create ipv4/main/10.244.3.0/24"]);
  assert.deepEqual(out.plan.bgpPeers.map((c) => `${c.op} ${c.key}`), ["create 10.250.0.13"]);
  assert.deepEqual(out.plan.bgpDefinedSets.map((c) => `${c.op} ${c.key}`), ["update neighbor/allpeerset", "update neighbor/iBGPpeerset"]);
  assert.deepEqual(out.plan.ipsetMembers.map((m) => [m.set, m.add, m.del]), [
    ["kube-router-node-ips", ["10.250.0.13"], []],
    ["kube-router-pod-subnets", ["10.244.3.0/24"], []],
  ]);
  assert.deepEqual(planCounts(out.plan), { add: 4, change: 2, destroy: 0 });
});

test("engine: a converged node plans nothing and runs no write command", async () => {
  // Given a converged node
  const node = fakeNode(seed);
  await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: snapshotOf(1, 2, 3) });
  const writes = node.exec.writes();
  // When it syncs again
  const out = await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: snapshotOf(1, 2, 3), verify: true });
  // Then nothing is planned or written
  assert.ok(isEmptyPlan(out.plan));
  assert.equal(out.ran, 0);
  assert.equal(node.exec.writes(), writes);
});

test("engine: a disabled router keeps its objects; cleanup removes all of ours and only ours", async () => {
  // Given a converged node with a foreign route
  const node = fakeNode({ ...seed, routes: [{ dst: "192.0.2.0/24", via: "10.250.0.12" }] });
  await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: snapshotOf(1, 2) });
  // When the router is turned off
  const off = await syncNode(node.deps, { mode: "plan", config: { ...config, runRouter: false }, nodeName: "node1", snapshot: snapshotOf(1) });
  // Then nothing of the router is pruned
  assert.ok(isEmptyPlan(off.plan), "disabled controller's objects are kept");
  // And cleanup deletes every owned object, leaving the foreign route
  const clean = await syncNode(node.deps, { mode: "cleanup", config, nodeName: "node1", verify: true });
  assert.deepEqual(clean.errors, []);
  assert.ok(planCounts(clean.plan).destroy >= 6);
  const after = await syncNode(node.deps, { mode: "cleanup-plan", config, nodeName: "node1" });
  assert.ok(isEmptyPlan(after.plan));
  const routes = await node.exec.run("ip", ["-j", "route", "show", "table", "all"]);
  assert.match(routes.stdout, /192\.0\.2\.0/);
});
