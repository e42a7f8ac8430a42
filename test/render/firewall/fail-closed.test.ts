/**
 * Bad input: one-line warnings naming the policy and the field; the affected direction of
 * that policy fails closed; other directions and policies keep working; nothing throws.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { podChainName, policyChainName } from "../../../src/render/firewall/names.ts";
import { cluster, pod, policy, render } from "./fixture.ts";

const A = pod("x", "a", { app: "a" }, { ips: ["10.244.1.2"], ports: [{ name: "http", containerPort: 80, protocol: "TCP" }] });
const B = pod("x", "b", { app: "b" }, { ips: ["10.244.1.3"] });
const chainRules = (r: ReturnType<typeof render>, ns: string, name: string, dir: "ingress" | "egress") => r.chains.get(`ipv4/${policyChainName(ns, name, dir)}`)?.rules;

test("fail closed: an invalid ipBlock CIDR empties that policy's ingress chain; its egress and other policies still allow", () => {
  // Given x/bad with an invalid CIDR in ingress and a valid egress rule, and x/good allowing ingress to x/a
  const bad = policy("x", "bad", { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ ipBlock: { cidr: "x" } }] }], egress: [{}] });
  const good = policy("x", "good", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "b" } } }] }] });
  // When rendered
  const r = render(cluster({ pods: [A, B], policies: [bad, good] }));
  // Then one warning names the policy, field and value
  assert.deepEqual(r.warnings, ['NetworkPolicy x/bad: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "x"; ingress fails closed']);
  // And x/bad's ingress chain allows nothing while its egress chain allows
  assert.deepEqual(chainRules(r, "x", "bad", "ingress"), []);
  assert.equal(chainRules(r, "x", "bad", "egress")?.length, 2);
  assert.equal(chainRules(r, "x", "good", "ingress")?.length, 2);
  // And x/a's chain still jumps to both ingress chains (the bad one selects it, so no default allow)
  const podRules = r.chains.get(`ipv4/${podChainName("x", "a")}`)!.rules.join("\n");
  assert.doesNotMatch(podRules, /default ingress/);
  assert.match(podRules, new RegExp(policyChainName("x", "bad", "ingress")));
  assert.match(podRules, new RegExp(policyChainName("x", "good", "ingress")));
});

test("fail closed: unknown protocol and unknown operator each close their direction only", () => {
  const p1 = policy("x", "proto", { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{ ports: [{ protocol: "ICMP" }] }] });
  const p2 = policy("x", "op", { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "k", operator: "Bogus" }] } }] }] });
  const r = render(cluster({ pods: [A, B], policies: [p1, p2] }));
  assert.deepEqual(r.warnings, [
    'NetworkPolicy x/op: spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].operator: unknown operator "Bogus" (want In, NotIn, Exists, DoesNotExist); ingress fails closed',
    'NetworkPolicy x/proto: spec.egress[0].ports[0].protocol: unknown protocol "ICMP" (want TCP, UDP or SCTP); egress fails closed',
  ]);
  assert.equal(chainRules(r, "x", "proto", "ingress")?.length, 2);
  assert.deepEqual(chainRules(r, "x", "proto", "egress"), []);
  assert.deepEqual(chainRules(r, "x", "op", "ingress"), []);
});

test("fail closed: a port name no target pod exposes", () => {
  const p = policy("x", "np", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ ports: [{ port: "http" }] }, { ports: [{ port: 80 }] }] });
  const r = render(cluster({ pods: [A, B], policies: [p] }));
  assert.deepEqual(r.warnings, ['NetworkPolicy x/np: spec.ingress[0].ports[0].port: no target pod exposes a TCP port named "http"; ingress fails closed']);
  assert.deepEqual(chainRules(r, "x", "np", "ingress"), []);
});

test("fail closed: an unknown operator in spec.podSelector selects every pod of the namespace and closes every covered direction", () => {
  const p = policy("x", "sel", { podSelector: { matchExpressions: [{ key: "app", operator: "Regex", values: ["a"] }] }, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{}] });
  const r = render(cluster({ pods: [A, B], policies: [p] }));
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^NetworkPolicy x\/sel: spec\.podSelector\.matchExpressions\[0\]\.operator: unknown operator "Regex" .*every pod of the namespace is a target and ingress, egress fail closed$/);
  assert.deepEqual(chainRules(r, "x", "sel", "ingress"), []);
  assert.deepEqual(chainRules(r, "x", "sel", "egress"), []);
  for (const name of ["a", "b"]) assert.match(r.chains.get(`ipv4/${podChainName("x", name)}`)!.rules.join("\n"), /x\/sel policy/);
});

test("bad input never throws: garbage everywhere still renders the fixed layout", () => {
  const p = policy("x", "junk", {
    podSelector: { matchExpressions: [{ key: "k", operator: "?" }] }, policyTypes: ["Ingress", "Egress"],
    ingress: [{ from: [{ ipBlock: { cidr: "::/999", except: ["nope"] } }], ports: [{ protocol: "tcp", port: "x" }] }],
    egress: [{ to: [{ podSelector: { matchExpressions: [{ key: "a", operator: "In" }] } }], ports: [{ port: "1234" }] }],
  });
  const r = render(cluster({ pods: [A, B], policies: [p] }));
  assert.ok(r.warnings.length >= 4);
  for (const w of r.warnings) assert.match(w, /^NetworkPolicy x\/junk: spec\.\S+: .+; (ingress|egress|.*) fail/);
  assert.ok(r.chains.has("ipv4/KUBE-ROUTER-FORWARD"));
});
