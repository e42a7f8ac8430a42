/**
 * iproute2 driver against the real kernel, in network namespaces this file creates and
 * always deletes: a "node" namespace with eth0 (a veth whose peer, with the gateway
 * addresses, sits in a second namespace). The driver runs through realExec({ netns }).
 * Checks: convergence from empty (links, addresses, both families' routes via gateways,
 * policy rules incl. IPv6 ones without addresses), the kernel state seen by plain `ip`
 * commands, a no-op sync with zero writes, foreign objects surviving, stale owned ones
 * removed, MTU changed in place, vxlan re-created on an id change, `-force` behaviour, and
 * readHostInterfaces.
 */
import { observeWith, syncWith } from "../support/driver-sync.ts";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExecError, type Exec, realExec, recordingExec } from "../../src/apply/exec.ts";
import { ipDriver, readHostInterfaces } from "../../src/apply/ip/driver.ts";
import { blockParts } from "../../src/apply/ip/parallel-batch.ts";
import { type NodePlan, diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import {
  type Address, type Link, type NodeState, type PolicyRule, type Route,
  addressKey, emptyNodeState, linkKey, policyRuleKey, routeKey,
} from "../../src/model/state.ts";
import { deepEqual, sortedTable } from "../../src/model/table.ts";
import { canonicalIp } from "../../src/model/ip.ts";
import { addNetns, delNetns, kernelSkip, nsSh, withNetns } from "../support/netns.ts";

/** A node namespace with eth0 = 10.250.0.1/24, fd00:250::1/64; the peer namespace holds .2 / ::2. */
async function withNode<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  return withNetns("ip", async (ns) => {
    const peer = addNetns("ippeer");
    try {
      nsSh(ns, `ip link add eth0 type veth peer name eth0p netns ${peer}`);
      nsSh(ns, "ip addr add 10.250.0.1/24 dev eth0 && ip addr add fd00:250::1/64 dev eth0 nodad && ip link set eth0 up");
      nsSh(peer, "ip addr add 10.250.0.2/24 dev eth0p && ip addr add fd00:250::2/64 dev eth0p nodad && ip link set eth0p up");
      return await fn(ns);
    } finally {
      delNetns(peer);
    }
  });
}

function state(links: Link[], addresses: Address[], routes: Route[], rules: PolicyRule[]): NodeState {
  return {
    ...emptyNodeState(),
    links: sortedTable(links.map((l) => [linkKey(l), l])),
    addresses: sortedTable(addresses.map((a) => [addressKey(a), a])),
    routes: sortedTable(routes.map((r) => [routeKey(r), r])),
    rules: sortedTable(rules.map((r) => [policyRuleKey(r), r])),
  };
}

const observe = (exec: Exec, desired: NodeState): Promise<NodeState> => observeWith([ipDriver()], exec, desired);
const sync = (exec: Exec, desired: NodeState): Promise<NodePlan> => syncWith([ipDriver()], exec, desired);
const ipTables = (s: NodeState) => ({ links: s.links, addresses: s.addresses, routes: s.routes, rules: s.rules });
const ifindex = (ns: string, dev: string): number => (JSON.parse(nsSh(ns, `ip -j link show ${dev}`)) as { ifindex: number }[])[0]?.ifindex ?? -1;

