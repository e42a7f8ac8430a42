/**
 * The FDB table's native form: `bridge -j fdb show` parsing (owned devices only),
 * `bridge -batch` compiling (append for group MACs, replace for unicast, deletes apart),
 * and the semantic fake replaying that text with the kernel's rules (checked on 6.18).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFdb, compileFdbBatch, fdbAddLine, isGroupMac } from "../../src/apply/bridge/compile.ts";
import { FakeBridge } from "../../src/apply/bridge/fake.ts";
import { parseFdb } from "../../src/apply/bridge/parse.ts";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { type FdbEntry, fdbKey } from "../../src/model/overlay.ts";
import type { Change } from "../../src/model/table.ts";

// `bridge -j fdb show` on a 6.18 netns (trimmed): foreign multicast entries on veths, ours on kube-vxlan(6).
const DUMP = JSON.stringify([
  { mac: "33:33:00:00:00:01", ifname: "eth0", flags: ["self"], state: "permanent" },
  { mac: "01:00:5e:00:00:01", ifname: "eth0", flags: ["self"], state: "permanent" },
  { mac: "0E:00:0A:F4:02:00", ifname: "kube-vxlan", dst: "10.9.0.2", flags: ["self"], state: "permanent" },
  { mac: "00:00:00:00:00:00", ifname: "kube-vxlan", dst: "10.9.0.2", flags: ["self"], state: "permanent" },
  { mac: "00:00:00:00:00:00", ifname: "kube-vxlan6", dst: "fd00:0::2", flags: ["self"], state: "permanent" },
  { mac: "00:00:00:00:00:00", ifname: "vx-foreign", dst: "10.9.0.9", flags: ["self"], state: "permanent" },
  { mac: "aa:bb:cc:dd:ee:ff", ifname: "kube-bridge", master: "kube-bridge", state: "" },
]);

const e = (dev: string, mac: string, dst: string): FdbEntry => ({ dev, mac, dst, self: true, state: "permanent" });

test("given a full fdb dump, when parsed, then only entries on our devices remain, canonical (lower-case MAC, canonical IP)", () => {
  const t = parseFdb(DUMP);
  assert.deepEqual([...t.keys()], [
    "kube-vxlan/00:00:00:00:00:00/10.9.0.2", "kube-vxlan/0e:00:0a:f4:02:00/10.9.0.2", "kube-vxlan6/00:00:00:00:00:00/fd00::2",
  ]);
  assert.deepEqual(t.get("kube-vxlan6/00:00:00:00:00:00/fd00::2"), e("kube-vxlan6", "00:00:00:00:00:00", "fd00::2"));
});

test("given a per-device dump (no ifname), when parsed with its device, then entries are attributed to it; a foreign device yields none", () => {
  const one = JSON.stringify([{ mac: "00:00:00:00:00:00", dst: "10.9.0.3", flags: ["self"], state: "permanent" }]);
  assert.deepEqual([...parseFdb(one, "kube-vxlan").keys()], ["kube-vxlan/00:00:00:00:00:00/10.9.0.3"]);
  assert.equal(parseFdb(one, "eth0").size, 0);
  assert.equal(parseFdb("").size, 0);
  assert.throws(() => parseFdb("{oops"), /^Error: bridge -j fdb show: malformed JSON/);
});

test("given fdb changes, when compiled, then deletes go in their own batch and adds append group MACs and replace unicast ones", () => {
  const zero = e("kube-vxlan", "00:00:00:00:00:00", "10.9.0.2");
  const uni = e("kube-vxlan", "0e:00:0a:f4:02:00", "10.9.0.2");
  const gone = e("kube-vxlan", "0e:00:0a:f4:03:00", "10.9.0.3");
  const learned: FdbEntry = { ...uni, state: "static" };
  const changes: Change<FdbEntry>[] = [
    { op: "create", key: fdbKey(zero), after: zero },
    { op: "create", key: fdbKey(uni), after: uni },
    { op: "delete", key: fdbKey(gone), before: gone },
    { op: "update", key: fdbKey(uni), before: learned, after: uni },
  ];
  assert.deepEqual(compileFdb(changes), {
    remove: "fdb del 0e:00:0a:f4:03:00 dev kube-vxlan dst 10.9.0.3 self\nfdb del 0e:00:0a:f4:02:00 dev kube-vxlan dst 10.9.0.2 self\n",
    add: "fdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self permanent\nfdb replace 0e:00:0a:f4:02:00 dev kube-vxlan dst 10.9.0.2 self permanent\nfdb replace 0e:00:0a:f4:02:00 dev kube-vxlan dst 10.9.0.2 self permanent\n",
  });
  assert.deepEqual(compileFdb([]), { remove: "", add: "" });
  assert.equal(isGroupMac("01:00:5e:00:00:01"), true);
  assert.equal(isGroupMac("0e:00:00:00:00:01"), false);
  assert.equal(fdbAddLine({ ...zero, dst: "fd00::2", dev: "kube-vxlan6" }), "fdb append 00:00:00:00:00:00 dev kube-vxlan6 dst fd00::2 self permanent");
});

/** A fake namespace with eth0 and a kube-vxlan on 10.9.0.1. */
function fakeNs(): { ip: FakeIp; br: FakeBridge } {
  const ip = new FakeIp().seedLink({ name: "eth0", kind: "veth", up: true });
  ip.run("ip", ["-batch", "-"], "link add kube-vxlan up type vxlan id 1 local 10.9.0.1 dstport 4789 nolearning\n");
  return { ip, br: new FakeBridge(ip.kernel) };
}
const batch = (br: FakeBridge, text: string, force = true) => br.run("bridge", [...(force ? ["-force"] : []), "-batch", "-"], text);
const show = (br: FakeBridge) => parseFdb(br.run("bridge", ["-j", "fdb", "show"], "").stdout);

