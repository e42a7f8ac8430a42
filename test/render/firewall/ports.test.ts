/**
 * Ports and ipBlocks: what each NetworkPolicy port and peer shape renders to, as stories.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ipBlockMembers, ipBlockProblems } from "../../../src/render/firewall/ipblock.ts";
import { policyChainName } from "../../../src/render/firewall/names.ts";
import { compilePorts } from "../../../src/render/firewall/ports.ts";
import { cluster, members, pod, policy, render, setsIn } from "./fixture.ts";

test("ports: number, endPort range, endPort equal to port, protocol only, SCTP, default TCP", () => {
  // Given the port shapes of upstream's tests (§8.1 items 8-10, 13)
  const { specs, problems } = compilePorts([
    { protocol: "TCP", port: 80 }, { protocol: "TCP", port: 30000, endPort: 31000 }, { protocol: "TCP", port: 34000, endPort: 34000 },
    { protocol: "UDP" }, { protocol: "SCTP", port: 36000 }, { protocol: "TCP", port: "http" },
  ], "spec.ingress[0]");
  // Then each becomes the match upstream renders
  assert.deepEqual(specs, [
    { kind: "number", proto: "tcp", port: 80 }, { kind: "number", proto: "tcp", port: 30000, endPort: 31000 }, { kind: "number", proto: "tcp", port: 34000 },
    { kind: "proto", proto: "udp" }, { kind: "number", proto: "sctp", port: 36000 }, { kind: "named", proto: "tcp", name: "http", field: "spec.ingress[0].ports[5].port" },
  ]);
  assert.deepEqual(problems, []);
  // And missing or empty ports mean every port
  assert.deepEqual(compilePorts(undefined, "f").specs, [{ kind: "all" }]);
  assert.deepEqual(compilePorts([], "f").specs, [{ kind: "all" }]);
});

test("ports: as the API server validates them, endPort below port, beside a named port or without a port, and a bad port name are problems naming the field", () => {
  // Given the port shapes the API server rejects (upstream kube-router ignores a bad endPort, matching only the port)
  const { specs, problems } = compilePorts([
    { protocol: "TCP", port: 34000, endPort: 31000 }, { protocol: "TCP", port: "http", endPort: 90 }, { protocol: "TCP", endPort: 90 },
    { protocol: "TCP", port: "Http" }, { protocol: "TCP", port: "a-very-long-port-name" },
  ], "spec.ingress[0]");
  // Then none renders and each is named (the caller fails the direction closed)
  assert.deepEqual(specs, []);
  assert.deepEqual(problems, [
    "spec.ingress[0].ports[0].endPort: 31000 must be greater than or equal to port 34000",
    "spec.ingress[0].ports[1].endPort: may not be set when port is a name",
    "spec.ingress[0].ports[2].port: is required when endPort is set",
    "spec.ingress[0].ports[3].port: \"Http\" is not a port name: must contain only lowercase letters, digits and '-'",
    "spec.ingress[0].ports[4].port: \"a-very-long-port-name\" is not a port name: must be no more than 15 characters",
  ]);
});

test("ports: an unknown protocol is a problem naming the field", () => {
  assert.deepEqual(compilePorts([{ protocol: "ICMP", port: 1 }], "spec.egress[2]").problems, ['spec.egress[2].ports[0].protocol: unknown protocol "ICMP" (want TCP, UDP or SCTP)']);
});

test("ports: rendered as -p proto -m proto --dport p[:e] inside MARK/RETURN pairs", () => {
  // Given an ingress policy with a range and SCTP
  const r = render(cluster({ pods: [pod("x", "a", { app: "a" })], policies: [policy("x", "p", { podSelector: {}, ingress: [{ ports: [{ port: 30000, endPort: 31000 }, { protocol: "SCTP", port: 36000 }, { protocol: "UDP" }] }] })] }));
  const rules = r.chains.get(`ipv4/${policyChainName("x", "p", "ingress")}`)!.rules;
  // Then each port gives a pair, the second returning on the mark
  assert.equal(rules.length, 6);
  assert.match(rules[0]!, /^-p tcp -m comment --comment "x\/p ingress any" -m set --match-set KUBE-DST-\S+ dst -m tcp --dport 30000:31000 -j MARK --set-xmark 0x10000\/0x10000$/);
  assert.match(rules[1]!, /-m tcp --dport 30000:31000 -m mark --mark 0x10000\/0x10000 -j RETURN$/);
  assert.match(rules[2]!, /^-p sctp .* -m sctp --dport 36000 -j MARK/);
  assert.match(rules[4]!, /^-p udp -m comment --comment "x\/p ingress any" -m set --match-set KUBE-DST-\S+ dst -j MARK/);
});

test("named ports: resolved per destination pod; one rule and set per number it resolves to", () => {
  // Given two targets exposing "http" on different numbers and one not exposing it
  const http = (n: number) => [{ name: "http", containerPort: n, protocol: "TCP" as const }];
  const a = pod("x", "a", { app: "w" }, { ports: http(8080), ips: ["10.244.1.2"] });
  const b = pod("x", "b", { app: "w" }, { ports: http(9090), ips: ["10.244.1.3"] });
  const c = pod("x", "c", { app: "w" }, { ips: ["10.244.1.4"] });
  const r = render(cluster({ pods: [a, b, c], policies: [policy("x", "p", { podSelector: { matchLabels: { app: "w" } }, ingress: [{ ports: [{ port: "http" }] }] })] }));
  const rules = r.chains.get(`ipv4/${policyChainName("x", "p", "ingress")}`)!.rules.filter((x) => x.includes("MARK"));
  // Then x/a is allowed on 8080 only and x/b on 9090 only; x/c on nothing
  assert.equal(rules.length, 2);
  assert.match(rules[0]!, /--dport 8080 -j MARK/);
  assert.match(rules[1]!, /--dport 9090 -j MARK/);
  const [s8080, s9090] = [setsIn({ ...r.chains.get(`ipv4/${policyChainName("x", "p", "ingress")}`)!, rules: [rules[0]!] })[0]!, setsIn({ family: "ipv4", table: "filter", name: "", rules: [rules[1]!] })[0]!];
  assert.deepEqual(members(r, s8080), ["10.244.1.2"]);
  assert.deepEqual(members(r, s9090), ["10.244.1.3"]);
  assert.match(rules[0]!, /"x\/p ingress any np"/);
});

test("ipBlock: except entries are nomatch in the same set; /0 is split in two halves; an except equal to the cidr removes it", () => {
  assert.deepEqual(ipBlockMembers({ cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.2.0.1/32"] }, "ipv4"), ["10.0.0.0/8", "10.1.0.0/16 nomatch", "10.2.0.1 nomatch"]);
  assert.deepEqual(ipBlockMembers({ cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] }, "ipv4"), ["0.0.0.0/1", "128.0.0.0/1", "169.254.169.254 nomatch"]);
  assert.deepEqual(ipBlockMembers({ cidr: "::/0", except: [] }, "ipv6"), ["8000::/1", "::/1"]);
  assert.deepEqual(ipBlockMembers({ cidr: "10.95.0.239/32", except: ["10.95.0.239/32"] }, "ipv4"), []);
  // And a block of the other family adds nothing
  assert.deepEqual(ipBlockMembers({ cidr: "fd00::/8", except: [] }, "ipv4"), []);
  // And invalid CIDRs are problems naming the field
  assert.deepEqual(ipBlockProblems({ cidr: "x", except: ["10.0.0.0/33"] }, "spec.ingress[0].from[1].ipBlock"), [
    'spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR "x"', 'spec.ingress[0].from[1].ipBlock.except[0]: invalid CIDR "10.0.0.0/33"',
  ]);
});

test("ipBlock: each block of a rule gets its own hash:net set (excepts of one never cut into another)", () => {
  // Given one rule with 10/8 except 10.1/16, and 10/8 without except
  const r = render(cluster({ pods: [pod("x", "a", {})], policies: [policy("x", "p", { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }, { ipBlock: { cidr: "10.0.0.0/8" } }] }] })] }));
  const sets = [...new Set(setsIn(r.chains.get(`ipv4/${policyChainName("x", "p", "ingress")}`)).filter((s) => s.startsWith("KUBE-SRC-")))];
  // Then two sets: 10.1.x.x is still allowed through the second block
  assert.equal(sets.length, 2);
  assert.deepEqual(members(r, sets[0]!), ["10.0.0.0/8", "10.1.0.0/16 nomatch"]);
  assert.deepEqual(members(r, sets[1]!), ["10.0.0.0/8"]);
  assert.equal(r.sets.get(sets[0]!)?.type, "hash:net");
});
