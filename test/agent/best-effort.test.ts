/**
 * Best-effort steps never fail a sync: the UDP conntrack flush after a real server goes away
 * failing (no conntrack binary, no nf_conntrack netlink) is a warning and a counted event;
 * the sync is still successful and converged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { type Exec, ExecError } from "../../src/apply/exec.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { isEmptyPlan } from "../../src/model/plan.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";

const cluster = (endpoints: string[]) => parseSnapshotText(`apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.250.0.11}]}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: default}
spec: {type: ClusterIP, clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10], ports: [{port: 53, protocol: UDP, targetPort: 53}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: default, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
endpoints: [${endpoints.map((a) => `{addresses: [${a}], conditions: {ready: true}}`).join(", ")}]
ports: [{port: 53, protocol: UDP}]
`, "c.yaml").snapshot;
const config = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runFirewall: false, runRouter: false };
const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/cni/10-kuberouter.conf" } };

test("given a UDP real server removed and conntrack failing, when the node syncs, then the sync succeeds with one best-effort warning", async () => {
  // Given a converged node serving a UDP Service with two endpoints
  const node = fakeNode(seed);
  const first = await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot: cluster(["10.244.1.5", "10.244.1.6"]), verify: true });
  assert.deepEqual(first.errors.map(String), []);
  // and a conntrack that cannot run
  const exec: Exec = {
    run: (cmd, args, o) => (cmd === "sh" && args.join(" ").includes("conntrack") ? Promise.reject(new ExecError(cmd, args, 127, "sh: 1: conntrack: not found")) : node.exec.run(cmd, args, o)),
  };
  // When one endpoint goes away
  const out = await syncNode({ ...node.deps, exec }, { mode: "apply", config, nodeName: "node1", snapshot: cluster(["10.244.1.5"]), verify: true });
  // Then the real server is removed, no error is reported, and the flush failure is one counted warning
  assert.deepEqual(out.errors.map(String), []);
  assert.deepEqual(out.failedDrivers, []);
  assert.equal(out.bestEffortFailures, 1);
  assert.deepEqual(out.warnings.filter((w) => w.startsWith("best-effort")), ["best-effort step conntrack (UDP flows of removed real servers) failed (the sync goes on): sh -c cat | conntrack -R -: exit 127: sh: 1: conntrack: not found"]);
  assert.ok(isEmptyPlan((await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot: cluster(["10.244.1.5"]) })).plan));
});