const BRIDGE: Link = { name: "kube-bridge", kind: "bridge", up: true, mtu: 1400 };
const VXLAN: Link = { name: "tun-vx", kind: "vxlan", up: true, vxlan: { id: 42, local: "10.250.0.1", dev: "eth0", port: 4789, learning: false } };
// This kernel has no dummy links: kube-dummy-if is a bridge here, which the driver handles alike.
const DUMMY: Link = { name: "kube-dummy-if", kind: "bridge", up: true };
const ADDRS: Address[] = [{ dev: "kube-dummy-if", cidr: "10.96.0.10/32", scope: "link" }, { dev: "kube-dummy-if", cidr: "fd00:96::10/128" }];
const ROUTES: Route[] = [
  { family: "ipv4", table: "main", dst: "10.244.2.0/24", via: "10.250.0.2", proto: "17" },
  { family: "ipv4", table: "77", dst: "10.244.3.0/24", via: "10.250.0.2", dev: "eth0", proto: "17" },
  { family: "ipv4", table: "77", dst: "10.244.9.0/24", dev: "kube-bridge", proto: "17" },
  { family: "ipv4", table: "78", dst: "default", via: "10.250.0.2", proto: "17" },
  { family: "ipv6", table: "main", dst: "fd00:244:2::/64", via: "fd00:250::2", proto: "17" },
  { family: "ipv6", table: "77", dst: "fd00:244:3::/64", via: "fd00:250::2", dev: "eth0", proto: "17" },
];
const RULES: PolicyRule[] = [
  { family: "ipv4", priority: 100, selector: "from 10.244.1.0/24", table: "77" },
  { family: "ipv4", priority: 101, selector: "fwmark 0x4d", table: "78" },
  { family: "ipv6", priority: 100, selector: "from fd00:244:1::/64", table: "77" },
  { family: "ipv6", priority: 101, selector: "fwmark 0x4d", table: "78" },
];
const FULL = state([BRIDGE, VXLAN, DUMMY], ADDRS, ROUTES, RULES);

test("kernel: converges from empty; plain ip sees it; a no-op sync runs only the six dumps", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given an empty node and the full desired state
    const exec = realExec({ netns: ns });
    // When one sync runs
    const plan = await sync(exec, FULL);
    // Then observe equals desired
    assert.equal(plan.links.length + plan.addresses.length + plan.routes.length + plan.rules.length, 15);
    assert.ok(deepEqual(ipTables(await observe(exec, FULL)), ipTables(FULL)));
    // And plain ip shows the objects as written (not only our parser's view of them)
    assert.match(nsSh(ns, "ip -d link show kube-bridge"), /kube-bridge: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 [\s\S]*\n +bridge /);
    assert.match(nsSh(ns, "ip -d link show tun-vx"), /vxlan id 42 local 10\.250\.0\.1 dev eth0 .*dstport 4789 nolearning/);
    assert.equal(nsSh(ns, "ip route show table 78").trim(), "default via 10.250.0.2 dev eth0 proto 17");
    assert.equal(nsSh(ns, "ip -6 route show fd00:244:3::/64 table 77").trim(), "fd00:244:3::/64 via fd00:250::2 dev eth0 proto 17 metric 1024 pref medium");
    assert.match(nsSh(ns, "ip -6 rule show"), /^101:\tfrom all fwmark 0x4d lookup 78 *$/m);
    assert.match(nsSh(ns, "ip addr show kube-dummy-if"), /inet 10\.96\.0\.10\/32 scope link/);
    // When the same desired state is synced again through a recording exec
    const rec = recordingExec(realExec({ netns: ns }));
    const again = await sync(rec, FULL);
    // Then the plan is empty and nothing but the six dumps ran (addr, route and rule per family, neigh)
    assert.ok(isEmptyPlan(again));
    assert.equal(rec.writes(), 0);
    assert.equal(rec.calls.length, 6);
  });
});

