/**
 * ipset driver on the real tool, in network namespaces the tests create and delete:
 * the member catalog matches what the kernel saves, the fake agrees with the kernel on the
 * restore semantics the driver relies on, a sync converges and leaves foreign sets alone,
 * a no-op sync writes nothing, and a set referenced by an iptables rule gets its header
 * replaced (swap) without error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ipsetDriver } from "../../src/apply/ipset/driver.ts";
import { FakeIpset } from "../../src/apply/ipset/fake.ts";
import { IPSET_MEMBER_FORMS, canonicalMember, formatAddr } from "../../src/model/ipset-members.ts";
import { parseIpsetSave } from "../../src/apply/ipset/parse.ts";
import { tmpSetName } from "../../src/apply/ipset/compile.ts";
import { type Exec, realExec, recordingExec } from "../../src/apply/exec.ts";
import { diffNode } from "../../src/model/plan.ts";
import { type Ipset, type NodeState, emptyNodeState } from "../../src/model/state.ts";
import { deepEqual, sortedTable } from "../../src/model/table.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

const withIpsets = (sets: readonly Ipset[]): NodeState => ({ ...emptyNodeState(), ipsets: sortedTable(sets.map((s) => [s.name, s] as const)) });
const set = (name: string, type: Ipset["type"], members: string[], timeout?: number): Ipset => ({
  name, type, family: name.startsWith("inet6:") ? "inet6" : "inet", ...(timeout !== undefined ? { timeout } : {}), members: new Set(members),
});

async function sync(exec: Exec, desired: NodeState) {
  const driver = ipsetDriver();
  const observed = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
  const plan = diffNode(desired, observed);
  for (const s of driver.scripts(plan).sort((a, b) => a.order - b.order)) await s.run(exec);
  return plan;
}
const restoreIn = (ns: string, text: string) => realExec({ netns: ns }).run("ipset", ["restore", "-exist"], { stdin: text, write: true });

test("kernel: every catalog member form is what `ipset save` prints", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  // Given one set per (type, family) of the catalog, filled with the catalog's inputs
  const groups = new Map<string, { name: string; forms: (typeof IPSET_MEMBER_FORMS)[number][] }>();
  for (const f of IPSET_MEMBER_FORMS) {
    const k = `${f.type}/${f.family}`;
    if (!groups.has(k)) groups.set(k, { name: `${f.family === "inet6" ? "inet6:" : ""}kube-router-cat${groups.size}`, forms: [] });
    groups.get(k)!.forms.push(f);
  }
  let text = "";
  for (const { name, forms } of groups.values()) {
    text += `create ${name} ${forms[0]!.type} family ${forms[0]!.family}\n`;
    for (const f of forms) text += `add ${name} ${f.input}\n`;
  }
  await restoreIn(ns, text);
  // When saved and parsed
  const saved = parseIpsetSave((await realExec({ netns: ns }).run("ipset", ["save"])).stdout);
  // Then each set holds exactly the catalog's saved forms
  for (const { name, forms } of groups.values()) {
    assert.deepEqual([...saved.get(name)!.members].sort(), forms.map((f) => f.saved).sort(), name);
  }
}));

test("kernel: IPv6 and IPv4-net canonical forms match the tool on random addresses", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  // Given random addresses biased to zero runs, written uncompressed in upper case
  const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 1, max: 0xffff }));
  const v6 = fc.sample(fc.array(word, { minLength: 8, maxLength: 8 }).filter((w) => w.some((x) => x !== 0)), { numRuns: 300, seed: 42 });
  const v4 = fc.sample(fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 31 })), { numRuns: 200, seed: 7 });
  let text = "create inet6:kube-router-r6 hash:ip family inet6 maxelem 100000\ncreate kube-router-r4 hash:net family inet\n";
  for (const w of v6) text += `add inet6:kube-router-r6 ${w.map((x) => x.toString(16).toUpperCase()).join(":")}\n`;
  for (const [b, len] of v4) text += `add kube-router-r4 ${b.join(".")}/${len}\n`;
  await restoreIn(ns, text);
  // When saved
  const saved = parseIpsetSave((await realExec({ netns: ns }).run("ipset", ["save"])).stdout);
  // Then the kernel's forms are exactly our canonical forms
  assert.deepEqual([...saved.get("inet6:kube-router-r6")!.members].sort(), [...new Set(v6.map((w) => formatAddr("inet6", w)))].sort());
  assert.deepEqual([...saved.get("kube-router-r4")!.members].sort(), [...new Set(v4.map(([b, len]) => canonicalMember("hash:net", "inet", `${b.join(".")}/${len}`)))].sort());
}));

/** Restore scenarios run on both the kernel and the fake; `ref` names a set an iptables rule uses. */
const SCENARIOS: { name: string; seed: string; ref?: string; text: string; exist: boolean }[] = [
  { name: "dup add stops the batch", seed: "create kube-router-a hash:ip\n", exist: false,
    text: "create kube-router-b hash:ip\nadd kube-router-a 10.0.0.1\nadd kube-router-a 10.0.0.1\nadd kube-router-a 10.0.0.2\n" },
  { name: "parse error discards buffered adds of the current set", seed: "create kube-router-a hash:ip\ncreate kube-router-b hash:ip\n", exist: true,
    text: "add kube-router-a 10.0.0.1\nadd kube-router-b 10.0.0.1\nadd kube-router-nosuch 10.0.0.1\n" },
  { name: "command change sends the buffer", seed: "create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\n", exist: true,
    text: "add kube-router-a 10.0.0.2\ndel kube-router-a 10.0.0.1\nadd kube-router-nosuch 10.0.0.1\n" },
  { name: "bad create line discards buffered adds", seed: "create kube-router-a hash:net\n", exist: true,
    text: "add kube-router-a 10.2.0.0/16\ncreate kube-router-b badtype\n" },
  { name: "kernel create error keeps earlier adds", seed: "create kube-router-a hash:net\n", exist: true,
    text: "add kube-router-a 10.3.0.0/16\ncreate kube-router-a hash:ip\n" },
  { name: "create -exist: other timeout fails", seed: "create kube-router-a hash:ip\n", exist: true, text: "create kube-router-a hash:ip timeout 0\n" },
  { name: "create -exist: other family and hashsize pass", seed: "create kube-router-a hash:ip\n", exist: true,
    text: "create kube-router-a hash:ip family inet6 hashsize 4096\nadd kube-router-a 10.0.0.1\n" },
  { name: "create -exist caches the line's family for later adds", seed: "create kube-router-a hash:ip\n", exist: true,
    text: "create kube-router-a hash:ip family inet6\nadd kube-router-a 2001:db8::1\n" },
  { name: "destroy and create refresh the cached family", seed: "create kube-router-b hash:ip\n", exist: true,
    text: "create kube-router-b hash:ip family inet6\ndestroy kube-router-b\ncreate kube-router-b hash:ip\nadd kube-router-b 10.0.0.1\n" },
  { name: "swap across types fails", seed: "create kube-router-a hash:ip\ncreate kube-router-b hash:net\n", exist: true, text: "swap kube-router-a kube-router-b\n" },
  { name: "swap across families fails", seed: "create kube-router-a hash:ip\ncreate inet6:kube-router-a hash:ip family inet6\n", exist: true,
    text: "swap kube-router-a inet6:kube-router-a\n" },
  { name: "swap across timeouts of a referenced set", seed: "create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\n", ref: "kube-router-a", exist: true,
    text: "create kube-router-t hash:ip family inet timeout 0\nadd kube-router-t 10.0.0.2\nswap kube-router-t kube-router-a\ndestroy kube-router-t\ndestroy kube-router-a\n" },
  { name: "nomatch rewritten by add -exist; del with a flag is a syntax error", seed: "create kube-router-n hash:net\nadd kube-router-n 10.1.0.0/16 nomatch\nadd kube-router-n 10.2.0.0/16\n", exist: true,
    text: "add kube-router-n 10.1.0.0/16\nadd kube-router-n 10.2.0.0/16 nomatch\ndel kube-router-n 10.2.0.0/16 nomatch\n" },
  { name: "timeout on a set without timeout support", seed: "create kube-router-n hash:net\n", exist: true,
    text: "add kube-router-n 10.5.0.0/16\nadd kube-router-n 10.6.0.0/16 timeout 5\n" },
  { name: "flush of a missing set fails even with -exist; destroy does not", seed: "create kube-router-a hash:ip\n", exist: true,
    text: "destroy kube-router-nosuch\nflush kube-router-nosuch\n" },
  { name: "del of a missing member without -exist", seed: "create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\n", exist: false,
    text: "del kube-router-a 10.0.0.1\ndel kube-router-a 10.0.0.9\n" },
  { name: "add canonicalises", seed: "create kube-router-a hash:net,port\ncreate inet6:kube-router-b hash:ip family inet6\n", exist: true,
    text: "add kube-router-a 10.0.0.7/24,132:80\nadd kube-router-a 10.0.0.1/32,53\nadd inet6:kube-router-b 2001:DB8:0:0::A\n" },
];

