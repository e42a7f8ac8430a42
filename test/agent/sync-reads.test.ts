/**
 * One sync reads each dump once, and the no-op shortcuts (shared reads started ahead, the IPVS
 * driver's reuse of an unchanged dump, the differ's memory of equal tables) never hide drift:
 * the XS bench cluster on a fake node with the proxy on, with a ReadAhead as the agent keeps
 * one (issue 15).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { readHostFacts } from "../../src/agent/host-facts.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { ReadAhead } from "../../src/apply/shared-reads.ts";
import { isEmptyPlan, planSummary } from "../../src/model/plan.ts";
import { generateCluster } from "../../bench/gen.ts";
import { benchConfig, benchHost } from "../../bench/setup.ts";
import { fakeNode } from "../support/fake-node.ts";

const g = generateCluster("XS");
const cni = "/nonexistent/krt-sync-reads/10-kuberouter.conf";
const config = { ...benchConfig(g, cni), once: true };

function node() {
  const n = fakeNode({ ...benchHost(g, cni), ipvs: { available: true } });
  const deps = { ...n.deps, readHost: async (e: Exec) => ({ ...(await readHostFacts(e, cni)), ipvs: { available: true } }), readAhead: new ReadAhead() };
  const sync = () => syncNode(deps, { mode: "apply", config, nodeName: g.selfNode, snapshot: g.snapshot });
  return { n, deps, sync };
}

test("given a converged node with the proxy on, when a full sync runs, then every read-only command line runs once and nothing is written", async () => {
  const { n, sync } = node();
  const cold = await sync();
  assert.deepEqual(cold.errors, []);
  assert.equal(cold.controllers["proxy"], "rendered");
  const from = n.exec.calls.length;
  const again = await sync();
  const calls = n.exec.calls.slice(from);
  assert.ok(isEmptyPlan(again.plan), planSummary(again.plan));
  assert.equal(calls.filter((c) => c.write).length, 0);
  const lines = calls.map((c) => [c.cmd, ...c.args].join(" "));
  const twice = lines.filter((l, i) => lines.indexOf(l) !== i);
  assert.deepEqual(twice, [], `read more than once: ${twice.join("; ")}`);
  assert.ok(lines.includes("ip -d -j addr show"), "the addr dump is read (by host facts and observe, once)");
});

test("given a converged node, when a real server and a route are removed behind our back, then the next sync of the same snapshot puts both back", async () => {
  const { n, sync } = node();
  await sync();
  await sync(); // a no-op: the shortcuts are now warm
  const real = n.ipvs.dump().split("\n").find((l) => l.startsWith("-a "))!;
  await n.exec.run("ipvsadm", real.replace(/^-a /, "-d ").split(" ").filter((w, i, a) => !(["-m", "-g", "-i", "-w"].includes(w)) && !(a[i - 1] === "-w")), { write: true });
  const routes = (await n.exec.run("ip", ["-4", "-j", "route", "show", "table", "all", "proto", "17"])).stdout;
  const dst = (JSON.parse(routes) as { dst: string }[])[0]!.dst;
  await n.exec.run("ip", ["-force", "-batch", "-"], { stdin: `route del ${dst} proto 17\n`, write: true });
  const repaired = await sync();
  assert.deepEqual(repaired.plan.ipvsReals.map((c) => c.op), ["create"]);
  assert.deepEqual(repaired.plan.routes.map((c) => `${c.op} ${c.key.split("/").slice(-2).join("/")}`), [`create ${dst}`]);
  assert.ok(isEmptyPlan((await sync()).plan));
});

test("given a converged node with read-ahead, when the next full sync runs, then it starts every read of the last one before host facts ask, each once; a partial sync starts none", async () => {
  const { n, deps, sync } = node();
  await sync();
  const from = n.exec.calls.length;
  await sync();
  const last = n.exec.calls.slice(from).map((c) => [c.cmd, ...c.args].join(" "));
  // When the next full sync runs
  const at = n.exec.calls.length;
  const again = await sync();
  assert.ok(isEmptyPlan(again.plan), planSummary(again.plan));
  // Then its calls open with the last sync's reads, in their order, and none runs twice
  const lines = n.exec.calls.slice(at).map((c) => [c.cmd, ...c.args].join(" "));
  assert.deepEqual(lines.slice(0, last.length), last);
  assert.deepEqual(lines.filter((l, i) => lines.indexOf(l) !== i), []);
  // When a partial sync runs (against the last desired state) / Then it reads host facts only, nothing ahead
  const before = n.exec.calls.length;
  await syncNode(deps, { mode: "apply", config, nodeName: g.selfNode, snapshot: g.snapshot, observed: again.desired });
  const partial = n.exec.calls.slice(before).map((c) => [c.cmd, ...c.args].join(" "));
  assert.ok(partial.length < last.length, `partial sync read ${partial.join("; ")}`);
  assert.ok(!partial.includes("ipset save") && !partial.some((l) => l.startsWith("ipvsadm -S")), partial.join("; "));
});
