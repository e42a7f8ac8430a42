/**
 * One sync reads each dump once, and the no-op shortcuts (shared reads, the IPVS driver's
 * reuse of an unchanged dump, the differ's memory of equal tables) never hide drift: the XS
 * bench cluster on a fake node with the proxy on (issue 15).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode } from "../../src/agent/engine.ts";
import { readHostFacts } from "../../src/agent/host-facts.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { isEmptyPlan, planSummary } from "../../src/model/plan.ts";
import { generateCluster } from "../../bench/gen.ts";
import { benchConfig, benchHost } from "../../bench/setup.ts";
import { fakeNode } from "../support/fake-node.ts";

const g = generateCluster("XS");
const cni = "/nonexistent/krt-sync-reads/10-kuberouter.conf";
const config = { ...benchConfig(g, cni), once: true };

function node() {
  const n = fakeNode({ ...benchHost(g, cni), ipvs: { available: true } });
  const deps = { ...n.deps, readHost: async (e: Exec) => ({ ...(await readHostFacts(e, cni)), ipvs: { available: true } }) };
  const sync = () => syncNode(deps, { mode: "apply", config, nodeName: g.selfNode, snapshot: g.snapshot });
  return { n, sync };
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
