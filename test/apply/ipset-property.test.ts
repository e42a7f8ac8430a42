/**
 * ipset driver over the semantic fake, as properties: from any observed owned sets (plus
 * foreign ones, some owned sets referenced by "iptables"), one sync reaches the desired sets,
 * leaves foreign sets untouched, and a second sync plans nothing and writes nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ipsetDriver } from "../../src/apply/ipset/driver.ts";
import { FakeIpset } from "../../src/apply/ipset/fake.ts";
import { IPSET_TYPE_PARTS, canonicalMember, formatAddr, memberElement, parseAddr } from "../../src/model/ipset-members.ts";
import { tmpSetName } from "../../src/apply/ipset/compile.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { diffNode } from "../../src/model/plan.ts";
import { type Ipset, type IpsetType, type NodeState, emptyNodeState } from "../../src/model/state.ts";
import { type Table, deepEqual, sortedTable } from "../../src/model/table.ts";

const TYPES = Object.keys(IPSET_TYPE_PARTS) as IpsetType[];
const OWNED = ["kube-router-a", "kube-router-b", "KUBE-DST-C", "KUBE-SRC-D", "inet6:kube-router-a", "inet6:KUBE-DST-E"];

const POOL = {
  inet: { ip: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.1.1"], net: ["10.0.0.0/24", "10.1.0.0/16", "10.0.0.1", "192.168.0.0/30"] },
  inet6: { ip: ["2001:db8::1", "2001:db8::2", "::ffff:10.0.0.1", "fe80::1"], net: ["2001:db8::/32", "2001:db8:1::/64", "2001:db8::1", "fe80::/10"] },
};
const PORTS = ["tcp:53", "udp:53", "sctp:80", "tcp:0"];
const IFACES = ["eth0", "physdev:eth1"];

const arbMember = (type: IpsetType, family: Ipset["family"]): fc.Arbitrary<string> => {
  const parts = IPSET_TYPE_PARTS[type].map((p) =>
    fc.constantFrom(...(p === "port" ? PORTS : p === "iface" ? IFACES : POOL[family][p])));
  const hasNet = IPSET_TYPE_PARTS[type].includes("net");
  return fc.tuple(fc.tuple(...parts), hasNet ? fc.boolean() : fc.constant(false))
    .map(([ps, nomatch]) => `${ps.join(",")}${nomatch ? " nomatch" : ""}`);
};

/** A set of `name`; `type` fixed when given. Members are unique per element (a kernel set has one flag per element). */
const arbSet = (name: string, type?: IpsetType): fc.Arbitrary<Ipset> => {
  const family: Ipset["family"] = name.startsWith("inet6:") ? "inet6" : "inet";
  return (type !== undefined ? fc.constant(type) : fc.constantFrom(...TYPES)).chain((t) =>
    fc.record({
      timeout: fc.constantFrom(undefined, 0, 300),
      members: fc.uniqueArray(arbMember(t, family), { maxLength: 5, selector: memberElement }),
    }).map(({ timeout, members }) => ({ name, type: t, family, ...(timeout !== undefined ? { timeout } : {}), members: new Set(members) })));
};

interface Slot {
  readonly observed: Ipset | null;
  readonly desired: Ipset | null;
  readonly referenced: boolean;
}
/** One owned name: maybe observed, maybe desired; a referenced set keeps its type (renderers keep a name's type). */
const arbSlot = (name: string): fc.Arbitrary<Slot> =>
  fc.tuple(fc.option(arbSet(name)), fc.boolean(), fc.boolean()).chain(([observed, referenced, sameType]) =>
    fc.option(arbSet(name, observed !== null && (referenced || sameType) ? observed.type : undefined)).map((desired) => ({
      observed, desired, referenced: referenced && observed !== null && desired !== null && desired.type === observed.type,
    })));

const arbForeign: fc.Arbitrary<Ipset[]> = fc.uniqueArray(
  fc.constantFrom("cali40all-hosts", "foreign-net", "KUBE-OTHER").chain((n) => arbSet(n, "hash:net")), { maxLength: 2, selector: (s) => s.name });

function saveText(sets: readonly Ipset[]): string {
  return sets.map((s) =>
    `create ${s.name} ${s.type} family ${s.family}${s.timeout !== undefined ? ` timeout ${s.timeout}` : ""}\n` +
    [...s.members].map((m) => `add ${s.name} ${m}\n`).join("")).join("");
}
const table = (sets: readonly Ipset[]): Table<Ipset> => sortedTable(sets.map((s) => [s.name, s] as const));
const withIpsets = (t: Table<Ipset>): NodeState => ({ ...emptyNodeState(), ipsets: t });
const foreignLines = (dump: string): string[] => dump.split("\n").filter((l) => / (cali40all-hosts|foreign-net|KUBE-OTHER) /.test(l)).map((l) => l.replace(/ initval 0x[0-9a-f]+/, ""));

