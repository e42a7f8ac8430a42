/**
 * ipset driver, pure parts: the `ipset save` parser on real 6.18 dumps, the member
 * canonicaliser's catalog and rejections, and the exact restore text compiled from plans.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIpsetSave } from "../../src/apply/ipset/parse.ts";
import { IPSET_MEMBER_FORMS, canonicalMember } from "../../src/model/ipset-members.ts";
import { ipsetScripts, tmpSetName } from "../../src/apply/ipset/compile.ts";
import { ipsetDriver } from "../../src/apply/ipset/driver.ts";
import { FakeIpset } from "../../src/apply/ipset/fake.ts";
import { ORDER } from "../../src/apply/driver.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { ownsIpset } from "../../src/model/names.ts";
import { type NodePlan, emptyPlan } from "../../src/model/plan.ts";
import { type Ipset, emptyNodeState } from "../../src/model/state.ts";

// Captured from `ipset save` on the 6.18 dev kernel (ipset 7.17), foreign sets included.
const REAL_DUMP = `create kube-router-a hash:net family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x5defcf30
add kube-router-a 10.2.0.0/16 timeout 299
add kube-router-a 10.0.0.1 timeout 0
add kube-router-a 10.1.0.0/16 timeout 0 nomatch
add kube-router-a 10.0.0.0/24 timeout 0
create kube-router-svip-prt hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0xfccfe79d
add kube-router-svip-prt 10.96.0.10,tcp:53 timeout 0
add kube-router-svip-prt 10.96.0.10,udp:53 timeout 0
add kube-router-svip-prt 10.96.0.12,sctp:81 timeout 0
create inet6:kube-router-local-ips hash:ip family inet6 hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x4f72599a
add inet6:kube-router-local-ips 2001:db8::2 timeout 0
add inet6:kube-router-local-ips ::ffff:10.0.0.1 timeout 0
create kube-router-d hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x137bef98
add kube-router-d 10.0.0.5
create KUBE-DST-X hash:net family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x42db5106
add KUBE-DST-X 10.0.0.0/8 packets 0 bytes 0 comment "hello world"
create foreign hash:mac hashsize 1024 maxelem 65536 netmask 24 bucketsize 12 initval 0xbf305f94
add foreign 00:11:22:33:44:55
create inet6:KUBE-SRC-Y hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x42196558
add inet6:KUBE-SRC-Y 2001:db8::/32
add inet6:KUBE-SRC-Y 2001:db8:1::/64
create kube-router-h hash:net,iface family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x4cf928ae
add kube-router-h 10.0.1.0/24,physdev:eth1
add kube-router-h 10.0.0.0/24,eth0
`;

const set = (name: string, type: Ipset["type"], family: Ipset["family"], members: string[], timeout?: number): Ipset => ({
  name, type, family, ...(timeout !== undefined ? { timeout } : {}), members: new Set(members),
});

test("parse: a real 6.18 dump yields the owned sets only, noise dropped, nomatch kept", () => {
  // Given a dump with bucketsize/initval noise, timeout 0 sets, counters/comments, inet6 sets and a foreign set
  // When parsed
  const t = parseIpsetSave(REAL_DUMP);
  // Then exactly the owned sets come out, in name order, normalised
  assert.deepEqual([...t.keys()], [
    "KUBE-DST-X", "inet6:KUBE-SRC-Y", "inet6:kube-router-local-ips", "kube-router-a", "kube-router-d", "kube-router-h", "kube-router-svip-prt",
  ]);
  assert.deepEqual(t.get("kube-router-a"), set("kube-router-a", "hash:net", "inet", ["10.2.0.0/16", "10.0.0.1", "10.1.0.0/16 nomatch", "10.0.0.0/24"], 0));
  assert.deepEqual(t.get("kube-router-svip-prt"), set("kube-router-svip-prt", "hash:ip,port", "inet", ["10.96.0.10,tcp:53", "10.96.0.10,udp:53", "10.96.0.12,sctp:81"], 0));
  assert.deepEqual(t.get("inet6:kube-router-local-ips"), set("inet6:kube-router-local-ips", "hash:ip", "inet6", ["2001:db8::2", "::ffff:10.0.0.1"], 0));
  assert.deepEqual(t.get("kube-router-d"), set("kube-router-d", "hash:ip", "inet", ["10.0.0.5"]));
  assert.equal("timeout" in t.get("kube-router-d")!, false);
  assert.deepEqual(t.get("KUBE-DST-X"), set("KUBE-DST-X", "hash:net", "inet", ["10.0.0.0/8"]));
  assert.deepEqual(t.get("inet6:KUBE-SRC-Y"), set("inet6:KUBE-SRC-Y", "hash:net", "inet6", ["2001:db8::/32", "2001:db8:1::/64"]));
  assert.deepEqual(t.get("kube-router-h"), set("kube-router-h", "hash:net,iface", "inet", ["10.0.1.0/24,physdev:eth1", "10.0.0.0/24,eth0"]));
});

test("parse: empty dump and blank lines give an empty table", () => {
  assert.equal(parseIpsetSave("").size, 0);
  assert.equal(parseIpsetSave("\n\n").size, 0);
});

test("parse: malformed lines throw naming the line number", () => {
  const cases: [string, RegExp][] = [
    ["create kube-router-a hash:ip family inet\nbogus line here\n", /line 2: unknown command bogus/],
    ["add kube-router-a 10.0.0.1\n", /line 1: add to set kube-router-a before its create line/],
    ["create kube-router-a hash:ip\ncreate kube-router-a hash:ip\n", /line 2: set kube-router-a created twice/],
    ["create kube-router-m hash:mac hashsize 1024\n", /line 1: owned set kube-router-m has type hash:mac/],
    ["create kube-router-n hash:ip family inet netmask 24\n", /line 1: create option netmask is not modelled/],
    ["create kube-router-n hash:ip family inet timeout\n", /line 1: option timeout without a value/],
    ["create kube-router-n hash:ip family inet\nadd kube-router-n 10.0.0.1 skbmark\n", /line 2: member option skbmark/],
    ["\ncreate kube-router-n hash:net comment\nadd kube-router-n 10.0.0.0/8 comment \"oops\n", /line 3: unterminated quote/],
    ["create\n", /line 1: expected/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseIpsetSave(text), re, text);
});

test("parse: foreign sets are skipped whatever their options", () => {
  // Given only foreign sets, one with options the model cannot represent
  const t = parseIpsetSave("create cali40x hash:ip family inet netmask 24 weird-flag\nadd cali40x 10.0.0.0\ncreate f2 list:set size 8\n");
  // Then nothing is observed and nothing throws
  assert.equal(t.size, 0);
});

test("members: every catalog entry canonicalises to the saved form, and saved forms are fixed points", () => {
  for (const f of IPSET_MEMBER_FORMS) {
    assert.equal(canonicalMember(f.type, f.family, f.input), f.saved, `${f.type} ${f.input}`);
    assert.equal(canonicalMember(f.type, f.family, f.saved), f.saved, `${f.type} ${f.saved}`);
  }
});

test("members: input the tool would expand, misread or reject is refused with a reason", () => {
  const bad: [Ipset["type"], Ipset["family"], string, RegExp][] = [
    ["hash:ip", "inet", "010.0.0.1", /not an IPv4 address/],
    ["hash:ip", "inet", "10.0.0.0/30", /range/],
    ["hash:ip", "inet", "10.0.0.1-10.0.0.3", /range/],
    ["hash:ip", "inet", "0.0.0.0", /null address/],
    ["hash:ip", "inet", "2001:db8::1", /not an IPv4 address/],
    ["hash:ip", "inet6", "fe80::1%eth0", /not an IPv6 address/],
    ["hash:ip", "inet6", "1:2:3:4:5:6:7:8:9", /not an IPv6 address/],
    ["hash:ip", "inet6", "1::2::3", /not an IPv6 address/],
    ["hash:ip", "inet", "10.0.0.1 nomatch", /nomatch needs a type with a net part/],
    ["hash:net", "inet", "0.0.0.0/0", /prefix length "0"/],
    ["hash:net", "inet", "10.0.0.0/33", /prefix length "33"/],
    ["hash:net", "inet", "10.0.0.0/8 timeout 5", /unsupported flag "timeout"/],
    ["hash:ip,port", "inet", "10.0.0.1,tcp:80-82", /ranges/],
    ["hash:ip,port", "inet", "10.0.0.1,tcp:http", /named services/],
    ["hash:ip,port", "inet", "10.0.0.1,icmp:8", /protocol "icmp" unsupported/],
    ["hash:ip,port", "inet", "10.0.0.1,udp:65536", /out of range/],
    ["hash:ip,port", "inet", "10.0.0.1", /2 comma-separated/],
    ["hash:net,iface", "inet", "10.0.0.0/8,eth:0", /not an interface name/],
  ];
  for (const [type, family, m, re] of bad) assert.throws(() => canonicalMember(type, family, m), re, `${type} ${m}`);
});

// ------------------------------------------------------------------------------------------
// compile

const plan = (p: Partial<NodePlan>): NodePlan => ({ ...emptyPlan(), ...p });

test("compile: an empty plan gives no script", () => {
  assert.deepEqual(ipsetScripts(emptyPlan()), []);
});

test("compile: a created set is one create line and sorted adds, in the fill script", () => {
  // Given a plan creating an IPv6 timeout set
  const s = set("inet6:kube-router-node-ips", "hash:ip", "inet6", ["2001:db8::2", "2001:db8::1"], 0);
  // When compiled
  const scripts = ipsetScripts(plan({ ipsets: [{ op: "create", key: s.name, after: s }] }));
  // Then one fill script with the exact restore text
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0]!.order, ORDER.ipsetFill);
  assert.equal(scripts[0]!.title, "ipset restore");
  assert.equal(scripts[0]!.text, [
    "ipset restore -exist <<'EOF'",
    "create inet6:kube-router-node-ips hash:ip family inet6 timeout 0",
    "add inet6:kube-router-node-ips 2001:db8::1",
    "add inet6:kube-router-node-ips 2001:db8::2",
    "EOF",
    "",
  ].join("\n"));
});

test("compile: a timeout change is built in a temp set and swapped in", () => {
  // Given a set whose header gains `timeout 0`
  const before = set("kube-router-svip", "hash:ip", "inet", ["10.96.0.1"]);
  const after = set("kube-router-svip", "hash:ip", "inet", ["10.96.0.2", "10.96.0.1"], 0);
  const tmp = tmpSetName("kube-router-svip");
  // When compiled
  const [fill, ...rest] = ipsetScripts(plan({ ipsets: [{ op: "update", key: after.name, before, after }] }));
  // Then the temp set is created, filled, swapped and destroyed; no destroy script
  assert.equal(rest.length, 0);
  assert.equal(fill!.text, [
    "ipset restore -exist <<'EOF'",
    `create ${tmp} hash:ip family inet timeout 0`,
    `add ${tmp} 10.96.0.1`,
    `add ${tmp} 10.96.0.2`,
    `swap ${tmp} kube-router-svip`,
    `destroy ${tmp}`,
    "EOF",
    "",
  ].join("\n"));
});

test("compile: a type change cannot be swapped, so the set is destroyed and created", () => {
  const before = set("kube-router-x", "hash:ip", "inet", ["10.0.0.1"]);
  const after = set("kube-router-x", "hash:net", "inet", ["10.0.0.0/24"]);
  const [fill] = ipsetScripts(plan({ ipsets: [{ op: "update", key: after.name, before, after }] }));
  assert.equal(fill!.text, "ipset restore -exist <<'EOF'\ndestroy kube-router-x\ncreate kube-router-x hash:net family inet\nadd kube-router-x 10.0.0.0/24\nEOF\n");
});

test("compile: member changes are dels (without flags) then adds; a nomatch flip is only an add", () => {
  // Given member changes on two sets, listed out of name order
  const scripts = ipsetScripts(plan({
    ipsetMembers: [
      { set: "kube-router-z", family: "inet", add: ["10.0.0.3"], del: [] },
      { set: "kube-router-b", family: "inet", add: ["10.1.0.0/16", "10.3.0.0/16 nomatch"], del: ["10.1.0.0/16 nomatch", "10.2.0.0/16 nomatch", "10.4.0.0/16"] },
    ],
  }));
  // Then sets come in name order; the flag flip of 10.1.0.0/16 is not deleted
  assert.equal(scripts[0]!.text, [
    "ipset restore -exist <<'EOF'",
    "del kube-router-b 10.2.0.0/16",
    "del kube-router-b 10.4.0.0/16",
    "add kube-router-b 10.1.0.0/16",
    "add kube-router-b 10.3.0.0/16 nomatch",
    "add kube-router-z 10.0.0.3",
    "EOF",
    "",
  ].join("\n"));
});

test("compile: deleted sets are flushed and destroyed in a later script than the fill", () => {
  const a = set("kube-router-a", "hash:ip", "inet", ["10.0.0.1"]);
  const b = set("KUBE-DST-B", "hash:net", "inet", []);
  const c = set("kube-router-c", "hash:ip", "inet", []);
  const scripts = ipsetScripts(plan({
    ipsets: [{ op: "delete", key: b.name, before: b }, { op: "create", key: c.name, after: c }, { op: "delete", key: a.name, before: a }],
  }));
  assert.deepEqual(scripts.map((s) => [s.order, s.title]), [[ORDER.ipsetFill, "ipset restore"], [ORDER.ipsetDestroy, "ipset restore (destroy)"]]);
  assert.ok(ORDER.ipsetDestroy > ORDER.iptables && ORDER.ipsetFill < ORDER.iptables);
  assert.equal(scripts[1]!.text, "ipset restore -exist <<'EOF'\nflush KUBE-DST-B\ndestroy KUBE-DST-B\nflush kube-router-a\ndestroy kube-router-a\nEOF\n");
});

test("compile: a leftover temp set that the plan deletes and needs is destroyed before it is rebuilt", () => {
  // Given a crashed apply left the temp set of kube-router-s behind, and the swap is still needed
  const tmp = tmpSetName("kube-router-s");
  const leftover = set(tmp, "hash:ip", "inet", ["10.9.9.9"], 0);
  const before = set("kube-router-s", "hash:ip", "inet", []);
  const after = set("kube-router-s", "hash:ip", "inet", [], 0);
  // When compiled
  const scripts = ipsetScripts(plan({ ipsets: [{ op: "delete", key: tmp, before: leftover }, { op: "update", key: after.name, before, after }] }));
  // Then only the fill script exists and it destroys the leftover first
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0]!.text, `ipset restore -exist <<'EOF'\ndestroy ${tmp}\ncreate ${tmp} hash:ip family inet timeout 0\nswap ${tmp} kube-router-s\ndestroy ${tmp}\nEOF\n`);
});

test("compile: the temp set name is owned, short enough for the kernel and stable", () => {
  const long = "inet6:KUBE-DST-ABCDEFGHIJKLMNOP";
  assert.ok(ownsIpset(tmpSetName(long)));
  assert.ok(tmpSetName(long).length <= 31);
  assert.equal(tmpSetName(long), tmpSetName(long));
  assert.notEqual(tmpSetName("kube-router-a"), tmpSetName("kube-router-b"));
});

test("compile: a script runs one `ipset restore -exist` write with the text on stdin", async () => {
  // Given a create plan and a fake kernel
  const s = set("kube-router-a", "hash:ip", "inet", ["10.0.0.1"]);
  const fake = new FakeIpset();
  const exec = fakeExec(fake);
  // When the script runs
  for (const sc of ipsetScripts(plan({ ipsets: [{ op: "create", key: s.name, after: s }] }))) await sc.run(exec);
  // Then exactly one write call with the restore body on stdin, and the set exists
  assert.deepEqual(exec.calls, [{ cmd: "ipset", args: ["restore", "-exist"], write: true, stdin: "create kube-router-a hash:ip family inet\nadd kube-router-a 10.0.0.1\n" }]);
  assert.ok(fake.has("kube-router-a"));
});

test("driver: observe is one `ipset save` read, parsed to owned sets", async () => {
  const fake = new FakeIpset();
  fake.seed("create kube-router-a hash:ip family inet timeout 0\nadd kube-router-a 10.0.0.1\ncreate other hash:ip\nadd other 10.0.0.2\n");
  const exec = fakeExec(fake);
  const got = await ipsetDriver().observe(exec, emptyNodeState());
  assert.deepEqual(exec.calls, [{ cmd: "ipset", args: ["save"], write: false }]);
  assert.deepEqual(got.ipsets, new Map([["kube-router-a", set("kube-router-a", "hash:ip", "inet", ["10.0.0.1"], 0)]]));
  assert.deepEqual(ipsetDriver().tables, ["ipsets"]);
});
