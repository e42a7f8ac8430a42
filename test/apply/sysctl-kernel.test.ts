/**
 * sysctl driver on the real `sysctl`, only inside a network namespace the test creates:
 * per-netns keys are set and observed there, the host's values stay as they were, the fake
 * reads and writes like the real tool, and a second sync writes nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { sysctlDriver } from "../../src/apply/sysctl/driver.ts";
import { FakeSysctl } from "../../src/apply/sysctl/fake.ts";
import { type Exec, ExecError, realExec, recordingExec } from "../../src/apply/exec.ts";
import { diffNode } from "../../src/model/plan.ts";
import { type NodeState, type Sysctl, emptyNodeState } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

const withSysctls = (s: readonly Sysctl[]): NodeState => ({ ...emptyNodeState(), sysctls: sortedTable(s.map((x) => [x.path, x] as const)) });
const HOST_KEYS = ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_local_port_range"];
const hostValues = () => HOST_KEYS.map((k) => (existsSync(`/proc/sys/${k}`) ? readFileSync(`/proc/sys/${k}`, "utf8") : "(absent)"));

async function sync(exec: Exec, desired: NodeState) {
  const d = sysctlDriver();
  const observed = { ...emptyNodeState(), ...(await d.observe(exec, desired)) };
  const plan = diffNode(desired, observed);
  for (const s of d.scripts(plan)) await s.run(exec);
  return plan;
}

test("kernel: ip_forward, bridge-nf-call-iptables and a multi-value key are set in the netns only", { skip: kernelSkip }, () => withNetns("sysctl", async (ns) => {
  const host = hostValues();
  // bridge-nf-call-iptables exists only while br_netfilter is loaded; the test never loads modules
  const bridge = nsSh(ns, "test -e /proc/sys/net/bridge/bridge-nf-call-iptables && echo yes || echo no").trim() === "yes";
  const bridgeTo = bridge ? (nsSh(ns, "cat /proc/sys/net/bridge/bridge-nf-call-iptables").trim() === "1" ? "0" : "1") : undefined;
  const desired = withSysctls([
    { path: "net/ipv4/ip_forward", value: "1" },
    { path: "net/ipv4/ip_local_port_range", value: "20000 40000" },
    ...(bridgeTo !== undefined ? [{ path: "net/bridge/bridge-nf-call-iptables", value: bridgeTo }] : []),
  ]);
  const exec = recordingExec(realExec({ netns: ns }));
  // When synced inside the netns
  const plan = await sync(exec, desired);
  // Then every key was planned (fresh netns defaults differ) and now reads back as desired
  assert.equal(plan.sysctls.length, desired.sysctls.size);
  assert.deepEqual((await sysctlDriver().observe(exec, desired)).sysctls, desired.sysctls);
  assert.equal(nsSh(ns, "cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
  assert.equal(nsSh(ns, "cat /proc/sys/net/ipv4/ip_local_port_range").trim(), "20000\t40000");
  // And a second sync writes nothing; the host never changed
  const writes = exec.writes();
  assert.equal((await sync(exec, desired)).sysctls.length, 0);
  assert.equal(exec.writes(), writes);
  assert.deepEqual(hostValues(), host);
}));

test("kernel: a key with a dot in a component (a VLAN-style device) round-trips; missing keys are absent", { skip: kernelSkip }, () => withNetns("sysctl", async (ns) => {
  nsSh(ns, "ip link add eth0.100 type veth peer name krt-p0");
  const desired = withSysctls([{ path: "net/ipv4/conf/eth0.100/rp_filter", value: "2" }, { path: "net/ipv4/conf/nosuchdev/rp_filter", value: "1" }]);
  const exec = realExec({ netns: ns });
  // Observe before: the missing device's key is absent, the other present with its default
  const before = (await sysctlDriver().observe(exec, desired)).sysctls!;
  assert.deepEqual([...before.keys()], ["net/ipv4/conf/eth0.100/rp_filter"]);
  // A sync sets the existing key and fails loudly on the missing one
  await assert.rejects(sync(exec, desired), (e: unknown) => e instanceof ExecError && /nosuchdev/.test(e.message));
  assert.equal(nsSh(ns, "cat /proc/sys/net/ipv4/conf/eth0.100/rp_filter").trim(), "2");
}));

test("kernel: the fake's read and write output parse like the real tool's", { skip: kernelSkip }, () => withNetns("sysctl", async (ns) => {
  // Given the same keys and values in the netns and the fake
  nsSh(ns, "sysctl -q -w net.ipv4.ip_local_port_range='1024 65000' net.ipv4.ip_forward=1");
  const fake = new FakeSysctl({ "net/ipv4/ip_local_port_range": "1024 65000", "net/ipv4/ip_forward": "1" });
  const args = ["-e", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "net.nope.x"];
  // When both are read with the same argv, Then they print the same text
  const real = await realExec({ netns: ns }).run("sysctl", args);
  assert.equal(fake.run("sysctl", args).stdout, real.stdout);
  // And a failing write behaves alike: exit 1, the good key set
  const w = ["-w", "net.nope.x=1", "net.ipv4.ip_forward=0"];
  const r = await realExec({ netns: ns }).run("sysctl", w, { okCodes: [1] });
  const f = fake.run("sysctl", w);
  assert.deepEqual([f.code, f.stdout, f.stderr], [r.code, r.stdout, r.stderr]);
}));
