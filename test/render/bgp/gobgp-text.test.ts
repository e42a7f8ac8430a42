/**
 * The `gobgp` CLI printers of BGP changes (what --dry-run and golden files show), as
 * given/when/then stories over hand-built changes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BgpDefinedSet, BgpPeer, BgpPolicy } from "../../../src/model/bgp.ts";
import { assignmentText, definedSetText, globalText, pathText, peerText, policyText } from "../../../src/render/bgp/index.ts";

const peer: BgpPeer = {
  kind: "external", neighborAddress: "192.168.1.1", peerAsn: 65000, port: 179, localAddress: "10.0.0.1", password: "s3cret",
  holdTime: 90, keepaliveInterval: 30, connectRetry: 5, families: ["ipv4-unicast", "ipv6-unicast"], ebgpMultihopTtl: 4,
  gracefulRestart: { restartTime: 90, deferralTime: 360, localRestarting: true },
  bfd: { port: 3784, detectionMultiplier: 3, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 1_000_000 },
};

test("given a global config create, update and delete, then `gobgp global as … router-id …`, an update restarts it, a delete is `global del all`", () => {
  const g = { asn: 64512, routerId: "10.0.0.1", listenPort: 179, listenAddresses: ["10.0.0.1", "fd00::1"] };
  assert.deepEqual(globalText({ op: "create", key: "global", after: g }), ["gobgp global as 64512 router-id 10.0.0.1 listen-port 179 listen-addresses 10.0.0.1 fd00::1"]);
  assert.deepEqual(globalText({ op: "update", key: "global", before: g, after: { ...g, asn: 65000 } }), ["gobgp global del all", "gobgp global as 65000 router-id 10.0.0.1 listen-port 179 listen-addresses 10.0.0.1 fd00::1"]);
  assert.deepEqual(globalText({ op: "delete", key: "global", before: g }), ["gobgp global del all"]);
});

test("given a peer with every option, then the CLI part is runnable, the rest is a shell comment, and the password is never printed", () => {
  const [line] = peerText({ op: "create", key: peer.neighborAddress, after: peer });
  assert.equal(line, "gobgp neighbor add 192.168.1.1 as 65000 family ipv4-unicast,ipv6-unicast ebgp-multihop-ttl 4 # kind external port 179 local-address 10.0.0.1 hold-time 90 keepalive 30 connect-retry 5 password <set> graceful-restart 90/360 bfd port 3784 multiplier 3 tx 1000000us rx 1000000us");
  assert.ok(!line!.includes("s3cret"));
  assert.deepEqual(peerText({ op: "update", key: peer.neighborAddress, before: peer, after: { ...peer, peerAsn: 65001 } })[0]!.split(" #")[0], "gobgp neighbor update 192.168.1.1 as 65001 family ipv4-unicast,ipv6-unicast ebgp-multihop-ttl 4");
  assert.deepEqual(peerText({ op: "delete", key: peer.neighborAddress, before: peer }), ["gobgp neighbor del 192.168.1.1"]);
});

test("given paths, then `global rib add <prefix> nexthop <ip> [community …] -a <afi>` and `global rib del <prefix> -a <afi>`", () => {
  const p = { family: "ipv4" as const, prefix: "10.244.1.0/24", nextHop: "10.0.0.1", communities: ["64512:100", "65535:65281"] };
  assert.deepEqual(pathText({ op: "create", key: "k", after: p }), ["gobgp global rib add 10.244.1.0/24 nexthop 10.0.0.1 community 64512:100,65535:65281 -a ipv4"]);
  const v6 = { family: "ipv6" as const, prefix: "fd00:244::/64", nextHop: "fd00::1", communities: [] };
  assert.deepEqual(pathText({ op: "create", key: "k", after: v6 }), ["gobgp global rib add fd00:244::/64 nexthop fd00::1 -a ipv6"]);
  assert.deepEqual(pathText({ op: "delete", key: "k", before: v6 }), ["gobgp global rib del fd00:244::/64 -a ipv6"]);
});

test("given defined sets, then one `policy prefix|neighbor add` per member; an update adds and deletes members only; a delete drops the set", () => {
  const ps: BgpDefinedSet = { type: "prefix", name: "servicevipsdefinedset", list: [], prefixes: [{ prefix: "10.96.0.1/32", maskLengthMin: 32, maskLengthMax: 32 }, { prefix: "10.96.0.2/32", maskLengthMin: 32, maskLengthMax: 32 }] };
  assert.deepEqual(definedSetText({ op: "create", key: "k", after: ps }), [
    "gobgp policy prefix add servicevipsdefinedset 10.96.0.1/32 32..32",
    "gobgp policy prefix add servicevipsdefinedset 10.96.0.2/32 32..32",
  ]);
  const next = { ...ps, prefixes: [ps.prefixes[1]!, { prefix: "10.96.0.3/32", maskLengthMin: 32, maskLengthMax: 32 }] };
  assert.deepEqual(definedSetText({ op: "update", key: "k", before: ps, after: next }), [
    "gobgp policy prefix add servicevipsdefinedset 10.96.0.3/32 32..32",
    "gobgp policy prefix del servicevipsdefinedset 10.96.0.1/32 32..32",
  ]);
  const ns: BgpDefinedSet = { type: "neighbor", name: "iBGPpeerset", list: ["10.0.0.1/32"], prefixes: [] };
  assert.deepEqual(definedSetText({ op: "create", key: "k", after: ns }), ["gobgp policy neighbor add iBGPpeerset 10.0.0.1/32"]);
  assert.deepEqual(definedSetText({ op: "delete", key: "k", before: ns }), ["gobgp policy neighbor del iBGPpeerset"]);
  const cs: BgpDefinedSet = { type: "community", name: "c", list: ["65535:65281"], prefixes: [] };
  assert.deepEqual(definedSetText({ op: "create", key: "k", after: cs }), ["gobgp policy community add c 65535:65281"]);
});

const st = (name: string, route: "accept" | "reject", extra = {}) => ({ name, conditions: { prefixSet: { name: "p", match: "any" as const }, neighborSet: { name: "n", match: "invert" as const } }, actions: { route, ...extra } });

test("given a policy, then its statements (conditions, actions) then `policy add <name> <statements…>`", () => {
  const pol: BgpPolicy = { name: "kube_router_export", statements: [st("s1", "accept", { community: { type: "add", communities: ["65535:65281"] }, asPrepend: { asn: 65100, repeat: 2 }, nexthopSelf: true })] };
  assert.deepEqual(policyText({ op: "create", key: "k", after: pol }), [
    "gobgp policy statement add s1",
    "gobgp policy statement s1 add condition prefix p",
    "gobgp policy statement s1 add condition neighbor n invert",
    "gobgp policy statement s1 add action community add 65535:65281",
    "gobgp policy statement s1 add action as-prepend 65100 2",
    "gobgp policy statement s1 add action next-hop self",
    "gobgp policy statement s1 add action accept",
    "gobgp policy add kube_router_export s1",
  ]);
  assert.deepEqual(policyText({ op: "delete", key: "k", before: pol }), ["gobgp policy del kube_router_export", "gobgp policy statement del s1"]);
});

test("given a policy update, then dropped and changed statements leave the policy, changed and new ones are (re)created and appended; nothing else is touched", () => {
  const before: BgpPolicy = { name: "kube_router_import", statements: [st("a", "reject"), st("b", "reject"), st("k", "reject")] };
  const after: BgpPolicy = { name: "kube_router_import", statements: [st("k", "reject"), st("b", "accept"), st("c", "reject")] };
  assert.deepEqual(policyText({ op: "update", key: "k", before, after }), [
    "gobgp policy del kube_router_import a b",
    "gobgp policy statement del a",
    "gobgp policy statement del b",
    "gobgp policy statement add b",
    "gobgp policy statement b add condition prefix p",
    "gobgp policy statement b add condition neighbor n invert",
    "gobgp policy statement b add action accept",
    "gobgp policy statement add c",
    "gobgp policy statement c add condition prefix p",
    "gobgp policy statement c add condition neighbor n invert",
    "gobgp policy statement c add action reject",
    "gobgp policy add kube_router_import b c",
  ]);
});

test("given assignments, then `global policy <dir> add|set <policies> default <action>` and `global policy <dir> del`", () => {
  const a = { direction: "export" as const, policies: ["kube_router_export"], defaultAction: "reject" as const };
  assert.deepEqual(assignmentText({ op: "create", key: "export", after: a }), ["gobgp global policy export add kube_router_export default reject"]);
  assert.deepEqual(assignmentText({ op: "update", key: "export", before: a, after: { ...a, defaultAction: "accept" } }), ["gobgp global policy export set kube_router_export default accept"]);
  assert.deepEqual(assignmentText({ op: "delete", key: "export", before: a }), ["gobgp global policy export del"]);
});
