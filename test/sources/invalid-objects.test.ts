/**
 * Every invalid object is named (issue 17): one object the Kubernetes API server would reject,
 * added to the example cluster, gives exactly one warning line naming the file (or, for the
 * firewall's fail-closed policies, the API object), the kind, namespace/name and field; the
 * object is skipped (a policy fails closed for its pods instead), and the warning is counted in
 * kube_router_render_warnings: skipped objects as controller="input" (and by kind in
 * kube_router_input_warnings{kind}), fail-closed policies as controller="firewall". The rest of the cluster renders as before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { syncNode } from "../../src/agent/engine.ts";
import { makeMetrics } from "../../src/agent/runtime/metrics.ts";
import { type ClusterSnapshot, formatWarning } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { policyChainName } from "../../src/render/firewall/names.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";

const EXAMPLE = readFileSync(join(import.meta.dirname, "../../deploy/example/cluster.yaml"), "utf8");
const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conflist" } };
// the example's external and LoadBalancer IPs are inside these ranges: the clean example renders without warnings
const config = { ...DEFAULT_CONFIG, hostnameOverride: "node1", serviceExternalIpRange: ["198.51.100.0/24"], loadbalancerIpRange: ["203.0.113.0/24"] };

interface Outcome {
  readonly snapshot: ClusterSnapshot;
  /** Input and render warnings, each one line, input first. */
  readonly lines: readonly string[];
  /** The warning metrics' samples (`name{labels} value`), non-zero only. */
  readonly counted: readonly string[];
  readonly chainRules: (ns: string, name: string, dir: "ingress" | "egress") => readonly string[] | undefined;
}

/** The example cluster plus `extra` (YAML documents), loaded as `cluster.yaml` and planned on node1. */
async function plan(extra: string): Promise<Outcome> {
  const { snapshot, warnings } = parseSnapshotText(`${EXAMPLE}\n---\n${extra}`, "cluster.yaml");
  const out = await syncNode(fakeNode(seed).deps, { mode: "plan", config, nodeName: "node1", snapshot });
  const metrics = makeMetrics({ sourceStatus: () => undefined, warnings: () => warnings }, { defaults: false });
  if (out.controllerWarnings) metrics.renderWarnings(out.controllerWarnings);
  const text = await metrics.registry.metrics();
  const counted = text.split("\n").filter((l) => /^kube_router_(input|render)_warnings\{/.test(l) && !l.endsWith(" 0"));
  return {
    snapshot,
    lines: [...warnings.map(formatWarning), ...out.warnings],
    counted,
    chainRules: (ns, name, dir) => out.desired.chains.get(`ipv4/filter/${policyChainName(ns, name, dir)}`)?.rules,
  };
}

test("given the clean example cluster, when planned on node1, then there is no warning (the baseline of every case below)", async () => {
  const r = await plan("");
  assert.deepEqual(r.lines, []);
  assert.deepEqual(r.counted, []);
});

test("given a NetworkPolicy with apiVersion networking.k8s.io/v9, when loaded, then one line names file, kind, object and apiVersion and the policy is skipped", async () => {
  const r = await plan("apiVersion: networking.k8s.io/v9\nkind: NetworkPolicy\nmetadata: {name: v9, namespace: default}\nspec: {podSelector: {}}\n");
  assert.deepEqual(r.lines, ['cluster.yaml: NetworkPolicy default/v9: apiVersion: must be networking.k8s.io/v1, not "networking.k8s.io/v9" (object skipped)']);
  assert.equal(r.snapshot.networkPolicies.has("default/v9"), false);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="input"} 1', 'kube_router_input_warnings{kind="NetworkPolicy"} 1']);
});

test("given a NetworkPolicy with the retired apiVersion extensions/v1beta1, when loaded, then it is named and skipped like any unserved version", async () => {
  const r = await plan("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: old, namespace: default}\nspec: {podSelector: {}}\n");
  assert.deepEqual(r.lines, ['cluster.yaml: NetworkPolicy default/old: apiVersion: must be networking.k8s.io/v1, not "extensions/v1beta1" (object skipped)']);
  assert.equal(r.snapshot.networkPolicies.has("default/old"), false);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="input"} 1', 'kube_router_input_warnings{kind="NetworkPolicy"} 1']);
});

test("given a Service with no spec, when loaded, then one line names file, kind, object and spec and the Service is skipped", async () => {
  const r = await plan("apiVersion: v1\nkind: Service\nmetadata: {name: nospec, namespace: default}\n");
  assert.deepEqual(r.lines, ["cluster.yaml: Service default/nospec: spec: is required (object skipped)"]);
  assert.equal(r.snapshot.services.has("default/nospec"), false);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="input"} 1', 'kube_router_input_warnings{kind="Service"} 1']);
});

test("given a Service whose selector is a list, when loaded, then one line names file, kind, object and spec.selector and the Service is skipped", async () => {
  const r = await plan("apiVersion: v1\nkind: Service\nmetadata: {name: badsel, namespace: default}\nspec: {selector: [app], clusterIP: 10.96.0.50, ports: [{port: 80}]}\n");
  assert.deepEqual(r.lines, ["cluster.yaml: Service default/badsel: spec.selector: must be an object, not a list (object skipped)"]);
  assert.equal(r.snapshot.services.has("default/badsel"), false);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="input"} 1', 'kube_router_input_warnings{kind="Service"} 1']);
});

test("given a Service whose selector maps a key to a number, when loaded, then the key is named and the Service is skipped", async () => {
  const r = await plan("apiVersion: v1\nkind: Service\nmetadata: {name: numsel, namespace: default}\nspec: {selector: {app: 7}, clusterIP: 10.96.0.51, ports: [{port: 80}]}\n");
  assert.deepEqual(r.lines, ["cluster.yaml: Service default/numsel: spec.selector.app: must be a string, not a number (object skipped)"]);
  assert.equal(r.snapshot.services.has("default/numsel"), false);
});

