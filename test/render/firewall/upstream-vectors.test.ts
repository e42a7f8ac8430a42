/**
 * Upstream's own network-policy test vectors (kube-router-features.md §8.1 #11 and §8.2),
 * each rendered through our pure firewall renderer and compared with what upstream's tests
 * expect. Where our names are stable hashes of other identities than upstream's, the test maps
 * each upstream set to ours by meaning (whose targets / which rule's peers / which ipBlock) and
 * compares members; where our semantics deliberately differ (we render only policies with a
 * local target, so a target set holds this node's targets), the mapping says so and the test
 * proves the per-node sets add up to upstream's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NodeInfo, PodInfo } from "../../../src/model/cluster.ts";
import { DEFAULT_CONFIG } from "../../../src/model/config.ts";
import type { Ipset } from "../../../src/model/state.ts";
import { renderNode } from "../../../src/render/index.ts";
import { ipBlockSetName, peerSetName, targetSetName } from "../../../src/render/firewall/names.ts";
import { NODE1, cluster, members, pod, policy, render, type Rendered } from "./fixture.ts";

// ---------------------------------------------------------------------------------------------
// §8.2 pkg/controllers/netpol/ipset_fixture_test.go + testdata/ipset_test_1 (inputs written down
// from the features reference, not copied): two dual-stack nodes, two whoami pods, policies
// default/debug (egress to name=whoami, targets name=debug-toolbox: none exist) and
// default/whoami (ingress from name=debug-toolbox pods or ipBlock 10.95.0.239/32 on TCP 5000).

const VM1: NodeInfo = {
  name: "kube-router-vm1", uid: "vm1", labels: {}, annotations: {}, podCIDR: "10.242.0.0/24", podCIDRs: ["10.242.0.0/24", "2001:db8:42:1000::/64"],
  addresses: [{ type: "InternalIP", address: "10.241.0.20" }, { type: "InternalIP", address: "2001:db8:ca2:2::2ca1" }],
};
const VM2: NodeInfo = {
  name: "kube-router-vm2", uid: "vm2", labels: {}, annotations: {}, podCIDR: "10.242.1.0/24", podCIDRs: ["10.242.1.0/24", "2001:db8:42:1001::/64"],
  addresses: [{ type: "InternalIP", address: "10.241.0.21" }, { type: "InternalIP", address: "2001:db8:ca2:2::e7e5" }],
};
const on = (p: PodInfo, n: NodeInfo): PodInfo => ({ ...p, nodeName: n.name, hostIP: n.addresses[0]!.address });
const WHOAMI_VM2 = on(pod("default", "whoami-vm2", { name: "whoami" }, { ips: ["10.242.1.4", "2001:db8:42:1001::4"] }), VM2);
const WHOAMI_VM1 = on(pod("default", "whoami-vm1", { name: "whoami" }, { ips: ["10.242.0.5", "2001:db8:42:1000::5"] }), VM1);
const DEBUG = policy("default", "debug", {
  podSelector: { matchLabels: { name: "debug-toolbox" } }, policyTypes: ["Egress"],
  egress: [{ to: [{ podSelector: { matchLabels: { name: "whoami" } } }] }],
});
const WHOAMI = policy("default", "whoami", {
  podSelector: { matchLabels: { name: "whoami" } }, policyTypes: ["Ingress"],
  ingress: [{ from: [{ podSelector: { matchLabels: { name: "debug-toolbox" } } }, { ipBlock: { cidr: "10.95.0.239/32" } }], ports: [{ port: 5000, protocol: "TCP" }] }],
});
const FIXTURE = cluster({ nodes: [VM1, VM2], pods: [WHOAMI_VM2, WHOAMI_VM1], policies: [DEBUG, WHOAMI] });

/** Upstream's expected `ipset save` (KUBE-* sets only), §8.2; its debug sets are named where they are checked. */
const UPSTREAM = {
  whoamiTargetsV4: { name: "KUBE-DST-IZ5JGF4W6BKI7CEV", members: ["10.242.0.5", "10.242.1.4"] },
  whoamiTargetsV6: { name: "inet6:KUBE-DST-GZIEGRFLGG6BN3N7", members: ["2001:db8:42:1000::5", "2001:db8:42:1001::4"] },
  whoamiIpBlockV4: { name: "KUBE-SRC-KLLOHJLFVAV654Z2", members: ["10.95.0.239"] },
} as const;

const policySets = (r: Rendered): Ipset[] => [...r.sets.values()].filter((s) => /^(inet6:)?KUBE-(SRC|DST)-/.test(s.name));