test("kernel: foreign route, rule and link survive; stale owned ones go; MTU changes in place", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given a node with kube-bridge at mtu 1500, foreign objects, and stale objects of ours
    nsSh(ns, [
      "ip link add kube-bridge mtu 1500 up type bridge",
      "ip link add br-foreign up type bridge",
      "ip route add 192.168.7.0/24 via 10.250.0.2 proto static",
      "ip route add 192.168.8.0/24 via 10.250.0.2 proto static table 77",
      "ip route add 10.244.8.0/24 via 10.250.0.2 proto 17",
      "ip -6 route add fd00:244:8::/64 via fd00:250::2 proto 17 table 77",
      "ip rule add priority 150 from 10.244.8.0/24 lookup 77",
      "ip rule add priority 100 from 10.244.1.0/24 lookup 100",
    ].join(" && "));
    const before = ifindex(ns, "kube-bridge");
    const desired = state([BRIDGE], [], [ROUTES[0] as Route], [RULES[0] as PolicyRule]);
    const exec = realExec({ netns: ns });
    // When one sync runs
    await sync(exec, desired);
    // Then kube-bridge is the same link with the new MTU
    assert.equal(ifindex(ns, "kube-bridge"), before);
    assert.match(nsSh(ns, "ip link show kube-bridge"), /mtu 1400 /);
    // And the stale route (both families) and rule are gone
    assert.equal(nsSh(ns, "ip route show 10.244.8.0/24").trim(), "");
    assert.equal(nsSh(ns, "ip -6 route show table 77 fd00:244:8::/64").trim(), "");
    assert.doesNotMatch(nsSh(ns, "ip rule show"), /^150:/m);
    // And the foreign route (also the one in our table 77), rule and link are untouched
    assert.equal(nsSh(ns, "ip route show 192.168.7.0/24").trim(), "192.168.7.0/24 via 10.250.0.2 dev eth0 proto static");
    assert.equal(nsSh(ns, "ip route show table 77 192.168.8.0/24").trim(), "192.168.8.0/24 via 10.250.0.2 dev eth0 proto static");
    assert.match(nsSh(ns, "ip rule show"), /^100:\tfrom 10\.244\.1\.0\/24 lookup 100 *$/m);
    assert.match(nsSh(ns, "ip link show br-foreign"), /br-foreign: <BROADCAST,MULTICAST,UP/);
    // And observe equals desired
    assert.ok(deepEqual(ipTables(await observe(exec, desired)), ipTables(desired)));
  });
});

test("kernel: a vxlan id change re-creates the link; an unmanaged MTU is left as the kernel set it", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given tun-vx created by a first sync (its MTU unmanaged, so the kernel picks 1450 over eth0)
    const exec = realExec({ netns: ns });
    await sync(exec, state([VXLAN], [], [], []));
    const before = ifindex(ns, "tun-vx");
    assert.match(nsSh(ns, "ip link show tun-vx"), /mtu 1450 /);
    // When the desired vxlan id changes
    const changed: Link = { ...VXLAN, vxlan: { ...VXLAN.vxlan, id: 43 } };
    const plan = await sync(exec, state([changed], [], [], []));
    // Then it was one link update, carried out by re-creating the link with the new id
    assert.deepEqual(plan.links.map((c) => c.op), ["update"]);
    assert.notEqual(ifindex(ns, "tun-vx"), before);
    assert.match(nsSh(ns, "ip -d link show tun-vx"), /vxlan id 43 /);
    assert.ok(isEmptyPlan(diffNode(state([changed], [], [], []), await observe(exec, state([changed], [], [], [])))));
  });
});

test("kernel: one bad route does not keep the others out (-force), and the sync fails with ip's message", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given a desired state with a route whose gateway is unreachable, sorted between two good ones
    const bad: Route = { family: "ipv4", table: "main", dst: "10.244.5.0/24", via: "10.99.0.1", proto: "17" };
    const desired = state([], [], [ROUTES[0] as Route, bad, ROUTES[4] as Route], []);
    const exec = realExec({ netns: ns });
    // When it is synced / Then the run rejects with ExecError carrying the kernel's complaint
    await assert.rejects(sync(exec, desired), (e: unknown) => e instanceof ExecError && /exit 1: Error: Nexthop has invalid gateway\./.test(e.message));
    // And both good routes are in place
    const observed = await observe(exec, desired);
    assert.deepEqual([...observed.routes.keys()], ["ipv4/main/10.244.2.0/24", "ipv6/main/fd00:244:2::/64"]);
  });
});