test("kernel: the fake agrees with `ipset restore` on exit status, failing line and resulting sets", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  const exec = realExec({ netns: ns });
  for (const sc of SCENARIOS) {
    // Given the same seed in the kernel (plus an iptables reference) and in the fake
    nsSh(ns, "iptables -F INPUT; ipset destroy");
    await restoreIn(ns, sc.seed);
    if (sc.ref) nsSh(ns, `iptables -A INPUT -m set --match-set ${sc.ref} src -j ACCEPT`);
    const fake = new FakeIpset();
    fake.seed(sc.seed);
    if (sc.ref) fake.reference(sc.ref);
    // When the same restore text runs on both
    const args = sc.exist ? ["restore", "-exist"] : ["restore"];
    const k = await exec.run("ipset", args, { stdin: sc.text, okCodes: [1, 2] });
    const f = fake.run("ipset", args, sc.text);
    // Then both succeed or both fail at the same line, leaving the same sets
    const line = (s: string) => /Error in line (\d+)/.exec(s)?.[1];
    assert.equal(f.code, k.code, `${sc.name}: kernel ${k.code} ${k.stderr} / fake ${f.code} ${f.stderr}`);
    assert.equal(line(f.stderr), line(k.stderr), `${sc.name}: ${k.stderr} / ${f.stderr}`);
    const kernelSets = parseIpsetSave((await exec.run("ipset", ["save"])).stdout);
    assert.ok(deepEqual(parseIpsetSave(fake.dump()), kernelSets), `${sc.name}:\n${fake.dump()}`);
  }
  nsSh(ns, "iptables -F INPUT");
}));

