/**
 * FakeIptables: restore/save semantics as the real tools have them (atomic COMMIT blocks,
 * chain declarations flush, index and reference errors), and the canonical-form catalog.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeIptables } from "../../src/apply/iptables/fake.ts";
import { CANONICAL_RULES } from "../../src/apply/iptables/canonical.ts";
import { parseSaveText } from "../../src/apply/iptables/save-format.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { ExecError } from "../../src/apply/exec.ts";
import type { Family } from "../../src/model/state.ts";

const FOREIGN = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A FORWARD -j DOCKER
-A FORWARD -m comment --comment "ns/x" -j ACCEPT
-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`;

/** chain → rules of one table of a fake's dump. */
function rules(fake: FakeIptables, family: Family, table: string): Record<string, string[]> {
  const t = parseSaveText(fake.dump(family)).find((x) => x.name === table);
  return t ? Object.fromEntries(t.rules) : {};
}

async function restore(fake: FakeIptables, text: string, cmd = "iptables-nft-restore", args = ["--noflush", "--wait"]) {
  return fakeExec(fake).run(cmd, args, { stdin: text, write: true });
}

test("seed then save round-trips foreign state with iptables-save quoting", async () => {
  // Given a fake seeded with foreign chains, a DROP policy and a quoted comment
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  // When saved through the tool
  const out = (await fakeExec(fake).run("iptables-nft-save", [])).stdout;
  // Then the dump has the same content, `"ns/x"` quoted as iptables-save does
  assert.match(out, /^:FORWARD DROP \[0:0\]$/m);
  assert.match(out, /^-A FORWARD -m comment --comment "ns\/x" -j ACCEPT$/m);
  assert.deepEqual(rules(fake, "ipv4", "filter"), {
    INPUT: [], FORWARD: ["-j DOCKER", "-m comment --comment ns/x -j ACCEPT"], OUTPUT: [],
    DOCKER: ["-d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT"],
  });
  // And ipv6 is untouched and empty
  assert.equal(fake.dump("ipv6"), "");
});

test("declaring an existing chain flushes it; declaring a builtin chain keeps its rules", async () => {
  // Given an owned chain with a rule and a builtin rule
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  await restore(fake, "*filter\n:KUBE-ROUTER-A - [0:0]\n-A KUBE-ROUTER-A -j ACCEPT\n-A KUBE-ROUTER-A -j DROP\nCOMMIT\n");
  // When both are declared again in --noflush mode and one rule appended
  await restore(fake, "*filter\n:FORWARD - [0:0]\n:KUBE-ROUTER-A - [0:0]\n-A KUBE-ROUTER-A -j RETURN\nCOMMIT\n");
  // Then the chain holds only the new rule and FORWARD is unchanged
  const r = rules(fake, "ipv4", "filter");
  assert.deepEqual(r["KUBE-ROUTER-A"], ["-j RETURN"]);
  assert.deepEqual(r["FORWARD"], ["-j DOCKER", "-m comment --comment ns/x -j ACCEPT"]);
});

test("a failing block changes nothing of its table and reports the line like the tool", async () => {
  // Given a seeded fake
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  const before = fake.dump("ipv4");
  // When a block creates a chain, inserts a rule, then inserts at an index too big
  const p = restore(fake, "*filter\n:KUBE-ROUTER-D - [0:0]\n-A KUBE-ROUTER-D -j ACCEPT\n-I FORWARD 1 -j KUBE-ROUTER-D\n-I FORWARD 9 -j ACCEPT\nCOMMIT\n");
  // Then the call fails with exit 1 naming line 5, and the dump is unchanged
  await assert.rejects(p, (e: ExecError) => e.code === 1 && /line 5 failed: Index of insertion too big\./.test(e.message));
  assert.equal(fake.dump("ipv4"), before);
});