/** One full sync: observe, diff, run the scripts in order. Returns the plan. */
async function sync(exec: ReturnType<typeof fakeExec>, desired: NodeState) {
  const driver = ipsetDriver();
  const observed = { ...emptyNodeState(), ...(await driver.observe(exec, desired)) };
  const plan = diffNode(desired, observed);
  for (const s of driver.scripts(plan).sort((a, b) => a.order - b.order)) await s.run(exec);
  return { plan, observed };
}

test("property: one sync over the fake reaches the desired sets, foreign sets untouched, then nothing to do", async () => {
  await fc.assert(fc.asyncProperty(fc.tuple(...OWNED.map(arbSlot)), arbForeign, async (slots, foreign) => {
    // Given a fake kernel with the observed owned sets, foreign sets, and references from "iptables"
    const fake = new FakeIpset();
    const observedSets = slots.flatMap((s) => (s.observed ? [s.observed] : []));
    fake.seed(saveText([...observedSets, ...foreign]));
    for (const s of slots) if (s.referenced) fake.reference(s.observed!.name);
    const foreignBefore = foreignLines(fake.dump());
    const desired = withIpsets(table(slots.flatMap((s) => (s.desired ? [s.desired] : []))));
    const exec = fakeExec(fake);
    // When synced once
    const first = await sync(exec, desired);
    // Then observe saw exactly the owned sets, and the kernel now holds the desired ones
    assert.ok(deepEqual(first.observed.ipsets, table(observedSets)));
    const after = await ipsetDriver().observe(exec, desired);
    assert.ok(deepEqual(after.ipsets, desired.ipsets), `${fake.dump()}`);
    assert.deepEqual(foreignLines(fake.dump()), foreignBefore);
    // And a second sync plans nothing and writes nothing
    const writes = exec.writes();
    const second = await sync(exec, desired);
    assert.equal(second.plan.ipsets.length + second.plan.ipsetMembers.length, 0);
    assert.equal(exec.writes(), writes);
  }), { numRuns: 300 });
});

test("a header change of a referenced set succeeds by swap, and the reference stays", async () => {
  // Given kube-router-svip without timeout, referenced by an iptables rule
  const fake = new FakeIpset();
  fake.seed("create kube-router-svip hash:ip family inet\nadd kube-router-svip 10.96.0.1\n");
  fake.reference("kube-router-svip");
  const desired = withIpsets(table([{ name: "kube-router-svip", type: "hash:ip", family: "inet", timeout: 0, members: new Set(["10.96.0.1", "10.96.0.2"]) }]));
  const exec = fakeExec(fake);
  // When synced
  const { plan } = await sync(exec, desired);
  // Then it was an update, done without error, the temp set is gone, and the set is still in use
  assert.deepEqual(plan.ipsets.map((c) => c.op), ["update"]);
  assert.ok(deepEqual((await ipsetDriver().observe(exec, desired)).ipsets, desired.ipsets));
  assert.equal(fake.has(tmpSetName("kube-router-svip")), false);
  assert.equal(fake.run("ipset", ["restore"], "destroy kube-router-svip\n").code, 1);
});

test("a type change of a referenced set fails loudly (the kernel cannot swap across types)", async () => {
  // Given a referenced hash:ip set that should become hash:net
  const fake = new FakeIpset();
  fake.seed("create kube-router-x hash:ip family inet\nadd kube-router-x 10.0.0.1\n");
  fake.reference("kube-router-x");
  const desired = withIpsets(table([{ name: "kube-router-x", type: "hash:net", family: "inet", members: new Set(["10.0.0.0/24"]) }]));
  // When synced, Then the apply fails naming the busy set, and the old set is intact
  await assert.rejects(sync(fakeExec(fake), desired), /in use by a kernel component/);
  assert.match(fake.dump(), /^create kube-router-x hash:ip /m);
});

test("property: IPv4/IPv6 formatting round-trips and canonical members are fixed points", () => {
  const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), (w) => {
    const text = formatAddr("inet6", w);
    assert.deepEqual(parseAddr("inet6", text), w);
    if (w.some((x) => x !== 0)) assert.equal(canonicalMember("hash:ip", "inet6", text.toUpperCase()), text);
  }));
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 32 }), (b, len) => {
    fc.pre(len < 32 || b.some((x) => x !== 0));
    const text = formatAddr("inet", b);
    assert.deepEqual(parseAddr("inet", text), b);
    const net = canonicalMember("hash:net", "inet", `${text}/${len}`);
    assert.equal(canonicalMember("hash:net", "inet", net), net);
  }));
});
