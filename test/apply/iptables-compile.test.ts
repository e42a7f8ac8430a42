/**
 * compile.ts: exact restore text for small plans; one script per changed (family, table).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { iptablesBackend } from "../../src/apply/iptables/backend.ts";
import { compileIptables, restoreText } from "../../src/apply/iptables/compile.ts";
import { iptablesDriver } from "../../src/apply/iptables/driver.ts";
import { ORDER } from "../../src/apply/driver.ts";
import { recordingExec } from "../../src/apply/exec.ts";
import { emptyPlan, type NodePlan } from "../../src/model/plan.ts";
import { type Chain, type Jump, chainKey, jumpKey } from "../../src/model/state.ts";
import type { Change } from "../../src/model/table.ts";

const chain = (name: string, rules: string[], table: Chain["table"] = "filter", family: Chain["family"] = "ipv4"): Chain =>
  ({ family, table, name, rules });
const jump = (chainName: string, comment: string, target: string, position: number, table: Jump["table"] = "filter"): Jump =>
  ({ family: "ipv4", table, chain: chainName, comment, rule: `-m comment --comment "${comment}" -j ${target}`, position });
const create = <T extends Chain | Jump>(key: string, after: T): Change<T> => ({ op: "create", key, after });
const update = <T extends Chain | Jump>(key: string, before: T, after: T): Change<T> => ({ op: "update", key, before, after });
const del = <T extends Chain | Jump>(key: string, before: T): Change<T> => ({ op: "delete", key, before });

test("restore text: declarations, deletes, appends, ascending inserts, chain deletes, COMMIT", () => {
  // Given a plan that creates, updates and deletes chains and jumps in filter
  const fwdNew = chain("KUBE-ROUTER-FORWARD", ["-j KUBE-NWPLCY-DEFAULT", "-m mark --mark 0x20000/0x20000 -j ACCEPT"]);
  const defOld = chain("KUBE-NWPLCY-DEFAULT", ["-j ACCEPT"]);
  const defNew = chain("KUBE-NWPLCY-DEFAULT", ["-j MARK --set-xmark 0x10000/0x10000"]);
  const gone = chain("KUBE-NWPLCY-OLD", ["-j DROP"]);
  const j1 = jump("FORWARD", "kube-router netpol - u", "KUBE-ROUTER-FORWARD", 1);
  const j2old = jump("FORWARD", "kube-router b", "ACCEPT", 3);
  const j2new = jump("FORWARD", "kube-router b", "ACCEPT", 2);
  const jOld = jump("INPUT", "kube-router old", "KUBE-NWPLCY-OLD", 1);
  const chains = [update(chainKey(defNew), defOld, defNew), create(chainKey(fwdNew), fwdNew), del(chainKey(gone), gone)];
  const jumps = [update(jumpKey(j2new), j2old, j2new), create(jumpKey(j1), j1), del(jumpKey(jOld), jOld)];
  // When compiled
  const text = restoreText("filter", chains, jumps);
  // Then the text is exactly this
  assert.equal(text, [
    "*filter",
    ":KUBE-NWPLCY-DEFAULT - [0:0]",
    ":KUBE-ROUTER-FORWARD - [0:0]",
    ":KUBE-NWPLCY-OLD - [0:0]",
    `-D FORWARD -m comment --comment "kube-router b" -j ACCEPT`,
    `-D INPUT -m comment --comment "kube-router old" -j KUBE-NWPLCY-OLD`,
    "-A KUBE-NWPLCY-DEFAULT -j MARK --set-xmark 0x10000/0x10000",
    "-A KUBE-ROUTER-FORWARD -j KUBE-NWPLCY-DEFAULT",
    "-A KUBE-ROUTER-FORWARD -m mark --mark 0x20000/0x20000 -j ACCEPT",
    `-I FORWARD 1 -m comment --comment "kube-router netpol - u" -j KUBE-ROUTER-FORWARD`,
    `-I FORWARD 2 -m comment --comment "kube-router b" -j ACCEPT`,
    "-X KUBE-NWPLCY-OLD",
    "COMMIT",
    "",
  ].join("\n"));
});

test("an empty rule in a chain is appended as a bare `-A CHAIN`", () => {
  // Given a chain with a rule-less (match-everything, no target) rule
  const c = chain("KUBE-ROUTER-X", [""]);
  // When compiled
  const text = restoreText("filter", [create(chainKey(c), c)], []);
  // Then the line has no trailing space
  assert.equal(text, "*filter\n:KUBE-ROUTER-X - [0:0]\n-A KUBE-ROUTER-X\nCOMMIT\n");
});

test("one script per changed (family, table), ipv4 first, with the backend's restore tool", async () => {
  // Given changes in ipv6 filter, ipv4 nat and ipv4 filter
  const a = chain("KUBE-ROUTER-A", ["-j ACCEPT"]);
  const n = chain("KUBE-ROUTER-N", ["-j RETURN"], "nat");
  const six = chain("KUBE-ROUTER-A", ["-j ACCEPT"], "filter", "ipv6");
  const plan: NodePlan = {
    ...emptyPlan(),
    chains: [create(chainKey(six), six), create(chainKey(n), n), create(chainKey(a), a)],
  };
  // When compiled for the legacy backend
  const scripts = compileIptables(plan, iptablesBackend("legacy"));
  // Then three scripts, titled and ordered, each running its own restore with its text
  assert.deepEqual(scripts.map((s) => [s.order, s.title]), [
    [ORDER.iptables, "iptables-restore (ipv4 filter)"],
    [ORDER.iptables, "iptables-restore (ipv4 nat)"],
    [ORDER.iptables, "ip6tables-restore (ipv6 filter)"],
  ]);
  assert.equal(scripts[1]!.text, "iptables-restore --noflush --wait <<'EOF'\n*nat\n:KUBE-ROUTER-N - [0:0]\n-A KUBE-ROUTER-N -j RETURN\nCOMMIT\nEOF\n");
  const calls: { cmd: string; args: readonly string[]; stdin: string; write: boolean }[] = [];
  const exec = recordingExec({
    run: async (cmd, args, o = {}) => {
      calls.push({ cmd, args, stdin: o.stdin ?? "", write: o.write === true });
      return { code: 0, stdout: "", stderr: "" };
    },
  });
  for (const s of scripts) await s.run(exec);
  assert.deepEqual(calls.map((c) => [c.cmd, c.args.join(" "), c.write]), [
    ["iptables-legacy-restore", "--noflush --wait", true],
    ["iptables-legacy-restore", "--noflush --wait", true],
    ["ip6tables-legacy-restore", "--noflush --wait", true],
  ]);
  assert.deepEqual(calls.map((c) => `<<'EOF'\n${c.stdin}EOF\n`), scripts.map((s) => s.text.slice(s.text.indexOf("<<'EOF'"))));
});

test("a plan without chain or jump changes compiles to no script", () => {
  // Given an empty plan
  // When compiled through the driver
  const scripts = iptablesDriver(iptablesBackend("nft")).scripts(emptyPlan());
  // Then nothing runs
  assert.deepEqual(scripts, []);
});

test("inserts are sorted by chain then numeric position (10 after 9)", () => {
  // Given eleven created jumps in FORWARD, listed in key order
  const js = Array.from({ length: 11 }, (_, i) => jump("FORWARD", `kube-router ${String.fromCharCode(107 - i)}`, "ACCEPT", i + 1));
  // When compiled
  const text = restoreText("filter", [], js.map((j) => create(jumpKey(j), j)));
  // Then positions ascend numerically
  const positions = text.split("\n").filter((l) => l.startsWith("-I")).map((l) => Number(l.split(" ")[2]));
  assert.deepEqual(positions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});