/** Random restore batches over three sets of fixed types (ranges, which the fake refuses, never occur). */
const TYPE_OF: Record<string, string> = { "kube-router-a": "hash:ip", "kube-router-b": "hash:ip", "kube-router-n": "hash:net" };
const MEMBERS: Record<string, string[]> = {
  "hash:ip": ["10.0.0.1", "10.0.0.2", "10.0.0.300", "10.0.0.1 nomatch"],
  "hash:net": ["10.0.0.0/24", "10.0.0.5/24", "10.0.0.1", "10.0.0.0/24 nomatch", "10.0.0.1/32 nomatch"],
};
const arbName = fc.constantFrom("kube-router-a", "kube-router-b", "kube-router-n", "kube-router-nosuch");
const arbLine: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(arbName, fc.boolean()).map(([n, t]) => `create ${n} ${TYPE_OF[n] ?? "hash:ip"}${t ? " timeout 0" : ""}`),
  fc.tuple(fc.constantFrom("add", "add", "del"), arbName, fc.nat()).map(([v, n, i]) => {
    const pool = MEMBERS[TYPE_OF[n] ?? "hash:ip"]!;
    return `${v} ${n} ${pool[i % pool.length]}`;
  }),
  arbName.map((n) => `flush ${n}`),
  arbName.map((n) => `destroy ${n}`),
  fc.tuple(arbName, arbName).map(([a, b]) => `swap ${a} ${b}`),
);

test("kernel: the fake agrees with the kernel on random restore batches", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  const exec = realExec({ netns: ns });
  const seed = "create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\ncreate kube-router-n hash:net timeout 0\nadd kube-router-n 10.0.0.0/24\n";
  await fc.assert(fc.asyncProperty(fc.array(arbLine, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), async (lines, exist, ref) => {
    // Given the same seed (kube-router-a maybe referenced by an iptables rule) in kernel and fake
    nsSh(ns, "iptables -F INPUT; ipset destroy");
    await restoreIn(ns, seed);
    const fake = new FakeIpset();
    fake.seed(seed);
    if (ref) {
      nsSh(ns, "iptables -A INPUT -m set --match-set kube-router-a src -j ACCEPT");
      fake.reference("kube-router-a");
    }
    // When a random batch runs on both
    const text = lines.map((l) => `${l}\n`).join("");
    const args = exist ? ["restore", "-exist"] : ["restore"];
    const k = await exec.run("ipset", args, { stdin: text, okCodes: [1, 2] });
    const f = fake.run("ipset", args, text);
    // Then exit code, failing line and resulting sets agree
    const line = (s: string) => /Error in line (\d+)/.exec(s)?.[1];
    assert.equal(f.code, k.code, `${k.stderr} / ${f.stderr}`);
    assert.equal(line(f.stderr), line(k.stderr), `${k.stderr} / ${f.stderr}`);
    assert.ok(deepEqual(parseIpsetSave(fake.dump()), parseIpsetSave((await exec.run("ipset", ["save"])).stdout)), fake.dump());
  }), { numRuns: 150, seed: 1 });
  nsSh(ns, "iptables -F INPUT");
}));

