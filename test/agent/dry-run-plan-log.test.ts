/**
 * Dry-run logs each new plan once. A plan of megabytes (L: 195k changes, a 16 MiB text) goes
 * out one script per line after its summary line, so the agent never holds it as one string
 * twice (the joined text and pino's JSON copy); the digest of the last plan, not its text, is
 * what the step remembers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import { newStepMemory, runStep } from "../../src/agent/runtime/step.ts";
import { formatPlanText, planTextParts } from "../../src/agent/printer.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { fakeNode } from "../support/fake-node.ts";
import { snapshotOf } from "../support/agent-harness.ts";

const config: NodeConfig = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runFirewall: false, runServiceProxy: false };
const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/cni/10-kuberouter.conf" } };

/** A dry-run step environment over a fake node, logging into memory, plans over `planLineMax` split. */
function dryRun(planLineMax?: number) {
  const node = fakeNode(seed);
  const dest = memoryDestination();
  const env = { deps: node.deps, config, nodeName: "node1", dryRun: true, log: makeLogger({ node: "node1", v: 0, dest }), now: Date.now, ...(planLineMax !== undefined ? { planLineMax } : {}) };
  const plans = () => dest.lines().filter((l) => String(l["msg"]).startsWith("dry-run: new plan"));
  return { env, plans, mem: newStepMemory() };
}

test("planTextParts joined with newlines is formatPlanText's text", async () => {
  // Given a dry-run sync of three nodes' routes
  const { env, mem } = dryRun();
  const r = await runStep(env, mem, snapshotOf(1, 2, 3), ["router"], "full");
  const { plan, scripts } = r.outcome!;
  // Then the parts are the script blocks and the summary, and join to the one text
  const parts = planTextParts(plan, scripts);
  assert.equal(parts.length, scripts.length + 1);
  assert.equal(parts.join("\n"), formatPlanText(plan, scripts));
  assert.match(parts.at(-1)!, /^Plan: \d+ to add/);
});

test("given a plan under the line limit, when dry-run logs it, then it is one line with the whole text, and the same plan again is not logged", async () => {
  const { env, mem, plans } = dryRun();
  // When the same cluster is planned twice
  await runStep(env, mem, snapshotOf(1, 2, 3), ["router"], "full");
  await runStep(env, mem, snapshotOf(1, 2, 3), ["router"], "full");
  // Then one line carries the whole plan, once
  const lines = plans();
  assert.equal(lines.length, 1);
  assert.match(String(lines[0]!["plan"]), /route replace 10\.244\.2\.0\/24/);
  assert.match(String(lines[0]!["plan"]), /Plan: \d+ to add/);
});

test("given a plan over the line limit, when dry-run logs it, then a summary line comes first, then one line per part that together are the plan; a changed plan is logged again", async () => {
  const { env, mem, plans } = dryRun(64);
  // When a plan longer than 64 characters is logged
  const r = await runStep(env, mem, snapshotOf(1, 2, 3), ["router"], "full");
  const parts = planTextParts(r.outcome!.plan, r.outcome!.scripts);
  // Then the first line is the summary with the part count and no text, each part follows in order
  const lines = plans();
  assert.equal(lines.length, parts.length + 1);
  assert.equal(lines[0]!["parts"], parts.length);
  assert.equal(lines[0]!["plan"], undefined);
  assert.match(String(lines[0]!["msg"]), /^dry-run: new plan: Plan: \d+ to add/);
  lines.slice(1).forEach((l, i) => {
    assert.equal(l["msg"], `dry-run: new plan, part ${i + 1} of ${parts.length}`);
    assert.equal(l["plan"], parts[i]);
  });
  // And a cluster with another node gives a new plan, logged again
  await runStep(env, mem, snapshotOf(1, 2, 3, 4), ["router"], "full");
  assert.ok(plans().length > lines.length, "the changed plan was logged");
});
