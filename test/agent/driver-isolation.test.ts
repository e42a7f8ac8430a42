/**
 * Per-driver failure isolation: a driver that fails to apply (or to observe) fails only the
 * lanes that own tables in it; the other lanes stay healthy, keep their confirmed state, and
 * their next sync is partial (no kernel read of their tables).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import { newStepMemory, runStep } from "../../src/agent/runtime/step.ts";
import { type Exec, ExecError } from "../../src/apply/exec.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";

const CLUSTER = `apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.250.0.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.250.0.12}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: ClusterIP, clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20], selector: {app: web}, ports: [{port: 80, protocol: TCP, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.2.5], conditions: {ready: true}}]
ports: [{port: 8080, protocol: TCP}]
`;
const config: NodeConfig = { ...DEFAULT_CONFIG, hostnameOverride: "node1" };
const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/cni/10-kuberouter.conf" } };

/** The fake node's exec, with `ipvsadm --restore` failing while `broken.ipvs` is set; counts reads per tool. */
function withFailingIpvs(inner: Exec) {
  const broken = { ipvs: true };
  const reads = new Map<string, number>();
  const exec: Exec = {
    async run(cmd, args, o) {
      if (!o?.write) reads.set(cmd, (reads.get(cmd) ?? 0) + 1);
      if (broken.ipvs && cmd === "ipvsadm" && args[0] === "--restore") throw new ExecError(cmd, args, 2, "Memory allocation problem");
      return inner.run(cmd, args, o);
    },
  };
  return { exec, broken, reads };
}

test("given the IPVS driver's apply fails, when all lanes sync, then only the proxy lane fails and the firewall and router keep their confirmed state", async () => {
  // Given a node whose ipvsadm restore fails
  const node = fakeNode(seed);
  const { exec, broken, reads } = withFailingIpvs(node.exec);
  const { snapshot } = parseSnapshotText(CLUSTER, "c.yaml");
  const env = { deps: { ...node.deps, exec }, config, nodeName: "node1", dryRun: false, log: makeLogger({ node: "node1", v: 0, dest: memoryDestination() }), now: Date.now };
  const mem = newStepMemory();

  // When every lane runs a full sync
  const first = await runStep(env, mem, snapshot, ["firewall", "proxy", "router"], "full");

  // Then the proxy lane failed with the IPVS apply error and the others are healthy
  const byLane = Object.fromEntries(first.lanes.map((l) => [l.lane, l]));
  assert.equal(byLane["proxy"]!.ok, false);
  assert.match(byLane["proxy"]!.error ?? "", /^apply ipvsadm --restore: .*Memory allocation problem/);
  assert.equal(byLane["firewall"]!.ok, true);
  assert.equal(byLane["router"]!.ok, true);
  assert.deepEqual(first.outcome?.failedDrivers, ["ipvs"]);
  // And the confirmed state is kept; only the IPVS part of it is distrusted
  assert.ok(mem.confirmed !== undefined, "confirmed state kept");
  assert.deepEqual([...mem.untrusted], ["ipvs"]);
  assert.ok(mem.confirmed.routes.has("ipv4/main/10.244.2.0/24"), "the router's route is confirmed");

  // When the firewall and router lanes sync next (partial) while IPVS is still broken
  reads.clear();
  const second = await runStep(env, mem, snapshot, ["firewall", "router"], "partial");
  // Then the sync ran partial, read no iptables, ipset or ip dump, and both lanes are healthy
  assert.equal(second.mode, "partial");
  assert.deepEqual(second.lanes.map((l) => [l.lane, l.ok]), [["firewall", true], ["router", true]]);
  assert.equal(reads.get("iptables-save") ?? 0, 0);
  assert.equal(reads.get("ipset") ?? 0, 0);
  assert.equal(reads.get("ip") ?? 0, 0);
  // (the distrusted IPVS tables were read again; the proxy does not render in this batch, so they are kept as they are)
  assert.ok((reads.get("ipvsadm") ?? 0) > 0);

  // When IPVS recovers and the proxy lane syncs
  broken.ipvs = false;
  const third = await runStep(env, mem, snapshot, ["proxy"], "full");
  // Then it is healthy and nothing is distrusted any more
  assert.deepEqual(third.lanes.map((l) => [l.lane, l.ok]), [["proxy", true]]);
  assert.deepEqual([...mem.untrusted], []);
});

test("given a driver whose observe fails, when the node is planned, then its tables are left out of the plan and the other tables are planned", async () => {
  const node = fakeNode(seed);
  const exec: Exec = {
    run: (cmd, args, o) => (cmd === "ipset" ? Promise.reject(new ExecError(cmd, args, 1, "Kernel error received: set type not supported")) : node.exec.run(cmd, args, o)),
  };
  const { snapshot } = parseSnapshotText(CLUSTER, "c.yaml");
  const { syncNode } = await import("../../src/agent/engine.ts");
  const out = await syncNode({ ...node.deps, exec }, { mode: "plan", config, nodeName: "node1", snapshot });
  assert.deepEqual(out.failedDrivers, ["ipset"]);
  assert.deepEqual(out.errors.map(String), ["observe ipset: ipset save: exit 1: Kernel error received: set type not supported"]);
  assert.equal(out.plan.ipsets.length + out.plan.ipsetMembers.length, 0, "nothing of the ipsets is changed blind");
  assert.ok(out.plan.routes.length > 0, "the routes are still planned");
});

test("given no gobgpd (its start failed), when all lanes sync, then only the bgp lane fails; kube-bridge, pod routes and the firewall sync", async () => {
  // Given a node whose gobgpd cannot start
  const node = fakeNode(seed);
  node.gobgp.startError = "spawn gobgpd ENOENT";
  const { snapshot } = parseSnapshotText(CLUSTER, "c.yaml");
  const env = { deps: node.deps, config, nodeName: "node1", dryRun: false, log: makeLogger({ node: "node1", v: 0, dest: memoryDestination() }), now: Date.now };
  for (const d of node.deps.drivers) await d.start?.();
  const mem = newStepMemory();
  // When every lane runs a full sync
  const out = await runStep(env, mem, snapshot, ["firewall", "proxy", "router", "bgp"], "full");
  // Then only bgp failed, with the reason, and the router's objects are in the kernel
  assert.deepEqual(out.lanes.map((l) => [l.lane, l.ok]), [["firewall", true], ["proxy", true], ["router", true], ["bgp", false]]);
  assert.match(out.lanes.find((l) => l.lane === "bgp")?.error ?? "", /gobgpd not running: spawn gobgpd ENOENT/);
  assert.deepEqual(out.outcome?.failedDrivers, ["gobgp"]);
  assert.ok(mem.confirmed?.routes.has("ipv4/main/10.244.2.0/24"));
  assert.ok(mem.confirmed?.links.has("kube-bridge"));
  // When gobgpd becomes available, the bgp lane's next sync starts it and applies the BGP state
  node.gobgp.startError = undefined;
  const again = await runStep(env, mem, snapshot, ["bgp"], "full");
  assert.deepEqual(again.lanes.map((l) => [l.lane, l.ok]), [["bgp", true]]);
  assert.equal(node.gobgp.api.callCounts().byRpc["StartBgp"], 1);
});
