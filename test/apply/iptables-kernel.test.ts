/**
 * Kernel: the iptables driver against real iptables (nft and legacy) in throwaway network
 * namespaces: apply, observe, converge, leave foreign chains and rules alone, move our jumps
 * back on top, delete, clean up; backend detection; the fake refuses what the kernel refuses.
 * Needs root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { detectBackend, iptablesBackend, type BackendMode } from "../../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../../src/apply/iptables/driver.ts";
import { FakeIptables } from "../../src/apply/iptables/fake.ts";
import { parseSaveText } from "../../src/apply/iptables/save-format.ts";
import { type Exec, recordingExec, realExec } from "../../src/apply/exec.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import type { Driver } from "../../src/apply/driver.ts";
import { diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import { type Chain, type Jump, type NodeState, chainKey, emptyNodeState, jumpKey } from "../../src/model/state.ts";
import { deepEqual, sortedTable } from "../../src/model/table.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

function nsRun(ns: string, cmd: string, args: string[], stdin = ""): string {
  return execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { input: stdin, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

const MASQ = `-m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -m comment --comment "kube-router pod egress masquerade" -j MASQUERADE --random-fully`;

function state(chains: Chain[], jumps: Omit<Jump, "comment">[]): NodeState {
  const js = jumps.map((j): Jump => ({ ...j, comment: /--comment ("[^"]*"|\S+)/.exec(j.rule)?.[1]?.replace(/^"|"$/g, "") ?? j.rule }));
  return {
    ...emptyNodeState(),
    chains: sortedTable(chains.map((c) => [chainKey(c), c])),
    jumps: sortedTable(js.map((j) => [jumpKey(j), j])),
  };
}
const c4 = (name: string, rules: string[], table: Chain["table"] = "filter"): Chain => ({ family: "ipv4", table, name, rules });

/** The desired state of the first sync: filter FORWARD 1..3, INPUT 1, nat POSTROUTING 1, and ipv6. */
const DESIRED = state(
  [
    c4("KUBE-ROUTER-FORWARD", ["-d 10.244.1.5/32 -m comment --comment \"ns/pod in\" -j KUBE-NWPLCY-DEFAULT", "-m mark --mark 0x20000/0x20000 -j ACCEPT"]),
    c4("KUBE-ROUTER-INPUT", ["-d 10.96.0.0/12 -j RETURN", "-p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN"]),
    c4("KUBE-NWPLCY-DEFAULT", ["-m comment --comment \"rule to mark traffic matching a network policy\" -j MARK --set-xmark 0x10000/0x10000"]),
    c4("KUBE-ROUTER-HAIRPIN", ["-s 10.244.1.5/32 -d 10.244.1.5/32 -j SNAT --to-source 10.96.0.10"], "nat"),
    { family: "ipv6", table: "filter", name: "KUBE-ROUTER-FORWARD", rules: ["-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT"] },
  ],
  [
    { family: "ipv4", table: "filter", chain: "FORWARD", position: 1, rule: `-m comment --comment "kube-router netpol - u1" -j KUBE-ROUTER-FORWARD` },
    { family: "ipv4", table: "filter", chain: "FORWARD", position: 2, rule: `-i kube-bridge -m comment --comment "allow outbound traffic from pods" -j ACCEPT` },
    { family: "ipv4", table: "filter", chain: "FORWARD", position: 3, rule: `-o kube-bridge -m comment --comment "allow inbound traffic to pods" -j ACCEPT` },
    { family: "ipv4", table: "filter", chain: "INPUT", position: 1, rule: `-m comment --comment "kube-router netpol - u1" -j KUBE-ROUTER-INPUT` },
    { family: "ipv4", table: "nat", chain: "POSTROUTING", position: 1, rule: MASQ },
    { family: "ipv4", table: "nat", chain: "POSTROUTING", position: 2, rule: "-j KUBE-ROUTER-HAIRPIN" },
    { family: "ipv6", table: "filter", chain: "FORWARD", position: 1, rule: `-m comment --comment "kube-router netpol - u1" -j KUBE-ROUTER-FORWARD` },
  ],
);