test("given the fake bridge, when the compiled text is replayed, then it holds exactly those entries and the dump parses back to them", () => {
  const { br } = fakeNs();
  const want = [e("kube-vxlan", "00:00:00:00:00:00", "10.9.0.2"), e("kube-vxlan", "00:00:00:00:00:00", "10.9.0.3"), e("kube-vxlan", "0e:00:00:00:00:02", "10.9.0.2")];
  const r = batch(br, compileFdb(want.map((f) => ({ op: "create" as const, key: fdbKey(f), after: f }))).add);
  assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
  assert.deepEqual([...show(br).values()].sort((a, b) => fdbKey(a).localeCompare(fdbKey(b))), want.sort((a, b) => fdbKey(a).localeCompare(fdbKey(b))));
});

test("given the fake bridge, when lines the kernel refuses are replayed, then it refuses them with the kernel's words and -force goes on", () => {
  const { ip, br } = fakeNs();
  const r = batch(br, [
    "fdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self permanent",
    "fdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self permanent", // duplicate append: a no-op
    "fdb add 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.5 self permanent", // add of an existing MAC
    "fdb append 00:00:00:00:00:00 dev nope dst 10.9.0.3 self permanent", // missing device
    "fdb append 00:00:00:00:00:00 dev kube-vxlan dst fd00::2 self permanent", // IPv6 dst on an IPv4 vxlan
    "fdb del 0e:00:00:00:00:07 dev kube-vxlan dst 10.9.0.9 self", // missing MAC
    "fdb del 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.9 self", // MAC exists, other dst: no-op
    "fdb replace 0e:00:00:00:00:01 dev kube-vxlan dst 10.9.0.2 self permanent",
    "fdb replace 0e:00:00:00:00:01 dev kube-vxlan dst 10.9.0.3 self permanent", // moves the unicast MAC
    "fdb append 0e:00:00:00:00:01 dev kube-vxlan dst 10.9.0.4 self permanent", // ignored for unicast
  ].join("\n"));
  assert.equal(r.code, 1);
  assert.equal(r.stderr, [
    "RTNETLINK answers: File exists", "Command failed -:3",
    'Cannot find device "nope"', "Command failed -:4",
    "RTNETLINK answers: Address family not supported by protocol", "Command failed -:5",
    "RTNETLINK answers: No such file or directory", "Command failed -:6", "",
  ].join("\n"));
  assert.deepEqual([...show(br).keys()], ["kube-vxlan/00:00:00:00:00:00/10.9.0.2", "kube-vxlan/0e:00:00:00:00:01/10.9.0.3"]);
  // Without -force the batch stops at the first failure.
  const stop = batch(br, "fdb add 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.7 self permanent\nfdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.8 self permanent\n", false);
  assert.equal(stop.code, 1);
  assert.ok(!show(br).has("kube-vxlan/00:00:00:00:00:00/10.9.0.8"));
  // A deleted device takes its entries with it; a re-created one starts empty.
  ip.run("ip", ["-batch", "-"], "link del kube-vxlan\nlink add kube-vxlan type vxlan id 1 local 10.9.0.1 dstport 4789\n");
  assert.equal(show(br).size, 0);
  // What the fake does not model fails loudly.
  assert.match(br.run("bridge", ["-j", "vlan", "show"], "").stderr, /^fake bridge: unsupported/);
  batch(br, "fdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self permanent\n");
  assert.match(batch(br, "fdb replace 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.3 self permanent\n").stderr, /fake bridge: unsupported: replace of group MAC/);
});

test("given foreign entries on other devices, when our entries change, then the foreign ones stay and never parse as ours", () => {
  const { ip, br } = fakeNs();
  ip.run("ip", ["-batch", "-"], "link add vx-foreign type vxlan id 99 local 10.9.0.1 dstport 4790\n");
  br.seedFdb("vx-foreign", "00:00:00:00:00:00", "10.9.0.99").seedFdb("eth0", "33:33:00:00:00:01");
  batch(br, "fdb append 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self permanent\n");
  batch(br, compileFdb([{ op: "delete", key: "k", before: e("kube-vxlan", "00:00:00:00:00:00", "10.9.0.2") }]).remove);
  const all = JSON.parse(br.run("bridge", ["-j", "fdb", "show"], "").stdout) as { ifname: string }[];
  assert.deepEqual(all.map((x) => x.ifname).sort(), ["eth0", "vx-foreign"]);
  assert.equal(show(br).size, 0);
});

test("given fdb changes and the links this sync deletes, when compiled as one batch, then deletes on those links are left out and adds follow deletes", () => {
  const a = e("kube-vxlan", "00:00:00:00:00:00", "10.9.0.2");
  const b = e("kube-vxlan6", "00:00:00:00:00:00", "fd00::2");
  const moved = e("kube-vxlan", "0e:00:00:00:00:01", "10.9.0.3");
  const text = compileFdbBatch([
    { op: "delete", key: fdbKey(a), before: a },
    { op: "delete", key: fdbKey(b), before: b },
    { op: "create", key: fdbKey(moved), after: moved },
  ], new Set(["kube-vxlan6"]));
  assert.equal(text, "fdb del 00:00:00:00:00:00 dev kube-vxlan dst 10.9.0.2 self\nfdb replace 0e:00:00:00:00:01 dev kube-vxlan dst 10.9.0.3 self permanent\n");
  assert.equal(compileFdbBatch([], new Set()), "");
});
