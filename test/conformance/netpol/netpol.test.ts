/**
 * NetworkPolicy conformance with real packets (issue 3): three netns nodes, nine netns pods
 * (namespaces x, y, z × pods a, b, c; see topology.ts), every pod serving TCP and UDP on 80
 * and 81. Each case of cases.ts replaces the snapshot, runs
 * `kube-router --snapshot FILE --once --run-router=false --run-service-proxy=false` in every
 * node, then probes the full 9×9 matrix on tcp/80, tcp/81, udp/80 and udp/81 against the
 * case's hand-written expectation. After every sync: every node reaches its own pods, foreign
 * iptables rules and ipsets survive, and `--dry-run --once` plans nothing (exit 0; one node per
 * case, in turn). Then drift is repaired, and `--cleanup-config` removes all of ours and nothing
 * else. Development knobs (KRT_NP_CLI, KRT_NP_ONLY, KRT_NP_DUMP): see harness.ts.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { kernelSkip } from "../../support/netns.ts";
import { CASES } from "./cases.ts";
import { Suite, only } from "./harness.ts";
import { compare, formatDiff, reach } from "./reachability.ts";
import { NODES, nodeName, nsRun, podIp } from "./topology.ts";

const suite = new Suite();

before(async () => {
  if (!kernelSkip) await suite.setup();
});

after(() => suite.teardown());

test("netpol harness: every pod reaches every pod; a hand-written REJECT and DROP are seen as blocked", { skip: kernelSkip }, async () => {
  const topo = suite.topo!;
  // Given the bare topology (no kube-router yet)
  // Then the full matrix is reachable
  const open = await topo.probeAll();
  const none = compare(reach(true), open);
  assert.deepEqual(none, [], formatDiff(reach(true), open, none));
  // When node-2 rejects tcp/81 to x/b and udp/80 to y/a, and drops tcp/80 from z/c
  const rules = [
    `-d ${podIp("x/b")}/32 -p tcp --dport 81 -j REJECT`,
    `-d ${podIp("y/a")}/32 -p udp --dport 80 -j REJECT`,
    `-s ${podIp("z/c")}/32 -p tcp --dport 80 -j DROP`,
  ];
  nsRun(suite.ns(2), rules.map((r) => `iptables -I FORWARD 1 ${r}`).join("\n"));
  try {
    const seen = await topo.probeAll();
    // Then exactly those probes fail (same-node and cross-node), REJECTs fast, DROPs after a retry
    const want = reach(true).deny("*", "x/b", ["tcp/81"]).deny("*", "y/a", ["udp/80"]).deny("z/c", "*", ["tcp/80"]);
    const wrong = compare(want, seen);
    assert.deepEqual(wrong, [], formatDiff(want, seen, wrong));
    const rejected = seen["tcp/81"]!["x/a"]["x/b"];
    assert.equal(rejected.how, "ECONNREFUSED");
    assert.equal(rejected.tries, 1);
    assert.equal(seen["udp/80"]!["z/a"]["y/a"].how, "ECONNREFUSED", "a REJECTed UDP probe fails with ICMP port unreachable");
    const dropped = seen["tcp/80"]!["z/c"]["x/a"];
    assert.deepEqual([dropped.how, dropped.tries], ["timeout", 2]);
  } finally {
    nsRun(suite.ns(2), rules.map((r) => `iptables -D FORWARD ${r}`).join("\n"));
  }
});

CASES.forEach((c, i) => {
  const label = `netpol ${String(i + 1).padStart(2, "0")}: ${c.name}`;
  test(label, { skip: kernelSkip }, (t) => suite.runCase(t, label, c, i));
});

test("netpol: drift made by someone else (flushed chain, deleted jump, emptied sets) is repaired by the next sync", { skip: kernelSkip }, async (t) => {
  if (suite.firewallBuilt !== true) return t.skip("this kube-router build has no firewall renderer yet");
  if (only) return t.skip("not selected by KRT_NP_ONLY");
  const topo = suite.topo!;
  // Given a converged restrictive case
  const c = CASES.find((x) => x.name.startsWith("deny all in x and y"))!;
  suite.writeSnapshot(c);
  await suite.syncAll();
  assert.deepEqual(compare(c.expect, await topo.probeAll()), []);
  // When node-1 loses our FORWARD jump, node-2 its KUBE-ROUTER-FORWARD rules and node-3 its peer set members
  nsRun(suite.ns(1), "iptables -S FORWARD | grep -- '-j KUBE-ROUTER-FORWARD' | sed 's/^-A/-D/' | while read -r r; do eval iptables $r; done");
  nsRun(suite.ns(2), "iptables -F KUBE-ROUTER-FORWARD");
  nsRun(suite.ns(3), "for s in $(ipset list -n | grep '^KUBE-SRC-'); do ipset flush $s; done");
  // Then the matrix is wrong (the tampering took effect) and every node plans a repair
  assert.notDeepEqual(compare(c.expect, await topo.probeAll()), [], "tampering changed nothing: the check would prove nothing");
  const dry = await suite.dryRunAll();
  dry.forEach((r, k) => assert.equal(r.code, 2, `${nodeName(NODES[k]!)} --dry-run should plan a repair:\n${r.stdout}${r.stderr}`));
  // When every node syncs again
  const runs = await suite.syncAll();
  runs.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}: ${r.stderr}`));
  // Then the matrix is right again, foreign rules are still there, and nothing is left to do
  const seen = await topo.probeAll();
  const wrong = compare(c.expect, seen);
  assert.deepEqual(wrong, [], formatDiff(c.expect, seen, wrong));
  for (const n of NODES) assert.deepEqual(suite.foreignProblems(n), []);
  const again = await suite.dryRunAll();
  again.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}:\n${r.stdout}${r.stderr}`));
});

test("netpol: our jumps sit above the foreign FORWARD rule", { skip: kernelSkip }, (t) => {
  if (suite.firewallBuilt !== true) return t.skip("this kube-router build has no firewall renderer yet");
  for (const n of NODES) {
    const fwd = nsRun(suite.ns(n), "iptables -S FORWARD").split("\n").filter((l) => l.startsWith("-A"));
    assert.match(fwd[0] ?? "", /-j KUBE-ROUTER-FORWARD/, `${nodeName(n)} FORWARD:\n${fwd.join("\n")}`);
    assert.ok(fwd.some((l) => l.includes("FOREIGN-NP")), `${nodeName(n)}: foreign rule kept`);
  }
});

test("netpol: --cleanup-config removes every chain and set of ours and leaves the foreign ones", { skip: kernelSkip }, async (t) => {
  if (suite.syncs === 0) return t.skip("no case synced");
  // Given the nodes hold our chains and sets from the last cases
  // When every node cleans up, then nothing of ours is left, the foreign chain, rule and set are
  // kept, and a second cleanup has nothing left to do
  await suite.checkCleanup();
});