// A policy in a namespace without pods on node1: before, its rules were never compiled on node1, so nothing was said.
const otherNsPolicy = (name: string, cidr: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: other}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: "${cidr}"}}]}]}\n`;

test("given an ipBlock CIDR with a space in a policy selecting no pod on this node, when planned, then one line names the policy and field and says it fails closed", async () => {
  const r = await plan(otherNsPolicy("space", "10.0.0.0 /16"));
  assert.deepEqual(r.lines, ['NetworkPolicy other/space: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.0.0.0 /16"; ingress fails closed']);
  assert.equal(r.snapshot.networkPolicies.has("other/space"), true, "kept: skipping it would fail its pods open");
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="firewall"} 1']);
});

test("given an ipBlock CIDR with prefix /129 in a policy selecting no pod on this node, when planned, then one line names the policy and field", async () => {
  const r = await plan(otherNsPolicy("p129", "::/129"));
  assert.deepEqual(r.lines, ['NetworkPolicy other/p129: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "::/129"; ingress fails closed']);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="firewall"} 1']);
});

test("given an ipBlock CIDR with prefix /129 in a policy selecting web-0 on this node, when planned, then it is named once and web-0's ingress through it allows nothing", async () => {
  const r = await plan("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p129, namespace: default}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: \"::/129\"}}]}]}\n");
  assert.deepEqual(r.lines, ['NetworkPolicy default/p129: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "::/129"; ingress fails closed']);
  assert.deepEqual(r.chainRules("default", "p129", "ingress"), []);
});

test("given a policy port with endPort below port selecting web-0, when planned, then one line names the policy and endPort and its ingress fails closed", async () => {
  const r = await plan("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ep, namespace: default}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 90, endPort: 80}]}]}\n");
  assert.deepEqual(r.lines, ["NetworkPolicy default/ep: spec.ingress[0].ports[0].endPort: 80 must be greater than or equal to port 90; ingress fails closed"]);
  assert.deepEqual(r.chainRules("default", "ep", "ingress"), []);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="firewall"} 1']);
});

test("given a policy port with endPort and a named port, when planned, then endPort is named and the ingress fails closed", async () => {
  const r = await plan("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: epn, namespace: default}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http, endPort: 9000}]}]}\n");
  assert.deepEqual(r.lines, ["NetworkPolicy default/epn: spec.ingress[0].ports[0].endPort: may not be set when port is a name; ingress fails closed"]);
  assert.deepEqual(r.chainRules("default", "epn", "ingress"), []);
});

test("given a Pod with no spec, when loaded, then one line names file, kind, object and spec and the Pod is skipped", async () => {
  const r = await plan("apiVersion: v1\nkind: Pod\nmetadata: {name: nospec, namespace: default}\nstatus: {podIP: 10.244.1.77}\n");
  assert.deepEqual(r.lines, ["cluster.yaml: Pod default/nospec: spec: is required (object skipped)"]);
  assert.equal(r.snapshot.pods.has("default/nospec"), false);
  assert.deepEqual(r.counted, ['kube_router_render_warnings{controller="input"} 1', 'kube_router_input_warnings{kind="Pod"} 1']);
});

test("given fields beyond the issue's list that the API server rejects, when projected, then each is named and its object skipped", () => {
  const cases: [string, string][] = [
    ["kind: Pod\nmetadata: {name: p, namespace: x}\nspec: {containers: [{ports: [{name: HTTP, containerPort: 80}]}]}",
      `cluster.yaml: Pod x/p: spec.containers[0].ports[0].name: "HTTP" is not a port name: must contain only lowercase letters, digits and '-' (object skipped)`],
    ["kind: Pod\nmetadata: {name: p, namespace: x}\nspec: {}\nstatus: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}",
      "cluster.yaml: Pod x/p: status.podIPs[1]: duplicate address of family ipv4 (object skipped)"],
    ["kind: Service\nmetadata: {name: s, namespace: x}\nspec: {clusterIPs: [10.96.0.1, 10.96.0.2], ports: [{port: 80}]}",
      "cluster.yaml: Service x/s: spec.clusterIPs[1]: duplicate address of family ipv4 (object skipped)"],
    ["kind: Service\nmetadata: {name: s, namespace: x}\nspec: {ports: [{name: a, port: 80}, {name: b, port: 80}]}",
      "cluster.yaml: Service x/s: spec.ports[1]: duplicate port 80/TCP (object skipped)"],
    ["kind: Service\nmetadata: {name: s, namespace: x}\nspec: {ports: [{name: a_b, port: 80}]}",
      `cluster.yaml: Service x/s: spec.ports[0].name: "a_b" is not a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (object skipped)`],
    ["kind: Node\nmetadata: {name: n}\nspec: {podCIDRs: [10.244.1.0/24, 10.244.2.0/24]}",
      "cluster.yaml: Node n: spec.podCIDRs[1]: duplicate address of family ipv4 (object skipped)"],
    ["apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: e, namespace: x, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4",
      `cluster.yaml: EndpointSlice x/e: apiVersion: must be discovery.k8s.io/v1, not "discovery.k8s.io/v1beta1" (object skipped)`],
  ];
  for (const [text, line] of cases) {
    const { snapshot, warnings } = parseSnapshotText(text, "cluster.yaml");
    assert.deepEqual(warnings.map(formatWarning), [line]);
    assert.equal(snapshot.pods.size + snapshot.services.size + snapshot.nodes.size + snapshot.endpointSlices.size, 0);
  }
});
