/**
 * The layout kube-router operators know (kube-router-features.md §4.3-4.4), and the referential
 * integrity of every render: each `--match-set` names a rendered set of the rule's family and
 * each `-j KUBE-…` a rendered chain of the same family.
 */
import { ownedBy } from "../../../src/model/registry.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseSnapshotText } from "../../../src/sources/snapshot-file.ts";
import { parseFlags } from "../../../src/agent/flags.ts";
import type { Chain } from "../../../src/model/state.ts";
import { podChainName, policyChainName } from "../../../src/render/firewall/names.ts";
import { firewallController } from "../../../src/render/firewall/index.ts";
import { cluster, members, pod, policy, render, type Rendered } from "./fixture.ts";
import { parse } from "yaml";

const A = pod("x", "a", { app: "a" }, { ips: ["10.244.1.2", "fd00:10:244:1::2"] });
const R = pod("x", "r", { app: "a" }, { node: "node2", ips: ["10.244.2.2"] });

test("layout: builtin jumps at position 1 to KUBE-ROUTER-INPUT/FORWARD/OUTPUT, identified by our comment", () => {
  const r = render(cluster({ pods: [A] }));
  const jumps = [...(r.state.jumps ?? new Map()).values()];
  assert.deepEqual(jumps.map((j) => `${j.chain} ${j.position} -> ${j.rule.split(" -j ")[1]}`).sort(), [
    "FORWARD 1 -> KUBE-ROUTER-FORWARD", "INPUT 1 -> KUBE-ROUTER-INPUT", "OUTPUT 1 -> KUBE-ROUTER-OUTPUT",
  ]);
  for (const j of jumps) assert.match(j.comment, /^kube-router netpol - [A-Z2-7]{16}$/);
  assert.equal(ownedBy("firewall", "jumps", jumps[0]!), true);
});

test("layout: KUBE-ROUTER-INPUT exempts service, node port, external IP and LB ranges before the pod jumps", () => {
  const r = render(cluster({ pods: [A] }), { serviceClusterIpRange: ["10.96.0.0/12"], serviceExternalIpRange: ["198.51.100.0/24"], loadbalancerIpRange: ["203.0.113.0/24"], serviceNodePortRange: "30000-32767" });
  const rules = r.chains.get("ipv4/KUBE-ROUTER-INPUT")!.rules;
  assert.match(rules[0]!, /^-d 10\.96\.0\.0\/12 -m comment --comment "allow traffic to primary cluster IP range - \w{16}" -j RETURN$/);
  assert.match(rules[1]!, /^-p tcp -m comment --comment "allow LOCAL TCP traffic to node ports - \w{16}" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN$/);
  assert.match(rules[2]!, /^-p udp /);
  assert.match(rules[3]!, /^-p sctp /);
  assert.match(rules[4]!, /^-d 198\.51\.100\.0\/24 .*"allow traffic to external IP range: 198\.51\.100\.0\/24 - \w{16}" -j RETURN$/);
  assert.match(rules[5]!, /^-d 203\.0\.113\.0\/24 .*"allow traffic to load balancer IP range: 203\.0\.113\.0\/24 - \w{16}" -j RETURN$/);
  assert.equal(rules[6], `-s 10.244.1.2/32 -m comment --comment "x/a out" -j ${podChainName("x", "a")}`);
  assert.match(rules[7]!, /-j KUBE-NWPLCY-TAIL$/);
  assert.match(rules[8]!, /-m mark --mark 0x20000\/0x20000 .* -j ACCEPT$/);
});

test("layout: a pod without policy passes through DEFAULT both ways; the local node always reaches it; drops are logged to NFLOG 100", () => {
  const r = render(cluster({ pods: [A, R] }));
  // Then only the local pod has a chain
  assert.deepEqual([...r.chains.keys()].filter((k) => k.includes("KUBE-POD-FW-")), [`ipv4/${podChainName("x", "a")}`]);
  assert.deepEqual(r.chains.get(`ipv4/${podChainName("x", "a")}`)!.rules, [
    '-m comment --comment "common netpol rules" -j KUBE-NWPLCY-COMMON',
    '-d 10.244.1.2/32 -m addrtype --src-type LOCAL -m comment --comment "from local node" -j ACCEPT',
    '-s 10.244.1.2/32 -m comment --comment "default egress" -j KUBE-NWPLCY-DEFAULT',
    '-d 10.244.1.2/32 -m comment --comment "default ingress" -j KUBE-NWPLCY-DEFAULT',
    '-m comment --comment "x/a log-drop" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100',
    '-m comment --comment "x/a reject" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable',
    "-j MARK --set-xmark 0x0/0x10000",
    '-m comment --comment "set netpol-ok mark" -j MARK --set-xmark 0x20000/0x20000',
  ]);
  assert.deepEqual(r.chains.get("ipv4/KUBE-NWPLCY-DEFAULT")!.rules, ['-m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000']);
});

