/**
 * Render depends on the cluster's content, never on the order objects arrived in: the API
 * source fills its maps in arrival order, the snapshot file in file order. Same objects in
 * any order ⇒ byte-identical desired state and the same warnings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateCluster } from "../../bench/gen.ts";
import { benchConfig, benchHost } from "../../bench/setup.ts";
import type { ClusterSnapshot } from "../../src/model/cluster.ts";
import { renderNode } from "../../src/render/index.ts";
import { filesText, ipText, ipsetText, iptablesText, sysctlText } from "../../src/agent/state-text.ts";
import { ipvsText } from "../../src/render/proxy/ipvsadm-text.ts";
import type { NodeState } from "../../src/model/state.ts";
import { assemble } from "../../src/render/assemble.ts";
import { emptyNodeState } from "../../src/model/state.ts";

const reversed = <T>(m: ReadonlyMap<string, T>): ReadonlyMap<string, T> => new Map([...m].reverse());

const stateText = (d: NodeState): string => [iptablesText(d), ipsetText(d), ipText(d), sysctlText(d), filesText(d), ipvsText(d)].join("\n---\n");

function render(snapshot: ClusterSnapshot, g: ReturnType<typeof generateCluster>) {
  const cni = "/nonexistent/10-kuberouter.conf";
  const out = renderNode({ snapshot, config: benchConfig(g, cni), host: benchHost(g, cni), nodeName: g.selfNode });
  const rendered = out.map((r) => ({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) }));
  const warnings = out.flatMap((r) => (r.result ? ("ok" in r.result ? r.result.ok.warnings : [r.result.error, ...r.result.warnings]) : []));
  return { text: stateText(assemble(rendered, emptyNodeState()).desired), warnings, status: out.map((r) => r.status) };
}

test("given a cluster, when its objects arrive in reverse order, then every controller renders the same bytes and warnings", () => {
  // Given a generated cluster with nodes, pods, services, slices and policies
  const g = generateCluster("S");
  const s = g.snapshot;
  // When the same objects come in the opposite order
  const r = { nodes: reversed(s.nodes), namespaces: reversed(s.namespaces), pods: reversed(s.pods), services: reversed(s.services), endpointSlices: reversed(s.endpointSlices), networkPolicies: reversed(s.networkPolicies) };
  const a = render(s, g);
  const b = render(r, g);
  // Then the desired state, the warnings and the statuses are identical
  assert.deepEqual(b.status, a.status);
  assert.ok(a.text.length > 1000, "the cluster renders something");
  assert.equal(b.text, a.text);
  assert.deepEqual(b.warnings, a.warnings);
});
