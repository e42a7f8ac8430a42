/**
 * FakeIpset semantics: the behaviours of the real `ipset restore` that drivers depend on
 * (each checked against the kernel in ipset-kernel.test.ts's differential test).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeIpset } from "../../src/apply/ipset/fake.ts";
import { parseIpsetSave } from "../../src/apply/ipset/parse.ts";

function fresh(seed = ""): FakeIpset {
  const f = new FakeIpset();
  f.seed(seed);
  return f;
}
const restore = (f: FakeIpset, text: string, exist = true) => f.run("ipset", exist ? ["restore", "-exist"] : ["restore"], text);
const members = (f: FakeIpset, name: string): string[] => [...(parseIpsetSave(f.dump()).get(name)?.members ?? [])].sort();

test("fake: save prints the real format, which the parser reads back", () => {
  // Given a seeded timeout set with a nomatch member and a foreign set
  const f = fresh("create kube-router-a hash:net family inet timeout 0\nadd kube-router-a 10.1.0.0/16 nomatch\nadd kube-router-a 10.0.0.1/32\ncreate other hash:ip\n");
  // When saved
  const r = f.run("ipset", ["save"], "");
  // Then the text carries the kernel's noise and canonical members
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^create kube-router-a hash:net family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x[0-9a-f]{8}$/m);
  assert.match(r.stdout, /^add kube-router-a 10\.1\.0\.0\/16 timeout 0 nomatch$/m);
  assert.match(r.stdout, /^add kube-router-a 10\.0\.0\.1 timeout 0$/m);
  assert.deepEqual(members(f, "kube-router-a"), ["10.0.0.1", "10.1.0.0/16 nomatch"]);
  assert.equal(f.run("ipset", ["save", "nosuch"], "").code, 1);
});

test("fake: create of an existing set", () => {
  const f = fresh("create kube-router-a hash:ip family inet\n");
  // different type: an error even with -exist
  assert.match(restore(f, "create kube-router-a hash:net\n").stderr, /Error in line 1: Set cannot be created: set with the same name already exists/);
  // different timeout: an error with -exist
  assert.equal(restore(f, "create kube-router-a hash:ip timeout 0\n").code, 1);
  // same type, other hashsize (and, as in the kernel, other family): fine with -exist, an error without
  assert.equal(restore(f, "create kube-router-a hash:ip family inet hashsize 4096\n").code, 0);
  assert.equal(restore(f, "create kube-router-a hash:ip family inet6\n").code, 0);
  assert.equal(restore(f, "create kube-router-a hash:ip\n", false).code, 1);
  // the set is unchanged
  assert.match(f.dump(), /^create kube-router-a hash:ip family inet hashsize/m);
});

test("fake: create checks the name length and the type name", () => {
  const f = fresh();
  assert.match(restore(f, "create kube-router-0123456789012345678901234 hash:ip\n").stderr, /longer than 31 characters/);
  assert.match(restore(f, "create kube-router-a badtype\n").stderr, /typename 'badtype' is unknown/);
  assert.match(restore(f, "create kube-router-a hash:ip netmask 24\n").stderr, /create option netmask not supported/);
  assert.equal(f.dump(), "");
});

test("fake: add and del follow -exist; add to a missing set fails", () => {
  const f = fresh("create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\n");
  assert.match(restore(f, "add kube-router-a 10.0.0.1\n", false).stderr, /it's already added/);
  assert.equal(restore(f, "add kube-router-a 10.0.0.1\n").code, 0);
  assert.match(restore(f, "del kube-router-a 10.0.0.9\n", false).stderr, /it's not added/);
  assert.equal(restore(f, "del kube-router-a 10.0.0.9\n").code, 0);
  assert.match(restore(f, "add nosuch 10.0.0.1\n").stderr, /Error in line 1: The set with the given name does not exist/);
  assert.match(restore(f, "add kube-router-a 10.0.0.300\n").stderr, /Syntax error/);
  assert.deepEqual(members(f, "kube-router-a"), ["10.0.0.1"]);
});

test("fake: add canonicalises the member as the tool does; add -exist rewrites nomatch; del takes no flag", () => {
  const f = fresh("create kube-router-n hash:net family inet\n");
  assert.equal(restore(f, "add kube-router-n 10.0.0.5/24\nadd kube-router-n 10.0.9.9/32 nomatch\n").code, 0);
  assert.deepEqual(members(f, "kube-router-n"), ["10.0.0.0/24", "10.0.9.9 nomatch"]);
  assert.equal(restore(f, "add kube-router-n 10.0.9.9\nadd kube-router-n 10.0.0.0/24 nomatch\n").code, 0);
  assert.deepEqual(members(f, "kube-router-n"), ["10.0.0.0/24 nomatch", "10.0.9.9"]);
  // an unknown argument is a usage error: exit 2, no line number, the buffered add lost
  const r = restore(f, "add kube-router-n 10.7.0.0/16\ndel kube-router-n 10.0.0.0/24 nomatch\n");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ipset v7\.17: Unknown argument: `nomatch'$/m);
  assert.deepEqual(members(f, "kube-router-n"), ["10.0.0.0/24 nomatch", "10.0.9.9"]);
  assert.match(restore(f, "add kube-router-n 10.8.0.0/16 timeout 5\n").stderr, /Error in line 1: Timeout cannot be used/);
});

test("fake: restore is not atomic: it stops at the first failing line", () => {
  // Given a set and a batch whose third line fails in the kernel (a duplicate without -exist)
  const f = fresh("create kube-router-a hash:ip\n");
  const r = restore(f, "create kube-router-b hash:ip\nadd kube-router-a 10.0.0.1\nadd kube-router-a 10.0.0.1\nadd kube-router-a 10.0.0.2\n", false);
  // Then exit 1 naming line 3; lines 1-2 stay applied; line 4 never ran
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ipset v7\.17: Error in line 3: Element cannot be added to the set: it's already added$/m);
  assert.ok(f.has("kube-router-b"));
  assert.deepEqual(members(f, "kube-router-a"), ["10.0.0.1"]);
});

test("fake: a parse error discards the adds buffered for the same set, but not earlier ones", () => {
  // Given adds to A (sent when the set changes), then to B (buffered), then a line for a missing set
  const f = fresh("create A hash:ip\ncreate B hash:ip\n");
  const r = restore(f, "add A 10.0.0.1\nadd B 10.0.0.1\nadd nosuch 10.0.0.1\n");
  // Then A got its member, B did not
  assert.match(r.stderr, /Error in line 3/);
  assert.equal(f.dump().includes("add A 10.0.0.1"), true);
  assert.equal(f.dump().includes("add B"), false);
});

test("fake: swap needs the same type and family, and references stay with the names", () => {
  const f = fresh("create kube-router-a hash:ip family inet\nadd kube-router-a 10.0.0.1\ncreate kube-router-t hash:ip family inet timeout 0\nadd kube-router-t 10.0.0.2\ncreate kube-router-n hash:net\ncreate inet6:kube-router-a hash:ip family inet6\n");
  f.reference("kube-router-a");
  assert.match(restore(f, "swap kube-router-a kube-router-n\n").stderr, /their type does not match/);
  assert.match(restore(f, "swap kube-router-a inet6:kube-router-a\n").stderr, /their type does not match/);
  assert.match(restore(f, "swap kube-router-a nosuch\n").stderr, /the second set does not exist/);
  assert.match(restore(f, "swap nosuch kube-router-a\n").stderr, /The set with the given name does not exist/);
  // When swapped with a same-type set of another timeout, then the temp destroyed
  assert.equal(restore(f, "swap kube-router-t kube-router-a\ndestroy kube-router-t\n").code, 0);
  // Then the referenced name holds the new content and header, and is still referenced
  assert.deepEqual(parseIpsetSave(f.dump()).get("kube-router-a"), { name: "kube-router-a", type: "hash:ip", family: "inet", timeout: 0, members: new Set(["10.0.0.2"]) });
  assert.match(restore(f, "destroy kube-router-a\n").stderr, /in use by a kernel component/);
});

test("fake: destroy and flush of referenced and missing sets", () => {
  const f = fresh("create kube-router-a hash:ip\nadd kube-router-a 10.0.0.1\ncreate kube-router-b hash:ip\n");
  f.reference("kube-router-a");
  assert.match(restore(f, "destroy kube-router-a\n").stderr, /Set cannot be destroyed: it is in use by a kernel component/);
  assert.match(restore(f, "destroy\n").stderr, /in use/);
  assert.equal(restore(f, "flush kube-router-a\n").code, 0);
  assert.deepEqual(members(f, "kube-router-a"), []);
  assert.equal(restore(f, "destroy nosuch\n").code, 0);
  assert.equal(restore(f, "destroy nosuch\n", false).code, 1);
  assert.match(restore(f, "flush nosuch\n").stderr, /does not exist/);
  f.unreference("kube-router-a");
  assert.equal(restore(f, "destroy kube-router-a\n").code, 0);
  assert.equal(f.has("kube-router-a"), false);
});

test("fake: comments, blank lines and COMMIT are skipped; unknown arguments are usage errors", () => {
  const f = fresh();
  assert.equal(restore(f, "# a comment\n\ncreate kube-router-a hash:ip\nCOMMIT\n").code, 0);
  assert.ok(f.has("kube-router-a"));
  assert.equal(f.run("ipset", ["restore", "-bogus"], "").code, 2);
  assert.equal(f.handles("ipset", ["list"]), false);
  assert.match(restore(f, "rename kube-router-a kube-router-b\n").stderr, /not supported/);
});