test("layout: several policies on one pod are a union: one jump per policy and direction", () => {
  const p1 = policy("x", "p1", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] });
  const p2 = policy("x", "p2", { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Ingress", "Egress"], ingress: [{ ports: [{ port: 81 }] }] });
  const rules = render(cluster({ pods: [A], policies: [p1, p2] })).chains.get(`ipv4/${podChainName("x", "a")}`)!.rules;
  assert.deepEqual(rules.filter((r) => r.includes("KUBE-NWPLCY-")).slice(1), [
    `-d 10.244.1.2/32 -m comment --comment "x/p1 policy" -j ${policyChainName("x", "p1", "ingress")}`,
    `-d 10.244.1.2/32 -m comment --comment "x/p2 policy" -j ${policyChainName("x", "p2", "ingress")}`,
    `-s 10.244.1.2/32 -m comment --comment "x/p2 policy" -j ${policyChainName("x", "p2", "egress")}`,
  ]);
});

test("layout: local pods are found by status.hostIP as well as spec.nodeName", () => {
  const byHostIp = { ...pod("x", "h", {}, { ips: ["10.244.1.7"] }), nodeName: "renamed" };
  assert.ok(render(cluster({ pods: [byHostIp] })).chains.has(`ipv4/${podChainName("x", "h")}`));
});

test("dual stack: ip6tables chains with /128 addresses and inet6: sets", () => {
  const p = policy("x", "p", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] });
  const r = render(cluster({ pods: [A], policies: [p] }), { enableIpv6: true });
  assert.match(r.chains.get(`ipv6/${podChainName("x", "a")}`)!.rules.join("\n"), /-d fd00:10:244:1::2\/128 -m comment --comment "x\/p policy"/);
  const v6sets = [...r.sets.keys()].filter((n) => n.startsWith("inet6:"));
  assert.equal(v6sets.length, 2);
  for (const s of v6sets) assert.equal(r.sets.get(s)?.family, "inet6");
  assert.deepEqual(members(r, v6sets[0]!), ["fd00:10:244:1::2"]);
  assert.match(r.chains.get("ipv6/KUBE-NWPLCY-COMMON")!.rules.join("\n"), /--icmpv6-type 135/);
});

test("default deny: tail rejects unprogrammed pods of the node's pod CIDRs; kube-router-local-pods holds the programmed ones", () => {
  const r = render(cluster({ pods: [A, R] }), { netpolDefaultDeny: true });
  assert.equal(r.chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules.length, 5);
  assert.deepEqual(members(r, "kube-router-local-pods"), ["10.244.1.2"]);
  const off = render(cluster({ pods: [A] }));
  assert.equal(off.chains.get("ipv4/KUBE-NWPLCY-TAIL")!.rules.length, 1);
  assert.equal(off.sets.has("kube-router-local-pods"), false);
});

/** Every set and chain a rule references is rendered in the same family. */
function assertIntegrity(r: Rendered, label: string): void {
  const chains = [...(r.state.chains ?? new Map()).values()] as Chain[];
  const chainNames = new Set(chains.map((c) => `${c.family}/${c.name}`));
  const rules = [...chains.map((c) => ({ family: c.family, rules: c.rules })), ...[...(r.state.jumps ?? new Map()).values()].map((j) => ({ family: j.family, rules: [j.rule] }))];
  for (const { family, rules: rs } of rules) {
    for (const rule of rs) {
      for (const m of rule.matchAll(/--match-set (\S+) (?:src|dst)/g)) {
        const set = r.sets.get(m[1]!);
        assert.ok(set, `${label}: ${rule} references missing set ${m[1]}`);
        assert.equal(set.family, family === "ipv4" ? "inet" : "inet6", `${label}: ${m[1]} family`);
      }
      const target = / -j (KUBE-\S+)/.exec(` ${rule}`)?.[1];
      if (target) assert.ok(chainNames.has(`${family}/${target}`), `${label}: ${rule} jumps to missing ${family} chain ${target}`);
    }
  }
}

test("integrity: every golden firewall case references only rendered sets and chains", () => {
  const root = join(import.meta.dirname, "../../golden");
  const cases = readdirSync(root).filter((d) => d.startsWith("firewall-"));
  assert.ok(cases.length >= 7);
  for (const c of cases) {
    const args = (parse(readFileSync(join(root, c, "case.yaml"), "utf8")) as { args: string[] }).args;
    const flags = parseFlags([...args], {});
    assert.ok("config" in flags);
    const { snapshot } = parseSnapshotText(readFileSync(join(root, c, "cluster.yaml"), "utf8"), "cluster.yaml");
    assertIntegrity(render(snapshot, flags.config), c);
  }
});
