/**
 * The bundled example cluster planned on a node with IPVS (the fake node): the dry-run shows
 * the healthCheckNodePort listener of the Local LoadBalancer Service and the DSR tunnel inside
 * web-0 like every other change — nothing outside the plan.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { formatPlanText } from "../../src/agent/printer.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { isEmptyPlan } from "../../src/model/plan.ts";
import { loadSnapshotFile } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";

const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conflist" } };
// the example's external and LoadBalancer IPs are inside these ranges (--strict-external-ip-validation, on by default)
const config = { ...DEFAULT_CONFIG, hostnameOverride: "node1", serviceExternalIpRange: ["198.51.100.0/24"], loadbalancerIpRange: ["203.0.113.0/24"] };

test("given the example cluster on node1, when planned, then the plan text shows the listener and the DSR tunnel; after apply both are converged", async () => {
  // Given the example cluster and a fresh node with IPVS
  const { snapshot } = loadSnapshotFile("deploy/example/cluster.yaml");
  const node = fakeNode(seed);
  // When it is planned (dry-run)
  const plan = await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot });
  const text = formatPlanText(plan.plan, plan.scripts);
  // Then the listener and the tunnel are in the plan, in their own blocks
  assert.match(text, /^# healthCheckNodePort listeners \(in-process\)\nstart listen :32081 GET \/healthz → 200 "1 Service Endpoints found" \(Service default\/web-lb\)$/m);
  assert.match(text, /^# DSR tunnels inside pods\n# pod default\/web-0 \(10\.244\.1\.10\): VIP 198\.51\.100\.82$/m);
  assert.match(text, /nsenter -t \$\(pid of containerd:\/\/4f1c0b7e2a9d\) -n ip -batch -/);
  assert.match(text, /healthChecks \+1 ~0 -0, dsrTunnels \+1 ~0 -0[,)]/m);
  assert.equal(node.healthChecks.ports().length, 0, "dry-run starts nothing");
  // When applied, then the listener serves and the tunnel exists in the pod; the next plan is empty
  const applied = await syncNode(node.deps, { mode: "apply", config, nodeName: "node1", snapshot, verify: true });
  assert.deepEqual(applied.errors.map(String), []);
  assert.deepEqual(node.healthChecks.ports(), [32081]);
  assert.deepEqual([...[...node.pods.netns.values()][0]!.get("kube-tunnel-if") ?? []], ["198.51.100.82/32"]);
  const again = await syncNode(node.deps, { mode: "plan", config, nodeName: "node1", snapshot });
  assert.ok(isEmptyPlan(again.plan));
});
