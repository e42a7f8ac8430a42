/**
 * Stable names: identity string → chain/set name vectors (written down once; a change here
 * renames kernel objects on every node, so it must be deliberate), plus upstream's vectors
 * proving the hash recipe (kube-router-features.md §4.1, §8.1-8.2).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashName, ownsChain, ownsIpset } from "../../../src/model/names.ts";
import * as n from "../../../src/render/firewall/names.ts";

test("names: the hash is upstream's recipe (first 16 of base32(sha256)), checked on upstream's vectors", () => {
  // Given upstream's identities (with its sync version "1" where upstream has one)
  // Then our hashName gives upstream's names
  assert.equal(hashName("nsA" + "simple-egress" + "1" + "IPv4"), "C23KD7UE4TAT3Y5M"); // KUBE-NWPLCY- of §8.1.6
  assert.equal(hashName("default" + "whoami" + "IPv4"), "IZ5JGF4W6BKI7CEV"); // KUBE-DST- target set of §8.2
  assert.equal(hashName("default" + "whoami" + "ingressrule" + "0" + "IPv4" + "ipblock"), "KLLOHJLFVAV654Z2"); // §8.2
});

const VECTORS: readonly [identity: string, name: string][] = [
  ["pod/x/a", "KUBE-POD-FW-Q5GWLVZMH6NOQMDI"],
  ["policy/x/allow/ingress", "KUBE-NWPLCY-VCQDQRFTKRYAIWLE"],
  ["policy/x/allow/egress", "KUBE-NWPLCY-6D4R6KFCMD6Z72WO"],
  ["targets/x/allow/ingress", "KUBE-DST-OECDL6RM2T3CR5HN"],
  ["targets/x/allow/egress (IPv6)", "inet6:KUBE-SRC-Z3TI5J66ONUJXDHO"],
  ["peers/x/allow/ingress/0", "KUBE-SRC-RVA6JVACPBVVMXCL"],
  ["peers/x/allow/egress/0", "KUBE-DST-HWXUCQUV3L7ZMX6R"],
  ["ipblock/x/allow/ingress/0/1", "KUBE-SRC-KDTKIPUPWSZWFNPK"],
  ["namedport/x/allow/ingress/0/http/tcp/8080/targets (IPv6)", "inet6:KUBE-DST-EIS4AK754IQBFL6D"],
];

test("names: identity → name vectors are stable (no sync version, no clock)", () => {
  // Given the identities of one pod and one policy x/allow
  const got = [
    n.podChainName("x", "a"),
    n.policyChainName("x", "allow", "ingress"),
    n.policyChainName("x", "allow", "egress"),
    n.targetSetName("x", "allow", "ingress", "ipv4"),
    n.targetSetName("x", "allow", "egress", "ipv6"),
    n.peerSetName("x", "allow", "ingress", 0, "ipv4"),
    n.peerSetName("x", "allow", "egress", 0, "ipv4"),
    n.ipBlockSetName("x", "allow", "ingress", 0, 1, "ipv4"),
    n.namedPortSetName("x", "allow", "ingress", 0, "http", "tcp", 8080, "targets", "ipv6"),
  ];
  // Then each name is the written-down vector, twice in a row
  assert.deepEqual(got, VECTORS.map(([, name]) => name));
  assert.equal(n.podChainName("x", "a"), n.podChainName("x", "a"));
  // And each hash is hashName of the identity string
  for (const [identity, name] of VECTORS) assert.ok(name.endsWith(hashName(identity.replace(/ \(IPv6\)$/, ""))), identity);
});

test("names: every name fits the kernel's limits and is owned by us", () => {
  // Given the longest forms (IPv6 sets, 28-char chain names)
  for (const [, name] of VECTORS) {
    // Then chains fit iptables' 28 characters and sets ipset's 31, and ownership predicates claim them
    if (name.startsWith("KUBE-POD-FW-") || name.startsWith("KUBE-NWPLCY-")) {
      assert.ok(name.length <= 28, name);
      assert.ok(ownsChain(name), name);
    } else {
      assert.ok(name.length <= 31, name);
      assert.ok(ownsIpset(name), name);
    }
  }
});

test("names: identities never collide across namespace/name splits (upstream concatenates)", () => {
  // Given ns "a" + policy "bc" and ns "ab" + policy "c" (upstream's H("a"+"bc") = H("ab"+"c"))
  // Then our names differ
  assert.notEqual(n.policyChainName("a", "bc", "ingress"), n.policyChainName("ab", "c", "ingress"));
  assert.notEqual(n.podChainName("a", "bc"), n.podChainName("ab", "c"));
});
