/**
 * The conformance suite's own helpers, without a kernel: the expectation DSL, the matrix diff,
 * the fixed IP plan and the snapshot it generates.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSnapshotText } from "../../../src/sources/snapshot-file.ts";
import { CASES, DUAL_STACK_CASES } from "./cases.ts";
import { compare, formatDiff, reach } from "./reachability.ts";
import { np, snapshotYaml } from "./snapshot.ts";
import { ALL_PODS, NODE_OF, PROBES, podIp, type Observed, type PodId, type ProbeResult } from "./topology.ts";

function observed(fn: (p: string, f: PodId, t: PodId) => boolean): Observed {
  const out = {} as Record<string, Record<PodId, Record<PodId, ProbeResult>>>;
  for (const p of PROBES) {
    out[p] = {} as Record<PodId, Record<PodId, ProbeResult>>;
    for (const f of ALL_PODS) {
      out[p][f] = {} as Record<PodId, ProbeResult>;
      for (const t of ALL_PODS) out[p][f][t] = { ok: fn(p, f, t), how: fn(p, f, t) ? "connected" : "ECONNREFUSED", tries: 1, ms: 1 };
    }
  }
  return out as Observed;
}

test("netpol DSL: later overrides win, per probe, by pod, namespace and pod-name selectors", () => {
  // Given deny-all to x, then allow from x/b on tcp/80, then from every pod b on udp/81
  const r = reach(true).deny("*", "x/*").allow("x/b", "x/a", ["tcp/80"]).allow("*/b", "x/c", ["udp/81"]);
  // Then
  assert.equal(r.get("tcp/80", "x/b", "x/a"), true);
  assert.equal(r.get("tcp/81", "x/b", "x/a"), false);
  assert.equal(r.get("udp/81", "z/b", "x/c"), true);
  assert.equal(r.get("udp/81", "z/a", "x/c"), false);
  assert.equal(r.get("tcp/80", "y/a", "y/b"), true);
  // And a pod always reaches itself (loopback never leaves its netns)
  assert.equal(reach(false).get("tcp/80", "x/a", "x/a"), true);
  assert.throws(() => reach(true).deny("x", "*"), /bad selector/);
});

test("netpol DSL: a mismatch is reported as two truth tables and a list", () => {
  const want = reach(true).deny("*", "x/a").allow("x/b", "x/a");
  const seen = observed((p, f, t) => want.get(p as never, f, t) && !(f === "x/b" && t === "x/a" && p === "udp/81"));
  const wrong = compare(want, seen);
  assert.deepEqual(wrong, [{ probe: "udp/81", from: "x/b", to: "x/a", expected: true, how: "ECONNREFUSED" }]);
  const text = formatDiff(want, seen, wrong);
  assert.match(text, /^udp\/81: 1 wrong/);
  assert.match(text, /x\/b {5}\. {3}\. .* x\/b {5}X\* /);
  assert.match(text, /udp\/81 x\/b -> x\/a: expected reachable, observed blocked \(ECONNREFUSED\)/);
});

test("netpol topology: nine distinct pod IPs, one pod of each namespace per node", () => {
  assert.equal(new Set(ALL_PODS.map(podIp)).size, 9);
  assert.equal(podIp("x/a"), "10.244.1.11");
  assert.equal(podIp("y/b"), "10.244.3.22");
  for (const ns of ["x", "y", "z"]) {
    assert.deepEqual(ALL_PODS.filter((p) => p.startsWith(ns)).map((p) => NODE_OF[p]).sort(), [1, 2, 3]);
  }
});

test("netpol snapshot: every case's snapshot loads without warnings, with the named ports", () => {
  assert.ok(CASES.length >= 30, `${CASES.length} cases`);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, "case names are unique");
  for (const c of CASES) {
    const { snapshot, warnings } = parseSnapshotText(snapshotYaml(c), c.name);
    assert.deepEqual(warnings, [], c.name);
    assert.equal(snapshot.pods.size, 9 + (c.extraPods?.length ?? 0) - (c.omitPods?.length ?? 0));
    assert.equal(snapshot.networkPolicies.size, c.policies.length, c.name);
  }
  for (const c of DUAL_STACK_CASES) {
    const { snapshot, warnings } = parseSnapshotText(snapshotYaml(c, { ipv6: true }), c.name);
    assert.deepEqual(warnings, [], c.name);
    assert.deepEqual(snapshot.pods.get("y/b")?.podIPs, ["10.244.3.22", "fd00:10:244:3::22"]);
    assert.deepEqual(snapshot.nodes.get("node-2")?.podCIDRs, ["10.244.2.0/24", "fd00:10:244:2::/64"]);
  }
  const { snapshot } = parseSnapshotText(snapshotYaml({ policies: [np("x", "p", { podSelector: {} })], nsLabels: { y: { ns: null, team: "red" } } }), "t");
  assert.deepEqual(snapshot.pods.get("x/a")?.ports.map((p) => `${p.name}=${p.protocol}/${p.containerPort}`),
    ["serve-80-tcp=TCP/80", "serve-81-tcp=TCP/81", "serve-80-udp=UDP/80", "serve-81-udp=UDP/81"]);
  assert.deepEqual(snapshot.namespaces.get("y")?.labels, { "kubernetes.io/metadata.name": "y", team: "red" });
  assert.deepEqual(snapshot.networkPolicies.get("x/p")?.policyTypes, ["Ingress"]);
});