test("§8.2 ipset fixture: given upstream's fixture cluster on kube-router-vm2, then whoami's sets hold upstream's members (targets: this node's share)", () => {
  // Given the fixture, dual-stack, rendered for kube-router-vm2
  const r = render(FIXTURE, { enableIpv6: true }, VM2.name);
  // Then upstream's whoami target sets (all whoami pods) map to our target sets, which hold
  // this node's whoami pods only (we program only local targets' chains)
  const local = (m: readonly string[]) => m.filter((ip) => ip === "10.242.1.4" || ip === "2001:db8:42:1001::4");
  assert.deepEqual(members(r, targetSetName("default", "whoami", "ingress", "ipv4")), local(UPSTREAM.whoamiTargetsV4.members));
  assert.deepEqual(members(r, targetSetName("default", "whoami", "ingress", "ipv6")), local(UPSTREAM.whoamiTargetsV6.members));
  // And upstream's ipBlock set (hash:net, ingress rule 0) is ours for peer 1 of rule 0, same member, v4 only
  const block = ipBlockSetName("default", "whoami", "ingress", 0, 1, "ipv4");
  assert.deepEqual(members(r, block), [...UPSTREAM.whoamiIpBlockV4.members]);
  assert.equal(r.sets.get(block)!.type, "hash:net");
  assert.equal(r.sets.has(ipBlockSetName("default", "whoami", "ingress", 0, 1, "ipv6")), false, "no v6 ipBlock set");
  // And the debug-toolbox source pods (none exist): upstream writes no set; ours exists and is
  // empty in both families, so the rule matching it matches no packet either
  assert.deepEqual(members(r, peerSetName("default", "whoami", "ingress", 0, "ipv4")), []);
  assert.deepEqual(members(r, peerSetName("default", "whoami", "ingress", 0, "ipv6")), []);
  // And default/debug selects no pod anywhere: upstream keeps empty target sets and its egress
  // destination sets; we render nothing for a policy without a local target
  for (const dir of ["ingress", "egress"] as const) {
    for (const f of ["ipv4", "ipv6"] as const) {
      assert.equal(r.sets.has(targetSetName("default", "debug", dir, f)), false);
      assert.equal(r.sets.has(peerSetName("default", "debug", dir, 0, f)), false);
    }
  }
  // And nothing else: exactly those five policy sets
  assert.deepEqual(policySets(r).map((s) => s.name).sort(), [
    targetSetName("default", "whoami", "ingress", "ipv4"), targetSetName("default", "whoami", "ingress", "ipv6"),
    peerSetName("default", "whoami", "ingress", 0, "ipv4"), peerSetName("default", "whoami", "ingress", 0, "ipv6"), block,
  ].sort());
});

test("§8.2 ipset fixture: the two nodes' whoami target sets together are upstream's KUBE-DST-IZ5JGF4W6BKI7CEV and inet6:KUBE-DST-GZIEGRFLGG6BN3N7", () => {
  // Given the fixture rendered on each node
  const vm1 = render(FIXTURE, { enableIpv6: true }, VM1.name);
  const vm2 = render(FIXTURE, { enableIpv6: true }, VM2.name);
  // Then each node's set holds its own whoami pod, and the union is upstream's set, per family
  for (const [f, want] of [["ipv4", UPSTREAM.whoamiTargetsV4], ["ipv6", UPSTREAM.whoamiTargetsV6]] as const) {
    const name = targetSetName("default", "whoami", "ingress", f);
    assert.equal(members(vm1, name).length, 1);
    assert.equal(members(vm2, name).length, 1);
    assert.deepEqual([...members(vm1, name), ...members(vm2, name)].sort(), [...want.members].sort(), want.name);
  }
  // And upstream's debug sets (its empty targets KUBE-SRC-C2EUPKL23CCP4COF / inet6:KUBE-SRC-VY6KNKQ4BF6Y4J2K
  // and its egress rule-0 destinations KUBE-DST-P226T6HGLTLDGDLC / inet6:KUBE-DST-KSECZGZUJPU4SKA3)
  // have no counterpart on either node: no node has a debug-toolbox pod to program
  const debugNames = (["ipv4", "ipv6"] as const).flatMap((f) => [targetSetName("default", "debug", "egress", f), peerSetName("default", "debug", "egress", 0, f)]);
  for (const r of [vm1, vm2]) for (const n of debugNames) assert.equal(r.sets.has(n), false, n);
});

