/**
 * NetworkPolicy conformance with real packets, dual-stack: the same three nodes and nine pods
 * as netpol.test.ts, every pod with an IPv4 and an IPv6 address, kube-router run with
 * `--enable-ipv6=true`, and the 9×9 matrix probed over both families (TCP and UDP, 80 and 81)
 * for each of DUAL_STACK_CASES. Same per-case checks as netpol.test.ts (harness.ts), and
 * `--cleanup-config` must leave no IPv4 or IPv6 chain or set of ours behind.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { kernelSkip } from "../../support/netns.ts";
import { DUAL_STACK_CASES } from "./cases.ts";
import { Suite } from "./harness.ts";
import { compare, formatDiff, reach } from "./reachability.ts";

const suite = new Suite({ ipv6: true });

before(async () => {
  if (!kernelSkip) await suite.setup();
});

after(() => suite.teardown());

test("netpol dual-stack harness: every pod reaches every pod over IPv4 and IPv6", { skip: kernelSkip }, async () => {
  const seen = await suite.topo!.probeAll();
  assert.equal(Object.keys(seen).length, 8, "four IPv4 and four IPv6 probes");
  const wrong = compare(reach(true), seen);
  assert.deepEqual(wrong, [], formatDiff(reach(true), seen, wrong));
});

DUAL_STACK_CASES.forEach((c, i) => {
  const label = `netpol ds ${String(i + 1).padStart(2, "0")}: ${c.name.replace(/^dual-stack: /, "")}`;
  test(label, { skip: kernelSkip }, (t) => suite.runCase(t, label, c, i));
});

test("netpol dual-stack: --cleanup-config removes our IPv4 and IPv6 chains and sets, keeps the foreign ones", { skip: kernelSkip }, async (t) => {
  if (suite.syncs === 0) return t.skip("no case synced");
  await suite.checkCleanup();
});
