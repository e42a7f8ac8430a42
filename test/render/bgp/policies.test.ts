/**
 * Defined sets, export/import policies and assignments as given/when/then stories
 * (kube-router-features.md §5.4, §8.5 bgp_policies_test vectors).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { BgpState } from "../../../src/render/bgp/index.ts";
import { annotated, input, node, render, service, slice, snapshot, tableText } from "./support.ts";

/** bgp_policies_test's cluster: node 10.0.0.2 with pod CIDR 172.20.0.0/24, a Service with ClusterIP 10.1.0.1 and external IP 1.1.1.1. */
const upstream = (annotations: Record<string, string> = {}) => snapshot({
  nodes: [annotated("node1", "10.0.0.2", "172.20.0.0/24", annotations)],
  services: [service("svc", "10.1.0.1", { externalIPs: ["1.1.1.1"] })],
  slices: [slice("svc", [["172.20.0.5", "node1"]])],
});
const HOST2 = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.0.0.2/24"] }], cniConf: { path: "/x" } };
const sets = (s: BgpState) => Object.fromEntries([...s.bgpDefinedSets.values()].map((d) => [d.name, d.type === "prefix" ? d.prefixes.map((p) => `${p.prefix} ${p.maskLengthMin}..${p.maskLengthMax}`) : d.list]));
const statements = (s: BgpState, policy: string) => s.bgpPolicies.get(policy)!.statements.map((st) => st.name);

test("given upstream's policy vector without external peers, then pod CIDR and VIP sets as upstream, export = pod CIDRs to iBGP, import rejects VIPs and default routes from the iBGP peers (allpeerset holds them; upstream's vector had no node in its lister)", () => {
  const { state } = render(input(upstream(), {}, HOST2));
  assert.deepEqual(sets(state), {
    allpeerset: ["10.0.0.2/32"],
    defaultroutedefinedset: ["0.0.0.0/0 0..0"],
    iBGPpeerset: ["10.0.0.2/32"],
    podcidrdefinedset: ["172.20.0.0/24 24..24"],
    servicevipsdefinedset: ["1.1.1.1/32 32..32", "10.1.0.1/32 32..32"],
  });
  assert.deepEqual(statements(state, "kube_router_export"), ["podcidrdefinedsetiBGPpeerset"]);
  assert.deepEqual(state.bgpPolicies.get("kube_router_export")!.statements[0]!.actions, { route: "accept" });
  assert.deepEqual(statements(state, "kube_router_import"), ["servicevipsdefinedsetallpeerset", "defaultroutedefinedsetallpeerset"]);
  assert.deepEqual(tableText(state, "bgpAssignments"), [
    "gobgp global policy export add kube_router_export default reject",
    "gobgp global policy import add kube_router_import default accept",
  ]);
});

test("given external peers 10.12.0.1 and .2, then externalpeerset/allpeerset hold them, export adds VIPs and pod CIDRs to external peers, import rejects VIPs and default routes from all peers", () => {
  const { state } = render(input(upstream(), { peerRouterIps: ["10.12.0.1", "10.12.0.2"], peerRouterAsns: [65000, 65000] }, HOST2));
  assert.deepEqual(sets(state)["externalpeerset"], ["10.12.0.1/32", "10.12.0.2/32"]);
  assert.deepEqual(sets(state)["allpeerset"], ["10.0.0.2/32", "10.12.0.1/32", "10.12.0.2/32"]);
  assert.deepEqual(statements(state, "kube_router_export"), ["podcidrdefinedsetiBGPpeerset", "servicevipsdefinedsetexternalpeerset", "podcidrdefinedsetexternalpeerset"]);
  assert.deepEqual(statements(state, "kube_router_import"), ["servicevipsdefinedsetallpeerset", "defaultroutedefinedsetallpeerset"]);
});

test("given --advertise-pod-cidr=false, then pod CIDRs are not exported to external peers (still to iBGP)", () => {
  const { state } = render(input(upstream(), { advertisePodCidr: false, peerRouterIps: ["10.12.0.1"], peerRouterAsns: [65000] }, HOST2));
  assert.deepEqual(statements(state, "kube_router_export"), ["podcidrdefinedsetiBGPpeerset", "servicevipsdefinedsetexternalpeerset"]);
});

test("given --override-nexthop, then external statements set next-hop self; the iBGP statement does not", () => {
  const { state } = render(input(upstream(), { overrideNexthop: true, peerRouterIps: ["10.12.0.1"], peerRouterAsns: [65000] }, HOST2));
  const [ibgp, vips, pods] = state.bgpPolicies.get("kube_router_export")!.statements;
  assert.equal(ibgp!.actions.nexthopSelf, undefined);
  assert.equal(vips!.actions.nexthopSelf, true);
  assert.equal(pods!.actions.nexthopSelf, true);
});

test("given customimportreject, then its CIDRs (host bits cleared) match up to /32 and one more import statement rejects them from all peers", () => {
  const { state } = render(input(upstream({ "kube-router.io/node.bgp.customimportreject": "192.168.11.0/24,192.168.13.0/24,192.168.12.0/25, 10.1.0.0/16" }), {}, HOST2));
  assert.deepEqual(sets(state)["customimportrejectdefinedset"], ["10.1.0.0/16 16..32", "192.168.11.0/24 24..32", "192.168.12.0/25 25..32", "192.168.13.0/24 24..32"]);
  assert.deepEqual(statements(state, "kube_router_import"), ["servicevipsdefinedsetallpeerset", "defaultroutedefinedsetallpeerset", "customimportrejectdefinedsetallpeerset"]);
});

