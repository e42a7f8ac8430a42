/**
 * backend.ts: nft vs legacy detection (iptables-wrappers' rules) over fakes, and the override.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { backendEvidence, chooseBackend, detectBackend, iptablesBackend } from "../../src/apply/iptables/backend.ts";
import { FakeIptables } from "../../src/apply/iptables/fake.ts";
import { fakeExec } from "../../src/apply/fake.ts";

const rulesText = (n: number, table = "filter"): string =>
  `*${table}\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${Array.from({ length: n }, (_, i) => `-A INPUT -i eth${i} -j ACCEPT`).join("\n")}\nCOMMIT\n`;
const HINT = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";

/** A host whose nft and legacy backends hold the given saves (ipv4 and ipv6 each). */
function host(nft: { v4?: string; v6?: string }, legacy: { v4?: string; v6?: string }) {
  const n = new FakeIptables({ variants: ["nft"] });
  const l = new FakeIptables({ variants: ["legacy"] });
  if (nft.v4) n.seed("ipv4", nft.v4);
  if (nft.v6) n.seed("ipv6", nft.v6);
  if (legacy.v4) l.seed("ipv4", legacy.v4);
  if (legacy.v6) l.seed("ipv6", legacy.v6);
  return fakeExec(n, l);
}

test("an override is taken as is and runs nothing", async () => {
  // Given an exec that records calls
  const exec = host({}, {});
  // When the backend is forced
  const b = await detectBackend(exec, "legacy");
  // Then it names the legacy tools and ran no command
  assert.deepEqual(b, iptablesBackend("legacy"));
  assert.deepEqual(b.save, { ipv4: "iptables-legacy-save", ipv6: "ip6tables-legacy-save" });
  assert.deepEqual(b.restore, { ipv4: "iptables-legacy-restore", ipv6: "ip6tables-legacy-restore" });
  assert.equal(exec.calls.length, 0);
});

test("detection picks the backend holding more rules, counting both families; only saves run", async () => {
  // Given legacy with 2 ipv4 + 2 ipv6 rules and nft with 3 ipv4 rules
  const exec = host({ v4: rulesText(3) }, { v4: rulesText(2), v6: rulesText(2) });
  // When detected
  const b = await detectBackend(exec);
  // Then legacy wins (4 > 3), and every call was a read-only save without arguments
  assert.equal(b.mode, "legacy");
  assert.deepEqual(exec.calls.map((c) => [c.cmd, c.args.length, c.write]).sort(), [
    ["ip6tables-legacy-save", 0, false], ["ip6tables-nft-save", 0, false],
    ["iptables-legacy-save", 0, false], ["iptables-nft-save", 0, false],
  ]);
});

test("a tie, including an empty host, picks nft", async () => {
  // Given equal rule counts, and a host with nothing at all
  // When detected, Then nft
  assert.equal((await detectBackend(host({ v4: rulesText(2) }, { v6: rulesText(2) }))).mode, "nft");
  assert.equal((await detectBackend(host({}, {}))).mode, "nft");
});

test("kubelet's hint chain in nft mangle wins over more legacy rules; in legacy mangle over more nft rules", async () => {
  // Given the hint in nft and 5 legacy rules
  // When detected, Then nft
  assert.equal((await detectBackend(host({ v6: HINT }, { v4: rulesText(5) }))).mode, "nft");
  // Given the hint in legacy and 5 nft rules
  // When detected, Then legacy
  assert.equal((await detectBackend(host({ v4: rulesText(5) }, { v4: HINT }))).mode, "legacy");
});

test("a saver that fails or is missing counts as an empty backend", async () => {
  // Given only a legacy fake with rules (the nft tools are not handled: exit 127)
  const l = new FakeIptables({ variants: ["legacy"] });
  l.seed("ipv4", rulesText(1));
  // When detected
  const b = await detectBackend(fakeExec(l));
  // Then legacy, without throwing
  assert.equal(b.mode, "legacy");
});

test("evidence counts -A lines and sees the hint only in the mangle table", () => {
  // Given a hint-named chain in filter and rules in two tables
  const text = rulesText(2) + "*filter\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n" + rulesText(1, "nat");
  // When read
  const e = backendEvidence(text);
  // Then 3 rules, no hint
  assert.deepEqual(e, { rules: 3, hint: false });
  assert.equal(backendEvidence(HINT).hint, true);
  assert.equal(chooseBackend({ rules: 0, hint: false }, { rules: 1, hint: false }), "legacy");
});