/** The second desired state: a chain and jumps deleted, a chain changed, a jump changed and moved. */
const DESIRED2 = state(
  [
    c4("KUBE-ROUTER-FORWARD", ["-m mark --mark 0x20000/0x20000 -j ACCEPT"]),
    c4("KUBE-ROUTER-INPUT", ["-d 10.96.0.0/12 -j RETURN", "-p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN"]),
  ],
  [
    { family: "ipv4", table: "filter", chain: "FORWARD", position: 1, rule: `-o kube-bridge -m comment --comment "allow inbound traffic to pods" -j ACCEPT` },
    { family: "ipv4", table: "filter", chain: "FORWARD", position: 2, rule: `-m comment --comment "kube-router netpol - u1" -j KUBE-ROUTER-FORWARD` },
    { family: "ipv4", table: "filter", chain: "INPUT", position: 1, rule: `-m comment --comment "kube-router netpol - u1" -j KUBE-ROUTER-INPUT` },
  ],
);

/** observe → diff → run scripts; returns the number of scripts run. */
async function sync(driver: Driver, exec: Exec, desired: NodeState): Promise<number> {
  const observed = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
  const scripts = driver.scripts(diffNode(desired, observed));
  for (const s of scripts) await s.run(exec);
  return scripts.length;
}

async function assertConverged(driver: Driver, exec: Exec, desired: NodeState): Promise<void> {
  const observed = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
  assert.ok(deepEqual(observed.chains, desired.chains), `chains:\n${JSON.stringify([...observed.chains.values()], null, 1)}`);
  assert.ok(deepEqual(observed.jumps, desired.jumps), `jumps:\n${JSON.stringify([...observed.jumps.values()], null, 1)}`);
  assert.ok(isEmptyPlan(diffNode(desired, observed)));
}

/** Rules of one chain in a real save. */
function chainRules(ns: string, mode: BackendMode, table: string, chain: string): string[] {
  const t = parseSaveText(nsRun(ns, `iptables-${mode}-save`, [])).find((x) => x.name === table);
  return t?.rules.get(chain) ?? [];
}

for (const mode of ["nft", "legacy"] as const) {
  test(`driver applies, converges, keeps foreign rules, re-places jumps, deletes and cleans up (${mode})`, { skip: kernelSkip }, async () => {
    await withNetns(`ipt-${mode}`, async (ns) => {
      // Given the ipsets our rules reference, and foreign state: a chain and a FORWARD rule
      nsSh(ns, "ipset create kube-router-pod-subnets hash:net && ipset create kube-router-node-ips hash:ip");
      nsRun(ns, `iptables-${mode}-restore`, ["--noflush"], "*filter\n:FOREIGN - [0:0]\n-A FOREIGN -i eth9 -j ACCEPT\n-A FORWARD -j FOREIGN\nCOMMIT\n");
      const driver = iptablesDriver(iptablesBackend(mode));
      const exec = recordingExec(realExec({ netns: ns }));

      // When the desired state is applied
      const n = await sync(driver, exec, DESIRED);
      // Then one restore per changed family/table ran, observe equals desired, the second plan is empty
      assert.equal(n, 3);
      await assertConverged(driver, exec, DESIRED);
      assert.deepEqual(chainRules(ns, mode, "filter", "FORWARD").slice(3), ["-j FOREIGN"]);
      const writes = exec.writes();
      assert.equal(await sync(driver, exec, DESIRED), 0);
      assert.equal(exec.writes(), writes);

      // When someone inserts a foreign rule above ours, and we sync again
      nsRun(ns, `iptables-${mode}-restore`, ["--noflush"], "*filter\n-I FORWARD 1 -i eth8 -j DROP\nCOMMIT\n");
      assert.ok(!isEmptyPlan(diffNode(DESIRED, { ...emptyNodeState(), ...(await driver.observe(exec, DESIRED)) })));
      await sync(driver, exec, DESIRED);
      // Then our jumps are back on top and the foreign rules follow in their order
      await assertConverged(driver, exec, DESIRED);
      assert.deepEqual(chainRules(ns, mode, "filter", "FORWARD").slice(3), ["-i eth8 -j DROP", "-j FOREIGN"]);

      // When a chain and jumps are deleted, a chain changed, a jump moved
      await sync(driver, exec, DESIRED2);
      // Then the node matches the new state, the foreign chain is intact
      await assertConverged(driver, exec, DESIRED2);
      assert.deepEqual(chainRules(ns, mode, "filter", "FOREIGN"), ["-i eth9 -j ACCEPT"]);

      // When cleaned up (empty desired state)
      const empty = emptyNodeState();
      await sync(driver, exec, empty);
      // Then nothing owned is left, in either family, and only foreign rules remain
      const left = await driver.observe(exec, empty);
      assert.equal((left.chains?.size ?? 0) + (left.jumps?.size ?? 0), 0);
      assert.deepEqual(chainRules(ns, mode, "filter", "FORWARD"), ["-i eth8 -j DROP", "-j FOREIGN"]);
      assert.deepEqual(chainRules(ns, mode, "nat", "POSTROUTING"), []);
      assert.doesNotMatch(nsRun(ns, `ip6tables-${mode}-save`, []), /KUBE-/);
    });
  });
}

