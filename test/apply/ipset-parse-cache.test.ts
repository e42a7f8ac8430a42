/**
 * The incremental ipset parser gives exactly what the full parser gives, dump after dump,
 * and reuses the parse of a set whose block did not change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type IpsetParseCache, parseIpsetSaveCached } from "../../src/apply/ipset/parse-cache.ts";
import { parseIpsetSave } from "../../src/apply/ipset/parse.ts";
import { deepEqual } from "../../src/model/table.ts";

const NAMES = ["kube-router-pod-subnets", "KUBE-SRC-AAAA", "KUBE-DST-BBBB", "inet6:KUBE-DST-CCCC", "foreign-set", "cali40x"];

/** A dump as ipset save prints it: per set a create line and its adds. */
const dump = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom(...NAMES),
    members: fc.uniqueArray(fc.integer({ min: 1, max: 250 }), { maxLength: 6 }),
    nomatch: fc.boolean(),
  }),
  { selector: (s) => s.name, maxLength: NAMES.length },
).map((sets) => sets.map((s) => {
  const v6 = s.name.startsWith("inet6:");
  const head = `create ${s.name} hash:net family ${v6 ? "inet6" : "inet"} hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1234abcd\n`;
  return head + s.members.map((m, i) => `add ${s.name} ${v6 ? `fd00::${m.toString(16)}` : `10.0.${m}.0/24`}${s.nomatch && i === 0 ? " nomatch" : ""}\n`).join("");
}).join(""));

test("given a sequence of dumps, when each is parsed with one cache, then every result equals the full parse", () => {
  fc.assert(fc.property(fc.array(dump, { minLength: 1, maxLength: 5 }), (dumps) => {
    const cache: IpsetParseCache = new Map();
    for (const d of dumps) assert.ok(deepEqual(parseIpsetSaveCached(d, cache), parseIpsetSave(d)));
  }), { numRuns: 300 });
});

test("given an unchanged block, when parsed again, then the same set object is returned; a changed block gets a new one", () => {
  const a = "create KUBE-SRC-A hash:ip family inet hashsize 1024 maxelem 65536\nadd KUBE-SRC-A 10.0.0.1\n";
  const b = "create KUBE-DST-B hash:ip family inet hashsize 1024 maxelem 65536\nadd KUBE-DST-B 10.0.0.2\n";
  const cache: IpsetParseCache = new Map();
  const first = parseIpsetSaveCached(a + b, cache);
  const second = parseIpsetSaveCached(a + b.replace("10.0.0.2", "10.0.0.3"), cache);
  assert.equal(second.get("KUBE-SRC-A"), first.get("KUBE-SRC-A"));
  assert.notEqual(second.get("KUBE-DST-B"), first.get("KUBE-DST-B"));
  assert.deepEqual([...second.get("KUBE-DST-B")!.members], ["10.0.0.3"]);
});

test("given a bad member in a later owned set, when parsed, then the error names the line of the whole dump", () => {
  const text = "create foreign hash:ip family inet\nadd foreign 1.2.3.4\ncreate KUBE-SRC-A hash:ip family inet\nadd KUBE-SRC-A 10.0.0.1 netmask 8\n";
  assert.throws(() => parseIpsetSaveCached(text, new Map()), /^Error: ipset save line 4: member option netmask/);
  assert.throws(() => parseIpsetSave(text), /^Error: ipset save line 4: member option netmask/);
});

test("given a set created twice, when parsed, then it fails like the full parser", () => {
  const text = "create KUBE-SRC-A hash:ip family inet\ncreate KUBE-SRC-A hash:ip family inet\n";
  assert.throws(() => parseIpsetSaveCached(text, new Map()), /created twice/);
});