test("kernel: readHostInterfaces lists the veth with its MTU and addresses", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given eth0 with a non-default MTU
    nsSh(ns, "ip link set eth0 mtu 1450");
    // When host interfaces are read
    const ifaces = await readHostInterfaces(realExec({ netns: ns }));
    // Then eth0 is there with that MTU and both families' addresses (plus its link-local one), and lo too
    const eth0 = ifaces.find((i) => i.name === "eth0");
    assert.equal(eth0?.mtu, 1450);
    assert.deepEqual(eth0?.addrs.filter((a) => !a.startsWith("fe80:")), ["10.250.0.1/24", "fd00:250::1/64"]);
    assert.deepEqual(ifaces.map((i) => i.name).sort(), ["eth0", "lo"]);
  });
});

test("kernel: `ip` prints IPv6 addresses exactly as model/ip.ts canonicalises them (glibc inet_ntop)", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given addresses spelled every which way, including the IPv4-mapped and IPv4-compatible forms and ties of zero runs
    const spellings = [
      "::ffff:a00:1", "::a00:2", "::1:2", "0:0:0:0:0:ffff:0:1", "::2:0:0", "::ffff:0:1.2.3.4", "2001:DB8:0:0:1:0:0:1",
      "2001:db8::a:0:0:0", "::1:2:3:4:5:6:7", "fd00:0:0:1:0:0:0:1", "1:0:0:1:0:0:1:1", "fd00:1:2:3:4:5:0:7",
    ];
    for (const s of spellings) nsSh(ns, `ip -6 addr add ${s}/128 dev eth0 nodad`);
    // When the kernel's addresses are read back with plain `ip`
    const shown = (JSON.parse(nsSh(ns, "ip -6 -j addr show dev eth0")) as { addr_info: { local: string }[] }[])[0]?.addr_info.map((a) => a.local) ?? [];
    // Then each is there in exactly our canonical text
    for (const s of spellings) assert.ok(shown.includes(canonicalIp(s) ?? "invalid"), `${s} → ${canonicalIp(s)} not in ${shown.join(" ")}`);
  });
});

test("kernel: thousands of gateway routes go in (and out) through parallel ip batches; the kernel ends as one batch would leave it", { skip: kernelSkip }, async () => {
  await withNode(async (ns) => {
    // Given 3,000 learned-style gateway routes and one route without a gateway
    const many: Route[] = Array.from({ length: 3000 }, (_, i): Route => ({ family: "ipv4", table: "main", dst: `172.20.${i >> 8}.${i & 255}/32`, via: "10.250.0.2", proto: "17" }));
    const desired = state([BRIDGE], [], [{ family: "ipv4", table: "77", dst: "10.244.9.0/24", dev: "kube-bridge", proto: "17" }, ...many], []);
    const rec = recordingExec(realExec({ netns: ns }));
    // When one sync runs
    await sync(rec, desired);
    // Then every route is in the kernel (plain ip), and as many ip processes wrote as the node has cores to split over (+1 for the rest)
    const gatewayRoutes = nsSh(ns, "ip route show proto 17").split("\n").filter((l) => l.startsWith("172.20."));
    assert.equal(gatewayRoutes.length, 3000);
    assert.equal(nsSh(ns, "ip route show table 77").trim(), "10.244.9.0/24 dev kube-bridge proto 17 scope link");
    const parts = blockParts(3000, availableParallelism());
    assert.equal(rec.writes(), parts === 1 ? 1 : parts + 1);
    // And observe equals desired (a second sync plans nothing)
    assert.ok(isEmptyPlan(await sync(realExec({ netns: ns }), desired)));
    // When the gateway routes are no longer desired
    const fewer = state([BRIDGE], [], [{ family: "ipv4", table: "77", dst: "10.244.9.0/24", dev: "kube-bridge", proto: "17" }], []);
    await sync(realExec({ netns: ns }), fewer);
    // Then all 3,000 are gone (the route del block ran split as well) and the kept one stays
    assert.equal(nsSh(ns, "ip route show proto 17").split("\n").filter((l) => l.startsWith("172.20.")).length, 0);
    assert.equal(nsSh(ns, "ip route show table 77").trim(), "10.244.9.0/24 dev kube-bridge proto 17 scope link");
  });
});