test("blocks commit one by one: an earlier COMMIT stays when a later block fails", async () => {
  // Given an empty fake
  const fake = new FakeIptables();
  // When nat commits and filter then fails
  const p = restore(fake, "*nat\n:KUBE-ROUTER-N - [0:0]\nCOMMIT\n*filter\n-D FORWARD -j DROP\nCOMMIT\n");
  // Then the error is the delete's, nat has the chain, filter was never created
  await assert.rejects(p, /line 5 failed: Bad rule \(does a matching rule exist in that chain\?\)\./);
  assert.deepEqual(Object.keys(rules(fake, "ipv4", "nat")), ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-ROUTER-N"]);
  assert.deepEqual(rules(fake, "ipv4", "filter"), {});
});

test("refusals: unknown jump target, -N of an existing chain, -X of busy chains, missing COMMIT", async () => {
  // Given a fake with FOREIGN state and an owned chain referenced from DOCKER
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  await restore(fake, "*filter\n:KUBE-ROUTER-C - [0:0]\n-A KUBE-ROUTER-C -j ACCEPT\n-A DOCKER -j KUBE-ROUTER-C\nCOMMIT\n");
  const before = fake.dump("ipv4");
  const cases: [string, RegExp][] = [
    ["*filter\n-A FORWARD -j NOPE\nCOMMIT\n", /line 2 failed: Chain 'NOPE' does not exist/],
    ["*filter\n-A FORWARD -j INPUT\nCOMMIT\n", /line 2 failed: Chain 'INPUT' does not exist/],
    ["*filter\n-N DOCKER\nCOMMIT\n", /line 2 failed: Chain already exists\./],
    ["*filter\n-X KUBE-ROUTER-C\nCOMMIT\n", /line 2 failed: .*Device or resource busy/], // non-empty
    ["*filter\n-F KUBE-ROUTER-C\n-X KUBE-ROUTER-C\nCOMMIT\n", /line 3 failed: .*Device or resource busy/], // referenced
    ["*filter\n-X FORWARD\nCOMMIT\n", /line 2 failed: .*Device or resource busy/], // builtin
    ["*filter\n-X KUBE-ROUTER-NONE\nCOMMIT\n", /line 2 failed: No chain\/target\/match by that name\./],
    ["*filter\n-A KUBE-ROUTER-NONE -j ACCEPT\nCOMMIT\n", /line 2 failed: No chain\/target\/match by that name\./],
    ["*filter\n-D FORWARD 7\nCOMMIT\n", /line 2 failed: Index of deletion too big\./],
    ["*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\n", /COMMIT expected at line 4/],
    ["*bogus\nCOMMIT\n", /line 1 failed: Table 'bogus' does not exist/],
    ["*nat\n-A FORWARD -j ACCEPT\nCOMMIT\n", /line 2 failed: No chain\/target\/match by that name\./],
  ];
  for (const [text, re] of cases) {
    // When each is restored, Then it fails with the tool's reason and changes nothing
    await assert.rejects(restore(fake, text), (e: ExecError) => e instanceof ExecError && re.test(e.message), text);
    assert.equal(fake.dump("ipv4"), before, text);
  }
});

test("-D by rule removes the first identical rule; -D N by number; -F and -X work when allowed", async () => {
  // Given FORWARD with two identical owned rules around a foreign one
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  await restore(fake, `*filter\n:KUBE-ROUTER-E - [0:0]\n-I FORWARD 1 -m comment --comment "kube-router e" -j KUBE-ROUTER-E\n-A FORWARD -m comment --comment "kube-router e" -j KUBE-ROUTER-E\nCOMMIT\n`);
  // When one copy is deleted by rule, then rule 1 by number, and DOCKER's rule by a non-canonical spelling
  await restore(fake, `*filter\n-D FORWARD -m comment --comment "kube-router e" -j KUBE-ROUTER-E\n-D FORWARD 1\nCOMMIT\n`);
  await restore(fake, `*filter\n-D DOCKER -p tcp --dport 80 -d 172.17.0.2 -j ACCEPT\nCOMMIT\n`);
  // Then the first copy, the DOCKER jump and DOCKER's rule went, the last copy stays
  assert.deepEqual(rules(fake, "ipv4", "filter")["DOCKER"], []);
  assert.deepEqual(rules(fake, "ipv4", "filter")["FORWARD"], [
    "-m comment --comment ns/x -j ACCEPT", `-m comment --comment "kube-router e" -j KUBE-ROUTER-E`,
  ]);
  // And once unreferenced and flushed, the chain can be deleted; -F with no chain flushes all
  await restore(fake, `*filter\n-F\n-X KUBE-ROUTER-E\nCOMMIT\n`);
  const r = rules(fake, "ipv4", "filter");
  assert.equal(r["KUBE-ROUTER-E"], undefined);
  assert.deepEqual(r["FORWARD"], []);
});

test("restore without --noflush replaces the table, keeping builtin policies", async () => {
  // Given a seeded fake
  const fake = new FakeIptables();
  fake.seed("ipv4", FOREIGN);
  // When restored without --noflush
  await restore(fake, "*filter\n:KUBE-ROUTER-A - [0:0]\nCOMMIT\n", "iptables-restore", []);
  // Then foreign chains and rules are gone, the policy stays
  assert.deepEqual(rules(fake, "ipv4", "filter"), { INPUT: [], FORWARD: [], OUTPUT: [], "KUBE-ROUTER-A": [] });
  assert.match(fake.dump("ipv4"), /^:FORWARD DROP/m);
});

test("variants: an nft-only fake does not answer legacy tools; ip6tables goes to ipv6", async () => {
  // Given an nft-only fake
  const fake = new FakeIptables({ variants: ["nft"] });
  // Then it handles only the nft tools
  assert.equal(fake.handles("iptables-nft-save"), true);
  assert.equal(fake.handles("ip6tables-nft-restore"), true);
  assert.equal(fake.handles("iptables-legacy-save"), false);
  assert.equal(fake.handles("iptables-save"), false);
  assert.equal(fake.handles("ipset"), false);
  // When ip6tables restores a chain
  await restore(fake, "*filter\n:KUBE-ROUTER-6 - [0:0]\nCOMMIT\n", "ip6tables-nft-restore");
  // Then it is in ipv6 only
  assert.match(fake.dump("ipv6"), /^:KUBE-ROUTER-6 - \[0:0\]$/m);
  assert.equal(fake.dump("ipv4"), "");
});

test("catalog: the fake saves every catalog input exactly as the kernel does", async () => {
  // Given every canonical-form catalog entry
  for (const c of CANONICAL_RULES) {
    const fake = new FakeIptables();
    const tool = c.family === "ipv4" ? "iptables" : "ip6tables";
    const target = /-j (KUBE-\S+)/.exec(c.input)?.[1];
    const decl = target ? `:${target} - [0:0]\n` : "";
    // When the input form is appended and saved
    await restore(fake, `*${c.table}\n${decl}:KUBE-ROUTER-CAT - [0:0]\n-A KUBE-ROUTER-CAT ${c.input}\nCOMMIT\n`, `${tool}-restore`);
    const line = fake.dump(c.family).split("\n").find((l) => l.startsWith("-A KUBE-ROUTER-CAT"));
    // Then the raw saved line is the catalog's, and it parses to the canonical text
    assert.equal(line, `-A KUBE-ROUTER-CAT ${c.saved ?? c.canonical}`, c.input);
    assert.deepEqual(rules(fake, c.family, c.table)["KUBE-ROUTER-CAT"], [c.canonical], c.input);
  }
});