test("given path prepend 65100 × 5 and communities no-export and 64512:100, then both go on every external statement (VIPs and pod CIDRs), never on the iBGP one", () => {
  const { state } = render(input(upstream({
    "kube-router.io/path-prepend.as": "65100", "kube-router.io/path-prepend.repeat-n": "5",
    "kube-router.io/node.bgp.communities": "no-export, 64512:100, 4294967041",
  }), { peerRouterIps: ["10.12.0.1"], peerRouterAsns: [65000] }, HOST2));
  const [ibgp, vips, pods] = state.bgpPolicies.get("kube_router_export")!.statements;
  assert.deepEqual(ibgp!.actions, { route: "accept" });
  // 4294967041 = 0xFFFFFF01 = no-export: deduplicated
  const want = { route: "accept", community: { type: "add", communities: ["65535:65281", "64512:100"] }, asPrepend: { asn: 65100, repeat: 5 } };
  assert.deepEqual(vips!.actions, want);
  assert.deepEqual(pods!.actions, want);
  assert.ok(tableText(state, "bgpPolicies").includes("gobgp policy statement servicevipsdefinedsetexternalpeerset add action as-prepend 65100 5"));
  assert.ok(tableText(state, "bgpPolicies").includes("gobgp policy statement podcidrdefinedsetexternalpeerset add action community add 65535:65281 64512:100"));
});

test("given only one of the prepend annotations, then no prepend and one warning (upstream refuses to start BGP)", () => {
  const { state, warnings } = render(input(upstream({ "kube-router.io/path-prepend.as": "65100" }), { peerRouterIps: ["10.12.0.1"], peerRouterAsns: [65000] }, HOST2));
  assert.equal(state.bgpPolicies.get("kube_router_export")!.statements[1]!.actions.asPrepend, undefined);
  assert.deepEqual(warnings, ["Node node1: metadata.annotations[kube-router.io/path-prepend.as]: set without kube-router.io/path-prepend.repeat-n; no AS-path prepend"]);
});

test("given the import policy, then it rejects every VIP of the cluster: cluster, external and LB IPs of every Service, advertised or not", () => {
  const svcs = [
    service("a", "10.96.0.1", { externalIPs: ["1.1.1.1"], type: "LoadBalancer", loadBalancerIngress: [{ ip: "2.2.2.2" }, { hostname: "x.example" }] }),
    service("b", "10.96.0.2", { internalTrafficPolicy: "Local" }),
  ];
  const { state } = render(input(snapshot({ services: svcs }), {}));
  assert.equal(state.bgpPaths.size, 1); // nothing advertised: flags off
  assert.deepEqual(sets(state)["servicevipsdefinedset"], ["1.1.1.1/32 32..32", "10.96.0.1/32 32..32", "10.96.0.2/32 32..32", "2.2.2.2/32 32..32"]);
});

test("given no Services, then no VIP set and no statement referring to it (never an empty set in a match)", () => {
  const { state } = render(input(snapshot({}), { peerRouterIps: ["10.12.0.1"], peerRouterAsns: [65000] }));
  assert.ok(!state.bgpDefinedSets.has("prefix/servicevipsdefinedset"));
  for (const p of state.bgpPolicies.values()) for (const st of p.statements) {
    assert.ok(state.bgpDefinedSets.has(`prefix/${st.conditions.prefixSet!.name}`), st.name);
    assert.ok(state.bgpDefinedSets.has(`neighbor/${st.conditions.neighborSet!.name}`), st.name);
  }
});

test("given dual-stack with an IPv6 external peer and IPv4 node sessions, then v6 sets exist and v6 prefixes are paired with the IPv4 iBGP set too", () => {
  const n1 = node("node1", "10.250.0.11", "10.244.1.0/24", { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }, { type: "InternalIP", address: "fd00::11" }] });
  const svc = service("web", "10.96.0.2", { clusterIPs: ["10.96.0.2", "fd00:96::2"] });
  const { state } = render(input(snapshot({ nodes: [n1, node("node2", "10.250.0.12", "10.244.2.0/24")], services: [svc] }), { enableIpv6: true, peerRouterIps: ["fd00::1"], peerRouterAsns: [65000] }));
  assert.deepEqual(sets(state)["externalpeersetv6"], ["fd00::1/128"]);
  assert.deepEqual(sets(state)["allpeersetv6"], ["fd00::1/128"]);
  assert.deepEqual(sets(state)["servicevipsdefinedsetv6"], ["fd00:96::2/128 128..128"]);
  assert.deepEqual(statements(state, "kube_router_export"), [
    "podcidrdefinedsetiBGPpeerset", "podcidrdefinedsetv6iBGPpeerset",
    "servicevipsdefinedsetexternalpeersetv6", "servicevipsdefinedsetv6externalpeersetv6",
    "podcidrdefinedsetexternalpeersetv6", "podcidrdefinedsetv6externalpeersetv6",
  ]);
  assert.deepEqual(statements(state, "kube_router_import"), [
    "servicevipsdefinedsetallpeerset", "servicevipsdefinedsetv6allpeerset", "defaultroutedefinedsetallpeerset", "defaultroutedefinedsetv6allpeerset",
    "servicevipsdefinedsetallpeersetv6", "servicevipsdefinedsetv6allpeersetv6", "defaultroutedefinedsetallpeersetv6", "defaultroutedefinedsetv6allpeersetv6",
  ]);
  assert.deepEqual(state.bgpPeers.get("fd00::1")?.localAddress, "fd00::11");
  assert.deepEqual(state.bgpPeers.get("fd00::1")?.families, ["ipv4-unicast", "ipv6-unicast"]);
});
