/**
 * sysctl driver over the fake: name mapping, output parsing, the exact write command,
 * observe scoped to desired keys in one call, convergence and failure reporting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normaliseSysctlValue, sysctlName, sysctlPath } from "../../src/apply/sysctl/keys.ts";
import { parseSysctlOutput } from "../../src/apply/sysctl/parse.ts";
import { sysctlScripts } from "../../src/apply/sysctl/compile.ts";
import { sysctlDriver } from "../../src/apply/sysctl/driver.ts";
import { FakeSysctl } from "../../src/apply/sysctl/fake.ts";
import { ORDER } from "../../src/apply/driver.ts";
import { ExecError } from "../../src/apply/exec.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { diffNode, emptyPlan } from "../../src/model/plan.ts";
import { type NodeState, type Sysctl, emptyNodeState } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";

const withSysctls = (s: readonly Sysctl[]): NodeState => ({ ...emptyNodeState(), sysctls: sortedTable(s.map((x) => [x.path, x] as const)) });

async function sync(exec: ReturnType<typeof fakeExec>, desired: NodeState) {
  const d = sysctlDriver();
  const observed = { ...emptyNodeState(), ...(await d.observe(exec, desired)) };
  const plan = diffNode(desired, observed);
  for (const s of d.scripts(plan)) await s.run(exec);
  return plan;
}

test("keys: paths map to dotted names, dots inside a component as slashes, and back", () => {
  assert.equal(sysctlName("net/ipv4/ip_forward"), "net.ipv4.ip_forward");
  assert.equal(sysctlName("net/ipv4/conf/eth0.100/rp_filter"), "net.ipv4.conf.eth0/100.rp_filter");
  assert.equal(sysctlPath("net.ipv4.conf.eth0/100.rp_filter"), "net/ipv4/conf/eth0.100/rp_filter");
  const comp = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/);
  fc.assert(fc.property(fc.array(comp, { minLength: 1, maxLength: 5 }), (cs) => {
    const path = cs.join("/");
    assert.equal(sysctlPath(sysctlName(path)), path);
  }));
});

test("parse: `name = value` lines, tabs and runs of spaces normalised, empty values kept", () => {
  // Given output as procps prints it, multi-value keys with a tab
  const t = parseSysctlOutput("net.ipv4.ip_forward = 1\nnet.ipv4.ip_local_port_range = 32768\t60999\nkernel.domainname = \nnet.ipv4.conf.eth0/100.rp_filter = 2\n");
  // Then keyed by path with normalised values
  assert.deepEqual([...t.values()], [
    { path: "kernel/domainname", value: "" },
    { path: "net/ipv4/conf/eth0.100/rp_filter", value: "2" },
    { path: "net/ipv4/ip_forward", value: "1" },
    { path: "net/ipv4/ip_local_port_range", value: "32768 60999" },
  ]);
  assert.equal(normaliseSysctlValue("  a\t b  c "), "a b c");
});

test("parse: an unexpected line throws naming its number", () => {
  assert.throws(() => parseSysctlOutput("net.ipv4.ip_forward = 1\nsysctl: permission denied\n"), /sysctl output line 2/);
});

test("compile: one `sysctl -w` with sorted keys, quoted in the text where a value has spaces", async () => {
  // Given two creates and an update
  const plan = {
    ...emptyPlan(),
    sysctls: [
      { op: "update" as const, key: "net/ipv4/ip_local_port_range", before: { path: "net/ipv4/ip_local_port_range", value: "32768 60999" }, after: { path: "net/ipv4/ip_local_port_range", value: "1024 65000" } },
      { op: "create" as const, key: "net/bridge/bridge-nf-call-iptables", after: { path: "net/bridge/bridge-nf-call-iptables", value: "1" } },
      { op: "create" as const, key: "net/ipv4/ip_forward", after: { path: "net/ipv4/ip_forward", value: "1" } },
    ],
  };
  // When compiled
  const scripts = sysctlScripts(plan);
  // Then one script, exact text, and its run is one write with the same argv
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0]!.order, ORDER.sysctls);
  assert.equal(scripts[0]!.title, "sysctl");
  assert.equal(scripts[0]!.text, "sysctl -w net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1 'net.ipv4.ip_local_port_range=1024 65000'\n");
  const fake = new FakeSysctl({ "net/bridge/bridge-nf-call-iptables": "0", "net/ipv4/ip_forward": "0", "net/ipv4/ip_local_port_range": "32768 60999" });
  const exec = fakeExec(fake);
  await scripts[0]!.run(exec);
  assert.deepEqual(exec.calls, [{ cmd: "sysctl", args: ["-w", "net.bridge.bridge-nf-call-iptables=1", "net.ipv4.ip_forward=1", "net.ipv4.ip_local_port_range=1024 65000"], write: true }]);
  assert.equal(fake.get("net/ipv4/ip_local_port_range"), "1024 65000");
  assert.deepEqual(sysctlScripts(emptyPlan()), []);
});

test("observe: one `sysctl -e` read of exactly the desired keys; missing keys are absent; nothing desired means no call", async () => {
  const fake = new FakeSysctl({ "net/ipv4/ip_forward": "0", "net/ipv4/ip_local_port_range": "32768 60999", "net/ipv4/conf/all/rp_filter": "1" });
  const exec = fakeExec(fake);
  const desired = withSysctls([
    { path: "net/ipv4/ip_forward", value: "1" },
    { path: "net/ipv4/ip_local_port_range", value: "32768 60999" },
    { path: "net/bridge/bridge-nf-call-iptables", value: "1" },
  ]);
  const got = await sysctlDriver().observe(exec, desired);
  assert.deepEqual(exec.calls, [{ cmd: "sysctl", args: ["-e", "net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range"], write: false }]);
  assert.deepEqual([...got.sysctls!.values()], [{ path: "net/ipv4/ip_forward", value: "0" }, { path: "net/ipv4/ip_local_port_range", value: "32768 60999" }]);
  const none = fakeExec(fake);
  assert.equal((await sysctlDriver().observe(none, emptyNodeState())).sysctls!.size, 0);
  assert.equal(none.calls.length, 0);
});

test("sync: converges, and a second sync plans nothing and writes nothing", async () => {
  // Given a multi-value key printed with tabs and a key that differs
  const fake = new FakeSysctl({ "net/ipv4/ip_forward": "0", "net/ipv4/ip_local_port_range": "1024 65000", "net/ipv4/conf/eth0.100/rp_filter": "0" });
  const exec = fakeExec(fake);
  const desired = withSysctls([
    { path: "net/ipv4/ip_forward", value: "1" },
    { path: "net/ipv4/ip_local_port_range", value: "1024 65000" },
    { path: "net/ipv4/conf/eth0.100/rp_filter", value: "2" },
  ]);
  // When synced
  const plan = await sync(exec, desired);
  // Then only the differing keys were written
  assert.deepEqual(plan.sysctls.map((c) => c.key), ["net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/ip_forward"]);
  assert.equal(fake.get("net/ipv4/ip_forward"), "1");
  assert.equal(fake.get("net/ipv4/conf/eth0.100/rp_filter"), "2");
  const writes = exec.writes();
  const again = await sync(exec, desired);
  assert.equal(again.sysctls.length, 0);
  assert.equal(exec.writes(), writes);
});

test("sync: a missing key or a refused value fails the write with an ExecError; other keys are still set", async () => {
  const fake = new FakeSysctl({ "net/ipv4/ip_forward": "0", "net/ipv4/conf/all/rp_filter": "0" }, { reject: (p, v) => p === "net/ipv4/conf/all/rp_filter" && v === "9" });
  const exec = fakeExec(fake);
  await assert.rejects(sync(exec, withSysctls([{ path: "net/ipv4/ip_forward", value: "1" }, { path: "net/nope/x", value: "1" }])),
    (e: unknown) => e instanceof ExecError && /cannot stat \/proc\/sys\/net\/nope\/x/.test(e.message));
  assert.equal(fake.get("net/ipv4/ip_forward"), "1");
  await assert.rejects(sync(exec, withSysctls([{ path: "net/ipv4/conf/all/rp_filter", value: "9" }])), /setting key "net.ipv4.conf.all.rp_filter": Invalid argument/);
  assert.equal(fake.get("net/ipv4/conf/all/rp_filter"), "0");
});