test("a failing restore leaves the real table unchanged and the driver reports the tool's error", { skip: kernelSkip }, async () => {
  for (const mode of ["nft", "legacy"] as const) {
    await withNetns(`ipt-fail-${mode}`, async (ns) => {
      // Given a desired jump to a chain that no one creates
      const driver = iptablesDriver(iptablesBackend(mode));
      const exec = realExec({ netns: ns });
      const bad = state([c4("KUBE-ROUTER-OK", ["-j ACCEPT"])], [
        { family: "ipv4", table: "filter", chain: "FORWARD", position: 1, rule: `-m comment --comment "kube-router bad" -j KUBE-ROUTER-MISSING` },
      ]);
      // When synced, Then it fails with the restore's message and nothing was created
      await assert.rejects(sync(driver, exec, bad), (e: Error) => e.message.startsWith(`iptables-${mode}-restore --noflush --wait: exit`));
      assert.equal((await driver.observe(exec, bad)).chains?.size, 0);
      assert.doesNotMatch(nsRun(ns, `iptables-${mode}-save`, []), /KUBE-ROUTER-OK/);
    });
  }
});

test("the fake refuses exactly what real restores refuse, and keeps what they keep", { skip: kernelSkip }, async () => {
  // Given the same starting state in the kernel (both backends) and in the fake
  const setup = "*filter\n:FOREIGN - [0:0]\n:KUBE-ROUTER-C - [0:0]\n-A KUBE-ROUTER-C -j ACCEPT\n-A FOREIGN -j KUBE-ROUTER-C\n-A FORWARD -j FOREIGN\nCOMMIT\n";
  const cases: [string, boolean][] = [
    ["*filter\n-A FORWARD -j NOPE\nCOMMIT\n", false],
    ["*filter\n-N FOREIGN\nCOMMIT\n", false],
    ["*filter\n-X KUBE-ROUTER-C\nCOMMIT\n", false], // non-empty
    ["*filter\n-F KUBE-ROUTER-C\n-X KUBE-ROUTER-C\nCOMMIT\n", false], // referenced
    ["*filter\n:KUBE-ROUTER-C - [0:0]\n-X KUBE-ROUTER-C\nCOMMIT\n", false], // declared (flushed) but referenced
    ["*filter\n-X FORWARD\nCOMMIT\n", false],
    ["*filter\n-I FORWARD 3 -j ACCEPT\nCOMMIT\n", false],
    ["*filter\n-I FORWARD 2 -j ACCEPT\nCOMMIT\n", true],
    ["*filter\n-D FORWARD -j DROP\nCOMMIT\n", false],
    ["*filter\n-A FORWARD -i eth3 -j ACCEPT\n-A FORWARD -j FOREIGN\n-D FORWARD -j FOREIGN\nCOMMIT\n", true], // first copy goes
    ["*filter\n-A FORWARD -p tcp --dport 80 -j ACCEPT\n-D FORWARD -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n", true],
    ["*filter\n:KUBE-ROUTER-N - [0:0]\n-A KUBE-ROUTER-N -j RETURN\n-I FORWARD 1 -j KUBE-ROUTER-N\n-I FORWARD 5 -j ACCEPT\nCOMMIT\n", false],
    ["*filter\n:FORWARD - [0:0]\n:KUBE-ROUTER-C - [0:0]\n-A KUBE-ROUTER-C -j DROP\nCOMMIT\n", true],
    ["*filter\n-D FOREIGN -j KUBE-ROUTER-C\n:KUBE-ROUTER-C - [0:0]\n-X KUBE-ROUTER-C\nCOMMIT\n", true],
    ["*nat\n:KUBE-ROUTER-N - [0:0]\nCOMMIT\n*filter\n-D FORWARD -j DROP\nCOMMIT\n", false],
  ];
  for (const mode of ["nft", "legacy"] as const) {
    for (const [text, ok] of cases) {
      await withNetns(`ipt-diff-${mode}`, async (ns) => {
        const fake = new FakeIptables();
        nsRun(ns, `iptables-${mode}-restore`, ["--noflush"], setup);
        await fakeExec(fake).run("iptables-restore", ["--noflush"], { stdin: setup });
        // When the same input is restored in both
        const real = await realExec({ netns: ns }).run(`iptables-${mode}-restore`, ["--noflush", "--wait"], { stdin: text, okCodes: [1, 2, 4] });
        const faked = await fakeExec(fake).run("iptables-restore", ["--noflush", "--wait"], { stdin: text, okCodes: [1, 2, 4] });
        // Then both succeed or both fail, and both end with the same rules
        assert.equal(real.code === 0, ok, `${mode} kernel: ${text}\n${real.stderr}`);
        assert.equal(faked.code === 0, ok, `fake: ${text}\n${faked.stderr}`);
        const norm = (dump: string) => parseSaveText(dump).map((t) => [t.name, [...t.policies], [...t.rules].sort()]).sort();
        assert.deepEqual(norm(fake.dump("ipv4")), norm(nsRun(ns, `iptables-${mode}-save`, [])), `${mode}: ${text}`);
      });
    }
  }
});