test("§8.2 ipset fixture: the routing sets of the same snapshot (kube-router-pod-subnets, kube-router-node-ips) hold upstream's members", () => {
  // Given the fixture rendered by every controller on kube-router-vm2
  const out = renderNode({
    snapshot: FIXTURE, config: { ...DEFAULT_CONFIG, enableIpv6: true }, nodeName: VM2.name,
    host: { interfaces: [{ name: "lo", mtu: 65536, addrs: ["127.0.0.1/8", "::1/128"] }, { name: "eth0", mtu: 1500, addrs: ["10.241.0.21/24", "2001:db8:ca2:2::e7e5/64"] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conflist" } },
  });
  const sets = new Map<string, string[]>();
  for (const c of out) {
    const ok = c.result && "ok" in c.result ? c.result.ok : undefined;
    for (const s of ok?.state.ipsets?.values() ?? []) sets.set(s.name, [...s.members].sort());
  }
  // Then they equal upstream's snapshot
  assert.deepEqual(sets.get("kube-router-pod-subnets"), ["10.242.0.0/24", "10.242.1.0/24"]);
  assert.deepEqual(sets.get("inet6:kube-router-pod-subnets"), ["2001:db8:42:1000::/64", "2001:db8:42:1001::/64"]);
  assert.deepEqual(sets.get("kube-router-node-ips"), ["10.241.0.20", "10.241.0.21"]);
  assert.deepEqual(sets.get("inet6:kube-router-node-ips"), ["2001:db8:ca2:2::2ca1", "2001:db8:ca2:2::e7e5"]);
});

// ---------------------------------------------------------------------------------------------
// §8.1 #11 pkg/controllers/netpol/network_policy_controller_test.go, the tail chain.

const LOCAL = pod("x", "a", {}, { ips: ["10.244.1.2"] });

test("§8.1 #11 tail chain: default-deny with one pod CIDR ⇒ exactly 5 rules, in upstream's order", () => {
  // Given node1 with one IPv4 pod CIDR and --netpol-default-deny
  const rules = render(cluster({ pods: [LOCAL] }), { netpolDefaultDeny: true }).chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules;
  // Then gated src REJECT, gated dst REJECT, ACCEPT mark, CIDR src REJECT, CIDR dst REJECT
  assert.equal(rules.length, 5);
  assert.match(rules[0]!, /^-s 10\.244\.1\.0\/24 -m set ! --match-set kube-router-local-pods src .* -j REJECT/);
  assert.match(rules[1]!, /^-d 10\.244\.1\.0\/24 -m set ! --match-set kube-router-local-pods dst .* -j REJECT/);
  assert.match(rules[2]!, /^-m mark --mark 0x20000\/0x20000 .* -j ACCEPT$/);
  assert.match(rules[3]!, /^-s 10\.244\.1\.0\/24 .* -j REJECT/);
  assert.match(rules[4]!, /^-d 10\.244\.1\.0\/24 .* -j REJECT/);
});

test("§8.1 #11 tail chain: default-deny with two pod CIDRs ⇒ exactly 9 rules (two gated pairs, the accept, two CIDR pairs)", () => {
  // Given node1 with two IPv4 pod CIDRs and --netpol-default-deny
  const twoCidrs: NodeInfo = { ...NODE1, podCIDRs: ["10.244.1.0/24", "10.245.1.0/24"] };
  const rules = render(cluster({ nodes: [twoCidrs], pods: [LOCAL] }), { netpolDefaultDeny: true }).chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules;
  // Then 9 rules: the gated REJECTs of each CIDR before the accept, the plain REJECTs after
  assert.equal(rules.length, 9);
  const shape = rules.map((r) => (r.includes("ACCEPT") ? "accept" : `${/^-([sd]) (\S+)/.exec(r)![1]} ${/^-[sd] (\S+)/.exec(r)![1]}${r.includes("--match-set") ? " gated" : ""}`));
  assert.deepEqual(shape, [
    "s 10.244.1.0/24 gated", "d 10.244.1.0/24 gated", "s 10.245.1.0/24 gated", "d 10.245.1.0/24 gated",
    "accept",
    "s 10.244.1.0/24", "d 10.244.1.0/24", "s 10.245.1.0/24", "d 10.245.1.0/24",
  ]);
});

test("§8.1 #11 tail chain: default-deny off ⇒ 1 rule (ACCEPT mark); dual-stack default-deny ⇒ 5 per family", () => {
  // Given default-deny off
  const off = render(cluster({ pods: [LOCAL] })).chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules;
  // Then only the accept of the netpol-ok mark
  assert.equal(off.length, 1);
  assert.match(off[0]!, /--mark 0x20000\/0x20000 .* -j ACCEPT$/);
  // Given node1's two CIDRs are one per family (dual-stack), then each family's tail has one CIDR's 5 rules
  const dual = render(cluster({ pods: [LOCAL] }), { netpolDefaultDeny: true, enableIpv6: true });
  assert.equal(dual.chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules.length, 5);
  assert.equal(dual.chains.get("ipv6/KUBE-NWPLCY-TAIL")!.rules.length, 5);
  assert.match(dual.chains.get("ipv6/KUBE-NWPLCY-TAIL")!.rules[0]!, /^-s fd00:10:244:1::\/64 -m set ! --match-set inet6:kube-router-local-pods src/);
});
