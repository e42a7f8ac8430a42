/**
 * BGP peers, global config and router ID as given/when/then stories
 * (kube-router-features.md §5.2–5.3, §8.5 network_routes_controller_test, bgp_peers_test).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderBgp, routerId } from "../../../src/render/bgp/index.ts";
import { HOST, annotated, input, node, render, snapshot, tableText } from "./support.ts";

const three = () => [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "10.250.0.12", "10.244.2.0/24"), node("node3", "10.250.0.13", "10.244.3.0/24")];

test("given three nodes in full mesh, when node1 renders, then it peers with the two others at their primary IP, cluster ASN 64512, port --bgp-port, connect-retry 5", () => {
  const { state, warnings } = render(input(snapshot({ nodes: three() })));
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12", "10.250.0.13"]);
  assert.deepEqual(state.bgpPeers.get("10.250.0.12"), {
    kind: "ibgp", neighborAddress: "10.250.0.12", peerAsn: 64512, port: 179, localAddress: "10.250.0.11",
    holdTime: 90, keepaliveInterval: 30, connectRetry: 5, families: ["ipv4-unicast"],
  });
  assert.deepEqual(state.bgpGlobal.get("global"), { asn: 64512, routerId: "10.250.0.11", listenPort: 179, listenAddresses: ["10.250.0.11"] });
  assert.deepEqual(warnings, []);
});

test("given --cluster-asn and --bgp-port, then the global config and every iBGP peer use them", () => {
  const { state } = render(input(snapshot({ nodes: three() }), { clusterAsn: 65001, bgpPort: 1790 }));
  assert.deepEqual(tableText(state, "bgpGlobal"), ["gobgp global as 65001 router-id 10.250.0.11 listen-port 1790 listen-addresses 10.250.0.11"]);
  for (const p of state.bgpPeers.values()) { assert.equal(p.peerAsn, 65001); assert.equal(p.port, 1790); }
});

test("given --enable-ibgp=false, then no node is a peer and no iBGP sets or statements exist", () => {
  const { state } = render(input(snapshot({ nodes: three() }), { enableIbgp: false }));
  assert.equal(state.bgpPeers.size, 0);
  assert.ok(!state.bgpDefinedSets.has("neighbor/iBGPpeerset"));
  assert.deepEqual(state.bgpPolicies.get("kube_router_export")?.statements, []);
});

test("given --nodes-full-mesh=false, then the node ASN comes from node.asn and only nodes with the same ASN are peers", () => {
  const nodes = [
    annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/node.asn": "65010" }),
    annotated("node2", "10.250.0.12", "10.244.2.0/24", { "kube-router.io/node.asn": "65010" }),
    annotated("node3", "10.250.0.13", "10.244.3.0/24", { "kube-router.io/node.asn": "65020" }),
    node("node4", "10.250.0.14", "10.244.4.0/24"),
  ];
  const { state } = render(input(snapshot({ nodes }), { nodesFullMesh: false }));
  assert.equal(state.bgpGlobal.get("global")?.asn, 65010);
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12"]);
  assert.equal(state.bgpPeers.get("10.250.0.12")?.peerAsn, 65010);
});

test("given --nodes-full-mesh=false and node.asn in hex (Go base 0), then it is read", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/node.asn": "0xFDEA" })];
  assert.equal(render(input(snapshot({ nodes }), { nodesFullMesh: false })).state.bgpGlobal.get("global")?.asn, 65002);
});

test("given --nodes-full-mesh=false and no node.asn on this node, then the BGP render fails with one error naming the annotation", () => {
  const r = renderBgp(input(snapshot({ nodes: three() }), { nodesFullMesh: false }));
  assert.ok("error" in r);
  assert.match(r.error, /Node node1: metadata\.annotations\[kube-router\.io\/node\.asn\]: a usable ASN is required/);
});

test("given node1 is a route-reflector server (cluster ID as integer) and node2 a client, then node2 is a route-reflector client with cluster ID 0.0.0.42 and node3 a plain iBGP peer", () => {
  const nodes = [
    annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/rr.server": "42" }),
    annotated("node2", "10.250.0.12", "10.244.2.0/24", { "kube-router.io/rr.client": "42" }),
    node("node3", "10.250.0.13", "10.244.3.0/24"),
  ];
  const { state } = render(input(snapshot({ nodes })));
  assert.equal(state.bgpPeers.get("10.250.0.12")?.routeReflectorClusterId, "0.0.0.42");
  assert.equal(state.bgpPeers.get("10.250.0.12")?.kind, "rr");
  assert.equal(state.bgpPeers.get("10.250.0.13")?.routeReflectorClusterId, undefined);
  assert.equal(state.bgpPeers.get("10.250.0.13")?.kind, "ibgp");
  assert.deepEqual(tableText(state, "bgpPeers")[0], "gobgp neighbor add 10.250.0.12 as 64512 family ipv4-unicast route-reflector-client 0.0.0.42 # kind rr port 179 local-address 10.250.0.11 hold-time 90 keepalive 30 connect-retry 5");
});

test("given a route-reflector server, then it renders no defined sets, policies or assignments (upstream skips policies on rr.server)", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/rr.server": "10.0.0.1" }), node("node2", "10.250.0.12", "10.244.2.0/24")];
  const { state } = render(input(snapshot({ nodes })));
  assert.equal(state.bgpDefinedSets.size + state.bgpPolicies.size + state.bgpAssignments.size, 0);
  assert.equal(state.bgpPaths.size, 1);
});

test("given node1 is a route-reflector client (IPv4 cluster ID), then it peers only with route-reflector servers", () => {
  const nodes = [
    annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/rr.client": "10.0.0.1" }),
    annotated("node2", "10.250.0.12", "10.244.2.0/24", { "kube-router.io/rr.server": "10.0.0.1" }),
    annotated("node3", "10.250.0.13", "10.244.3.0/24", { "kube-router.io/rr.client": "10.0.0.1" }),
  ];
  const { state } = render(input(snapshot({ nodes })));
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12"]);
  assert.equal(state.bgpPeers.get("10.250.0.12")?.kind, "rr");
  assert.equal(state.bgpPeers.get("10.250.0.12")?.routeReflectorClusterId, undefined);
});

test("given a node whose primary IP is of another family, then it is not an iBGP peer", () => {
  const nodes = [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "fd00::12", "fd00:244:2::/64")];
  const { state } = render(input(snapshot({ nodes }), { enableIpv6: true }));
  assert.equal(state.bgpPeers.size, 0);
});

test("given external peers from flags with ports, base64 passwords and multihop TTL 3, then each is an eBGP peer with hold time --bgp-holdtime and a decoded password", () => {
  const { state, warnings } = render(input(snapshot({ nodes: three() }), {
    peerRouterIps: ["192.168.1.1", "192.168.1.2"], peerRouterAsns: [65000, 65001], peerRouterPorts: [1179, 0],
    peerRouterPasswords: ["c2VjcmV0", ""], peerRouterMultihopTtl: 3, bgpHoldtime: 30_000,
  }));
  assert.deepEqual(warnings, []);
  assert.deepEqual(state.bgpPeers.get("192.168.1.1"), {
    kind: "external", neighborAddress: "192.168.1.1", peerAsn: 65000, port: 1179, localAddress: "10.250.0.11", password: "secret",
    ebgpMultihopTtl: 3, holdTime: 30, keepaliveInterval: 10, connectRetry: 5, families: ["ipv4-unicast"],
  });
  assert.equal(state.bgpPeers.get("192.168.1.2")?.port, 179);
  assert.equal(state.bgpPeers.get("192.168.1.2")?.password, undefined);
  assert.equal(tableText(state, "bgpPeers")[2], "gobgp neighbor add 192.168.1.1 as 65000 family ipv4-unicast ebgp-multihop-ttl 3 # kind external port 1179 local-address 10.250.0.11 hold-time 30 keepalive 10 connect-retry 5 password <set>");
});

test("given multihop TTL 1, then no eBGP multihop is set (applied only from 2)", () => {
  const { state } = render(input(snapshot({ nodes: three() }), { peerRouterIps: ["192.168.1.1"], peerRouterAsns: [65000], peerRouterMultihopTtl: 1 }));
  assert.equal(state.bgpPeers.get("192.168.1.1")?.ebgpMultihopTtl, undefined);
});

test("given --peer-router-passwords-file and its content as a host fact, then the passwords come from it; without the content, one warning and no passwords", () => {
  const cfg = { peerRouterIps: ["192.168.1.1", "192.168.1.2"], peerRouterAsns: [65000, 65000], peerRouterPasswordsFile: "/etc/kr/pw" };
  const withFile = render(input(snapshot({ nodes: three() }), cfg, { ...HOST, peerRouterPasswordsFile: { path: "/etc/kr/pw", content: ",c2VjcmV0\n" } }));
  assert.equal(withFile.state.bgpPeers.get("192.168.1.1")?.password, undefined);
  assert.equal(withFile.state.bgpPeers.get("192.168.1.2")?.password, "secret");
  const without = render(input(snapshot({ nodes: three() }), cfg));
  assert.equal(without.state.bgpPeers.size, 4);
  assert.deepEqual(without.warnings, ["bgp: --peer-router-passwords-file /etc/kr/pw: content not available (unreadable, or not passed in as a host fact); peers configured without passwords"]);
});

test("given --peer-router-passwords and a passwords file, then the flag wins", () => {
  const { state } = render(input(snapshot({ nodes: three() }), { peerRouterIps: ["192.168.1.1"], peerRouterAsns: [65000], peerRouterPasswords: ["ZmxhZw=="], peerRouterPasswordsFile: "/pw" },
    { ...HOST, peerRouterPasswordsFile: { path: "/pw", content: "c2VjcmV0" } }));
  assert.equal(state.bgpPeers.get("192.168.1.1")?.password, "flag");
});

test("given --enable-bfd, then flag peers get BFD with µs intervals; node (annotation) peers do not", () => {
  const cfg = { enableBfd: true, bfdDesiredMinTxInterval: 300, bfdRequiredMinRxInterval: 200, bfdDetectionMultiplier: 5 };
  const flags = render(input(snapshot({ nodes: three() }), { ...cfg, peerRouterIps: ["192.168.1.1"], peerRouterAsns: [65000] }));
  assert.deepEqual(flags.state.bgpPeers.get("192.168.1.1")?.bfd, { port: 3784, detectionMultiplier: 5, desiredMinTxInterval: 300_000, requiredMinRxInterval: 200_000 });
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/peers": "- remoteip: 192.168.1.9\n  remoteasn: 65009\n" })];
  assert.equal(render(input(snapshot({ nodes }), cfg)).state.bgpPeers.get("192.168.1.9")?.bfd, undefined);
});

test("given --bgp-graceful-restart, then the global config and every peer carry restart/deferral seconds with localRestarting; with BFD too, one warning", () => {
  const { state, warnings } = render(input(snapshot({ nodes: three() }), {
    bgpGracefulRestart: true, bgpGracefulRestartTime: 60_000, bgpGracefulRestartDeferralTime: 120_000,
    enableBfd: true, peerRouterIps: ["192.168.1.1"], peerRouterAsns: [65000],
  }));
  const gr = { restartTime: 60, deferralTime: 120, localRestarting: true };
  assert.deepEqual(state.bgpGlobal.get("global")?.gracefulRestart, gr);
  for (const p of state.bgpPeers.values()) assert.deepEqual(p.gracefulRestart, gr);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /BFD and graceful restart/);
});

test("given external peers in the YAML annotation (mixed localip, password, port, bfd), then each is a peer; flags win over the annotation", () => {
  const yaml = [
    "- remoteip: 192.168.1.1", "  remoteasn: 65000",
    "- remoteip: 192.168.1.2", "  remoteasn: 65001", "  localip: 10.250.0.99", "  password: c2VjcmV0", "  port: 1179",
    "  bfd: {enabled: true, port: 3785, detection_multiplier: 4, desired_min_tx_interval: 100, required_min_rx_interval: 150}",
  ].join("\n");
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/peers": yaml }), node("node2", "10.250.0.12", "10.244.2.0/24")];
  const { state, warnings } = render(input(snapshot({ nodes })));
  assert.deepEqual(warnings, []);
  assert.deepEqual(state.bgpPeers.get("192.168.1.2"), {
    kind: "external", neighborAddress: "192.168.1.2", peerAsn: 65001, port: 1179, localAddress: "10.250.0.99", password: "secret",
    holdTime: 90, keepaliveInterval: 30, connectRetry: 5, families: ["ipv4-unicast"],
    bfd: { port: 3785, detectionMultiplier: 4, desiredMinTxInterval: 100_000, requiredMinRxInterval: 150_000 },
  });
  assert.equal(state.bgpPeers.get("192.168.1.1")?.localAddress, "10.250.0.11");
  const flagged = render(input(snapshot({ nodes }), { peerRouterIps: ["192.168.9.9"], peerRouterAsns: [65009] }));
  assert.deepEqual([...flagged.state.bgpPeers.keys()], ["10.250.0.12", "192.168.9.9"]);
});

test("given the deprecated per-field peer annotations, then peers come from them (blank local IP = node IP)", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", {
    "kube-router.io/peer.ips": "192.168.1.1,192.168.1.2", "kube-router.io/peer.asns": "65000,65001",
    "kube-router.io/peer.passwords": ",c2VjcmV0", "kube-router.io/peer.localips": "10.250.0.98,", "kube-router.io/peer.ports": "1179,",
  })];
  const { state, warnings } = render(input(snapshot({ nodes })));
  assert.deepEqual(warnings, []);
  const [a, b] = [state.bgpPeers.get("192.168.1.1"), state.bgpPeers.get("192.168.1.2")];
  assert.deepEqual([a?.peerAsn, a?.port, a?.localAddress, a?.password], [65000, 1179, "10.250.0.98", undefined]);
  assert.deepEqual([b?.peerAsn, b?.port, b?.localAddress, b?.password], [65001, 179, "10.250.0.11", "secret"]);
});

test("given kube-router.io/bgp-local-addresses, then gobgpd listens on those addresses (sorted), else on the node IP per family", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/bgp-local-addresses": "10.250.0.11, 127.0.0.1" })];
  const host = { ...HOST, interfaces: [...HOST.interfaces] };
  const { state, warnings } = render(input(snapshot({ nodes }), {}, host));
  assert.deepEqual(state.bgpGlobal.get("global")?.listenAddresses, ["10.250.0.11", "127.0.0.1"]);
  assert.deepEqual(warnings, []);
  const missing = render(input(snapshot({ nodes: [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/bgp-local-addresses": "10.9.9.9" })] })));
  assert.deepEqual(missing.warnings, ["bgp: Node node1: metadata.annotations[kube-router.io/bgp-local-addresses]: 10.9.9.9 is not an address of this host; gobgpd cannot listen on it"]);
});

test("given --router-id, then: an IPv4 is used as is; empty = primary IPv4; generate = FNV-1a of the primary IP (deterministic, 16-byte Go form)", () => {
  const warnings: string[] = [];
  const ctx = (id: string, ip = "10.250.0.11", fam: "ipv4" | "ipv6" = "ipv4") =>
    ({ config: { routerId: id } as never, primaryIp: ip, primaryFamily: fam, warn: (m: string) => warnings.push(m) });
  assert.equal(routerId(ctx("1.2.3.4")), "1.2.3.4");
  assert.equal(routerId(ctx("")), "10.250.0.11");
  const g = routerId(ctx("generate"));
  assert.match(g, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(routerId(ctx("generate")), g);
  assert.notEqual(routerId(ctx("generate", "10.250.0.12")), g);
  assert.deepEqual(warnings, []);
  // FNV-1a 32 of ::ffff:10.250.0.11 (Go's net.ParseIP form), as a dotted quad
  let h = 0x811c9dc5;
  for (const b of [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 250, 0, 11]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  assert.equal(g, [h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].join("."));
});

test("given an IPv6 primary IP and no --router-id, then the generated ID is used with one warning (upstream refuses to start)", () => {
  const nodes = [node("node1", "fd00::11", "fd00:244:1::/64")];
  const { state, warnings } = render(input(snapshot({ nodes }), { enableIpv4: false, enableIpv6: true }));
  assert.match(state.bgpGlobal.get("global")!.routerId, /^\d+\.\d+\.\d+\.\d+$/);
  assert.deepEqual(warnings, ["bgp: --router-id: required when the primary node IP (fd00::11) is IPv6; using the generated ID"]);
});

test("given the node is not in the snapshot, then the BGP render fails with one error (observed BGP state is kept)", () => {
  const r = renderBgp({ ...input(snapshot({ nodes: three() })), nodeName: "ghost" });
  assert.ok("error" in r);
  assert.equal(r.error, "bgp: Node ghost not found in the cluster");
});