test("backend detection: legacy where the rules are in legacy tables, nft otherwise; detection creates no table", { skip: kernelSkip }, async () => {
  await withNetns("ipt-detect", async (ns) => {
    const exec = realExec({ netns: ns });
    // Given a fresh namespace: When detected, Then nft (a tie), and no legacy table appeared
    assert.equal((await detectBackend(exec)).mode, "nft");
    assert.equal(nsSh(ns, "cat /proc/net/ip_tables_names /proc/net/ip6_tables_names").trim(), "");
    // Given rules in nft only: When detected, Then nft
    nsRun(ns, "iptables-nft-restore", ["--noflush"], "*filter\n-A INPUT -i eth1 -j ACCEPT\nCOMMIT\n");
    assert.equal((await detectBackend(exec)).mode, "nft");
  });
  await withNetns("ipt-detect", async (ns) => {
    const exec = realExec({ netns: ns });
    // Given rules in legacy tables (ipv4 and ipv6)
    nsRun(ns, "iptables-legacy-restore", ["--noflush"], "*filter\n-A INPUT -i eth1 -j ACCEPT\n-A INPUT -i eth2 -j ACCEPT\nCOMMIT\n");
    nsRun(ns, "ip6tables-legacy-restore", ["--noflush"], "*filter\n-A INPUT -i eth1 -j ACCEPT\nCOMMIT\n");
    // When detected, Then legacy; an override still wins
    assert.equal((await detectBackend(exec)).mode, "legacy");
    assert.equal((await detectBackend(exec, "nft")).mode, "nft");
    // Given kubelet's hint chain in nft mangle: Then nft, despite more legacy rules
    nsRun(ns, "iptables-nft-restore", ["--noflush"], "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n");
    assert.equal((await detectBackend(exec)).mode, "nft");
  });
});
