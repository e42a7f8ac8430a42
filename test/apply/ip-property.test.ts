/**
 * iproute2 driver over FakeIp, property-based: for arbitrary observed and desired owned
 * states (links of every kind, addresses, routes of both families in several tables, rules)
 * on top of arbitrary foreign state (links, addresses, routes of other protocols, rules in
 * other tables, some sharing priority and selector with ours):
 *
 * - applying the compiled scripts makes observe equal desired, in one sync, or in two when
 *   the plan re-creates a link or takes one down (the kernel drops what sits on it; the next
 *   full sync puts it back);
 * - after that the plan is empty and a further sync writes nothing;
 * - foreign objects are exactly as before.
 */
import { observeWith, syncWith } from "../support/driver-sync.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fakeExec } from "../../src/apply/fake.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { ipDriver } from "../../src/apply/ip/driver.ts";
import { needsRecreate } from "../../src/apply/ip/compile.ts";
import { formatIp } from "../../src/model/ip.ts";
import { formatSelector, parseSelector } from "../../src/apply/ip/selector.ts";
import { OWNED_RULE_TABLES, ROUTE_PROTO, ownsLink } from "../../src/model/names.ts";
import { type NodePlan, diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import {
  type Address, type Link, type NodeState, type PolicyRule, type Route,
  addressKey, emptyNodeState, linkKey, policyRuleKey, routeKey,
} from "../../src/model/state.ts";
import { deepEqual, sortedTable } from "../../src/model/table.ts";

interface Owned {
  readonly links: readonly Link[];
  readonly addresses: readonly Address[];
  readonly routes: readonly Route[];
  readonly rules: readonly PolicyRule[];
}
interface Foreign {
  readonly routes: readonly { dst: string; via: string; table: string; proto: string }[];
  readonly rules: readonly PolicyRule[];
  readonly bridge: boolean;
}

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const some = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

// ----- owned state ------------------------------------------------------------------------

const vxlanArb = (name: string, ids: readonly number[]): fc.Arbitrary<Link> =>
  fc.record({
    up: fc.boolean(), mtu: opt(fc.constantFrom(1400, 1450)), id: fc.constantFrom(...ids),
    local: opt(fc.constant("10.250.0.1")), dev: opt(fc.constant("eth0")), port: opt(fc.constant(4789)), learning: opt(fc.constant(false)),
  }).map(({ up, mtu, ...v }) => some({ name, kind: "vxlan" as const, up, mtu, vxlan: some(v) }) as Link);

const linkArb = (name: string): fc.Arbitrary<Link> => {
  const plain = (kinds: readonly ("bridge" | "dummy")[]) =>
    fc.record({ kind: fc.constantFrom(...kinds), up: fc.boolean(), mtu: opt(fc.constantFrom(1400, 1500)) }).map((l) => some({ name, ...l }) as Link);
  switch (name) {
    case "kube-bridge": return plain(["bridge"]);
    case "kube-dummy-if": return plain(["dummy", "bridge"]);
    case "tun-a": return vxlanArb(name, [10, 11]);
    default: return fc.oneof(
      vxlanArb(name, [20, 21]),
      fc.record({ up: fc.boolean(), remote: fc.constantFrom("10.250.0.2", "10.250.0.3"), local: opt(fc.constant("10.250.0.1")) })
        .map(({ up, ...t }): Link => ({ name, kind: "ipip", up, tunnel: some(t) as { remote: string } })),
      fc.record({ up: fc.boolean(), remote: fc.constantFrom("fd00:250::2", "fd00:250::3") })
        .map(({ up, remote }): Link => ({ name, kind: "ip6tnl", up, tunnel: { remote } })),
    );
  }
};

const addressArb: fc.Arbitrary<Address> = fc.oneof(
  fc.record({ cidr: fc.constantFrom("10.96.0.10/32", "10.96.0.11/32"), scope: opt(fc.constant("link" as const)) }).map((a) => some({ dev: "kube-dummy-if", ...a }) as Address),
  fc.constant<Address>({ dev: "kube-dummy-if", cidr: "fd00:96::10/128" }),
);

/** A route the kernel accepts given the owned links (a dev route on kube-bridge only when it is up). */
const routeArb = (bridgeUp: boolean): fc.Arbitrary<Route> => {
  const devs = bridgeUp ? ["eth0", "kube-bridge"] : ["eth0"];
  const v4 = fc.record({
    table: fc.constantFrom("main", "77", "78"),
    dst: fc.constantFrom("10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24", "10.244.9.9/32", "default"),
    hop: fc.oneof(
      fc.record({ via: fc.constantFrom("10.250.0.2", "10.250.0.3"), dev: opt(fc.constant("eth0")) }),
      fc.record({ dev: fc.constantFrom(...devs) }),
    ),
    src: opt(fc.constant("10.250.0.1")),
  }).map(({ hop, ...r }) => some({ family: "ipv4" as const, ...r, ...hop, proto: ROUTE_PROTO }) as Route);
  const v6 = fc.record({
    table: fc.constantFrom("main", "77"),
    dst: fc.constantFrom("fd00:244:1::/64", "fd00:244:2::/64", "fd00:244:9::9/128"),
    hop: fc.oneof(
      fc.record({ via: fc.constantFrom("fd00:250::2", "fd00:250::3"), dev: opt(fc.constant("eth0")) }),
      fc.record({ dev: fc.constantFrom(...devs) }),
    ),
  }).map(({ hop, ...r }) => some({ family: "ipv6" as const, ...r, ...hop, proto: ROUTE_PROTO }) as Route);
  return fc.oneof(v4, v6);
};

const ruleArb: fc.Arbitrary<PolicyRule> = fc.oneof(
  fc.record({ priority: fc.integer({ min: 100, max: 103 }), selector: fc.constantFrom("from 10.244.1.0/24", "fwmark 0x4d", "from 10.244.0.0/16 to 10.96.0.0/12", "from all"), table: fc.constantFrom("77", "78", "79") })
    .map((r) => ({ family: "ipv4" as const, ...r })),
  fc.record({ priority: fc.integer({ min: 100, max: 103 }), selector: fc.constantFrom("from fd00:244:1::/64", "fwmark 0x4d"), table: fc.constantFrom("77", "78") })
    .map((r) => ({ family: "ipv6" as const, ...r })),
);

const ownedArb: fc.Arbitrary<Owned> = fc
  .subarray(["kube-bridge", "kube-dummy-if", "tun-a", "tun-b"])
  .chain((names) => fc.tuple(...names.map(linkArb)))
  .chain((links) => {
    const hasDummy = links.some((l) => l.name === "kube-dummy-if");
    const bridgeUp = links.some((l) => l.name === "kube-bridge" && l.up);
    return fc.record({
      links: fc.constant(links),
      addresses: hasDummy ? fc.uniqueArray(addressArb, { selector: addressKey, maxLength: 3 }) : fc.constant([]),
      routes: fc.uniqueArray(routeArb(bridgeUp), { selector: routeKey, maxLength: 6 }),
      rules: fc.uniqueArray(ruleArb, { selector: policyRuleKey, maxLength: 5 }),
    });
  });

// ----- foreign state ----------------------------------------------------------------------

const foreignArb: fc.Arbitrary<Foreign> = fc.record({
  routes: fc.subarray([
    { dst: "192.168.1.0/24", via: "10.250.0.2", table: "main", proto: "static" },
    { dst: "192.168.2.0/24", via: "10.250.0.3", table: "77", proto: "static" },
    { dst: "192.168.3.0/24", via: "10.250.0.2", table: "main", proto: "zebra" },
    { dst: "fd00:192::/64", via: "fd00:250::2", table: "main", proto: "static" },
    { dst: "fd00:193::/64", via: "fd00:250::3", table: "77", proto: "boot" },
  ]),
  rules: fc.subarray<PolicyRule>([
    { family: "ipv4", priority: 100, selector: "from 10.244.1.0/24", table: "100" },
    { family: "ipv4", priority: 101, selector: "fwmark 0x4d", table: "main" },
    { family: "ipv6", priority: 100, selector: "from fd00:244:1::/64", table: "200" },
  ]),
  bridge: fc.boolean(),
});

// ----- seeding, syncing, snapshots ---------------------------------------------------------

function seed(foreign: Foreign, owned: Owned): FakeIp {
  const ip = new FakeIp().seedLink({ name: "eth0", kind: "veth", up: true }).seedAddress("eth0", "10.250.0.1/24").seedAddress("eth0", "fd00:250::1/64");
  if (foreign.bridge) ip.seedLink({ name: "br-foreign", kind: "bridge", up: true, mtu: 9000 }).seedAddress("br-foreign", "10.254.0.1/24");
  for (const r of foreign.routes) ip.seedRoute(r);
  for (const r of foreign.rules) ip.seedRule(r);
  for (const l of owned.links) ip.seedLink({ ...l, ...(l.tunnel ? { tunnel: l.tunnel } : {}) });
  for (const a of owned.addresses) ip.seedAddress(a.dev, a.cidr, a.scope);
  for (const r of owned.routes) {
    ip.seedRoute({ dst: r.dst, table: r.table, proto: r.proto, ...(r.via ? { via: r.via } : {}), ...(r.dev ? { dev: r.dev } : {}), ...(r.src ? { src: r.src } : {}) });
  }
  for (const r of owned.rules) ip.seedRule(r);
  return ip;
}

function state(o: Owned): NodeState {
  return {
    ...emptyNodeState(),
    links: sortedTable(o.links.map((l) => [linkKey(l), l])),
    addresses: sortedTable(o.addresses.map((a) => [addressKey(a), a])),
    routes: sortedTable(o.routes.map((r) => [routeKey(r), r])),
    rules: sortedTable(o.rules.map((r) => [policyRuleKey(r), r])),
  };
}

const observe = (exec: Exec, desired: NodeState): Promise<NodeState> => observeWith([ipDriver()], exec, desired);
const sync = (exec: Exec, desired: NodeState): Promise<NodePlan> => syncWith([ipDriver()], exec, desired);

/** True when the plan makes the kernel drop objects the plan does not mention. */
const disruptive = (p: NodePlan): boolean =>
  p.links.some((c) => c.op === "update" && (needsRecreate(c.before, c.after) || (c.before.up && !c.after.up)));

/**
 * True when a rule delete of the plan names a subset of the attributes of another observed
 * rule of the same family, priority and table (the kernel may delete that one instead).
 */
function ambiguousRuleDelete(p: NodePlan, observed: NodeState): boolean {
  const parts = (r: PolicyRule): string[] => {
    const s = parseSelector(r.selector, r.family);
    if ("error" in s) throw new Error(s.error);
    return Object.entries(s).filter(([k, v]) => v !== undefined && !(k === "not" && v === false)).map(([k, v]) => `${k}=${String(v)}`);
  };
  return p.rules.some((c) => {
    if (c.op === "create") return false;
    const t = c.before;
    return [...observed.rules.values()].some((r) => policyRuleKey(r) !== policyRuleKey(t) && r.family === t.family &&
      r.priority === t.priority && r.table === t.table && parts(t).every((x) => parts(r).includes(x)));
  });
}

/** Everything that is not ours, as text. */
function foreignSnapshot(ip: FakeIp): string[] {
  const k = ip.kernel;
  return [
    ...[...k.links.values()].filter((l) => !ownsLink(l.name)).map((l) => `link ${l.name} ${l.kind} ${l.up} ${l.mtu}`),
    ...k.addrs.filter((a) => !ownsLink(a.dev)).map((a) => `addr ${a.dev} ${formatIp(a.addr)}/${a.prefixlen}`),
    ...k.routes.filter((r) => r.proto !== ROUTE_PROTO).map((r) => `route ${JSON.stringify(r)}`),
    ...k.rules.filter((r) => !OWNED_RULE_TABLES.has(r.table)).map((r) => `rule ${r.family} ${r.priority} ${formatSelector(r.sel)} ${r.table}`),
  ].sort();
}

const ipTables = (s: NodeState) => ({ links: s.links, addresses: s.addresses, routes: s.routes, rules: s.rules });

test("property: apply converges to desired, re-plans empty, writes nothing when idle, leaves foreign state alone", async () => {
  const seen = { oneSync: 0, slow: 0 };
  await fc.assert(
    fc.asyncProperty(ownedArb, ownedArb, foreignArb, async (observedOwned, desiredOwned, foreign) => {
      // Given a fake kernel holding foreign state and the observed owned state
      const ip = seed(foreign, observedOwned);
      const before = foreignSnapshot(ip);
      const exec = fakeExec(ip);
      const desired = state(desiredOwned);
      const plan0 = diffNode(desired, await observe(exec, desired));
      const slow = disruptive(plan0) || ambiguousRuleDelete(plan0, await observe(exec, desired));
      // When syncs run until one finds nothing to do
      let applied = 0;
      let writes = exec.writes();
      for (let plan = await sync(exec, desired); !isEmptyPlan(plan) && applied < 5; plan = await sync(exec, desired)) {
        applied++;
        writes = exec.writes();
      }
      // Then one sync was enough, or at most three when the kernel drops what the plan did not name
      assert.ok(applied <= (slow ? 3 : 1), `${applied} syncs`);
      if (applied === 1) seen.oneSync++;
      if (slow) seen.slow++;
      // And observe equals desired, and the idle sync wrote nothing
      const after = await observe(exec, desired);
      assert.ok(deepEqual(ipTables(after), ipTables(desired)), `observed ${JSON.stringify([...after.links.values(), ...after.addresses.values(), ...after.routes.values(), ...after.rules.values()])}`);
      assert.equal(exec.writes(), writes);
      // And foreign objects are untouched
      assert.deepEqual(foreignSnapshot(ip), before);
    }),
    { numRuns: 400 },
  );
  // The generator reaches both kinds of plan, so neither bound goes untested.
  assert.ok(seen.oneSync > 50 && seen.slow > 0, JSON.stringify(seen));
});