test("kernel: a sync creates, fills, swaps, retypes and destroys; foreign sets survive; a second sync writes nothing", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  // Given owned sets in various states and a foreign set
  nsSh(ns, `ipset restore <<'EOF'
create kube-router-keep hash:ip family inet timeout 0
add kube-router-keep 10.0.0.1
add kube-router-keep 10.0.0.2
create kube-router-hdr hash:ip family inet
add kube-router-hdr 10.0.0.9
create kube-router-gone hash:net family inet
add kube-router-gone 10.9.0.0/16
create kube-router-retype hash:ip family inet
add kube-router-retype 10.0.0.1
create kube-router-flip hash:net family inet
add kube-router-flip 10.1.0.0/16 nomatch
add kube-router-flip 10.2.0.0/16
create inet6:kube-router-v6 hash:net family inet6 timeout 0
add inet6:kube-router-v6 2001:db8::/32
create foreign-set hash:ip family inet
add foreign-set 192.0.2.1
EOF`);
  const desired = withIpsets([
    set("kube-router-keep", "hash:ip", ["10.0.0.2", "10.0.0.3"], 0),
    set("kube-router-hdr", "hash:ip", ["10.0.0.9", "10.0.0.10"], 0),
    set("kube-router-retype", "hash:net", ["10.0.0.0/24"]),
    set("kube-router-flip", "hash:net", ["10.1.0.0/16", "10.2.0.0/16 nomatch"]),
    set("inet6:kube-router-v6", "hash:net", ["2001:db8:1::/64", "2001:db8::1"], 0),
    set("KUBE-DST-NEW", "hash:ip,port", ["10.96.0.10,udp:53", "10.96.0.10,sctp:53"], 0),
  ]);
  const exec = recordingExec(realExec({ netns: ns }));
  // When synced
  const plan = await sync(exec, desired);
  assert.deepEqual(plan.ipsets.map((c) => `${c.op} ${c.key}`), ["create KUBE-DST-NEW", "delete kube-router-gone", "update kube-router-hdr", "update kube-router-retype"]);
  // Then the kernel holds exactly the desired owned sets, no temp set, and the foreign set as it was
  const after = await ipsetDriver().observe(exec, desired);
  assert.ok(deepEqual(after.ipsets, desired.ipsets), nsSh(ns, "ipset save"));
  assert.match(nsSh(ns, "ipset save foreign-set"), /^add foreign-set 192\.0\.2\.1$/m);
  assert.equal(nsSh(ns, "ipset list -n").includes(tmpSetName("kube-router-hdr")), false);
  // And a second sync plans nothing and makes no write call
  const before = exec.writes();
  const again = await sync(exec, desired);
  assert.equal(again.ipsets.length + again.ipsetMembers.length, 0);
  assert.equal(exec.writes(), before);
}));

test("kernel: a set referenced by an iptables rule gets its header replaced; deleting it waits for the rule", { skip: kernelSkip }, () => withNetns("ipset", async (ns) => {
  // Given kube-router-svip (no timeout) used by an INPUT rule
  nsSh(ns, "ipset create kube-router-svip hash:ip && ipset add kube-router-svip 10.96.0.1 && iptables -A INPUT -m set --match-set kube-router-svip dst -j ACCEPT");
  const exec = realExec({ netns: ns });
  const desired = withIpsets([set("kube-router-svip", "hash:ip", ["10.96.0.1", "10.96.0.2"], 0)]);
  // When synced to `timeout 0` with one more member
  const plan = await sync(exec, desired);
  // Then it was a header update, it succeeded, and the rule still references the set
  assert.deepEqual(plan.ipsets.map((c) => c.op), ["update"]);
  assert.ok(deepEqual((await ipsetDriver().observe(exec, desired)).ipsets, desired.ipsets));
  assert.match(nsSh(ns, "iptables -S INPUT"), /--match-set kube-router-svip dst -j ACCEPT/);
  assert.match(nsSh(ns, "ipset list -n"), /^kube-router-svip$/m);
  // When the set is no longer desired while the rule still uses it, the destroy fails loudly
  await assert.rejects(sync(exec, withIpsets([])), /ipset: cannot destroy kube-router-svip \(Set cannot be destroyed: it is in use by a kernel component\): a rule we do not own still references it/);
  // and once the rule is gone, the next sync destroys it
  nsSh(ns, "iptables -F INPUT");
  await sync(exec, withIpsets([]));
  assert.equal(nsSh(ns, "ipset list -n").includes("kube-router-svip"), false);
}));
