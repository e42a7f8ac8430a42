/**
 * The overlay renderer (src/render/overlay.ts) and the pure derivations it uses: which peers
 * it covers (subnet vs full), the layout per encapsulation (ipip, fou, vxlan), dual-stack,
 * MTU, warnings, conflicts, bad flags, and that names and MACs are stable hashes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tunnelName } from "../../src/model/names.ts";
import { encapOverhead, overlayMtu, vtepAddress, vtepLinkLocal, vtepMac } from "../../src/model/overlay.ts";
import { deepEqual } from "../../src/model/table.ts";
import { type OverlayOutput, checkOverlayConfig, encapPort, renderOverlay } from "../../src/render/overlay.ts";
import { mergeOverlay } from "../../src/render/overlay-merge.ts";
import { cfg, fourNodes, host, node, snapshot } from "./overlay-fixture.ts";
import type { OverlayConfig } from "../../src/render/overlay.ts";
import type { NodeInfo } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { routerController } from "../../src/render/router.ts";

function render(nodes: readonly NodeInfo[], c: Partial<OverlayConfig> = {}, self = "node1", mtu = 1500): OverlayOutput {
  const r = renderOverlay({ snapshot: snapshot(nodes), config: cfg(c), host: host(mtu), nodeName: self });
  if ("error" in r) throw new Error(r.error);
  return r.ok;
}
const keys = <T>(m: ReadonlyMap<string, T>): string[] => [...m.keys()];

test("§8.5 linux_tunnels_test.go: tunnel names follow upstream's recipe (10.0.0.1 ⇒ tun-e443169117a, 100.200.300.400 ⇒ tun-9033d7906c7, 2001:db8:42:2::/64 ⇒ tun-ba56986ef05) and fit IFNAMSIZ", () => {
  assert.equal(tunnelName("10.0.0.1"), "tun-e443169117a");
  assert.equal(tunnelName("100.200.300.400"), "tun-9033d7906c7");
  assert.equal(tunnelName("2001:db8:42:2::/64"), "tun-ba56986ef05");
  assert.equal(tunnelName("10.0.0.1").length, 15);
});

test("given a node name, its VTEP MAC is stable, locally administered and unicast, and differs per family and node", () => {
  const m = vtepMac("node1", "ipv4");
  assert.equal(m, vtepMac("node1", "ipv4"), "same input, same MAC");
  assert.match(m, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const first = parseInt(m.slice(0, 2), 16);
  assert.equal(first & 0x02, 0x02, "locally administered bit set");
  assert.equal(first & 0x01, 0, "multicast bit clear");
  assert.notEqual(vtepMac("node1", "ipv6"), m);
  assert.notEqual(vtepMac("node2", "ipv4"), m);
  for (let i = 0; i < 200; i++) assert.equal(parseInt(vtepMac(`n${i}`, "ipv4").slice(0, 2), 16) & 0x03, 0x02);
});

test("VTEP addresses: IPv4 is the pod CIDR's network address, IPv6 the EUI-64 link-local of the MAC", () => {
  assert.equal(vtepAddress("10.244.3.0/24"), "10.244.3.0");
  assert.equal(vtepAddress("10.244.3.77/24"), "10.244.3.0");
  assert.equal(vtepAddress("bogus"), undefined);
  // The kernel gives a device with MAC 5a:ed:ba:46:f3:fc exactly this address (seen on 6.18).
  assert.equal(vtepLinkLocal("5a:ed:ba:46:f3:fc"), "fe80::58ed:baff:fe46:f3fc");
  assert.equal(vtepLinkLocal("02:00:00:00:00:01"), "fe80::ff:fe00:1", "canonical text, as `ip -j neigh` prints it");
});

test("encapsulation overhead per encap and underlay family, and the MTU that fits every family in use", () => {
  const table = (["ipip", "fou", "vxlan"] as const).map((e) => [e, encapOverhead(e, "ipv4"), encapOverhead(e, "ipv6")]);
  assert.deepEqual(table, [["ipip", 20, 48], ["fou", 32, 60], ["vxlan", 50, 70]], "IPv6 tunnels: + the 8-byte encapsulation limit option of ip6tnl (measured in the VM tier)");
  assert.equal(overlayMtu(1500, "vxlan", ["ipv4"]), 1450);
  assert.equal(overlayMtu(1500, "vxlan", ["ipv4", "ipv6"]), 1430);
  assert.equal(overlayMtu(9000, "ipip", ["ipv4"]), 8980);
  assert.equal(overlayMtu(1500, "fou", ["ipv4"]), 1468);
  assert.equal(overlayMtu(1500, "ipip", []), 1500);
  assert.equal(overlayMtu(80, "vxlan", ["ipv6"]), 68, "never below the IPv4 minimum");
});

test("given 4 nodes on 2 subnets and vxlan/subnet, when node1 renders, then only nodes 3 and 4 get FDB, neighbour and onlink routes on one kube-vxlan", () => {
  const o = render(fourNodes());
  const mac3 = vtepMac("node3", "ipv4");
  const mac4 = vtepMac("node4", "ipv4");
  assert.deepEqual([...o.overlayPeers], ["ipv4/node3", "ipv4/node4"]);
  assert.deepEqual([...o.links.values()], [{
    name: "kube-vxlan", kind: "vxlan", up: true, mtu: 1450, address: vtepMac("node1", "ipv4"),
    vxlan: { id: 1, local: "10.250.1.11", dev: "eth0", port: 4789, learning: false },
  }]);
  assert.deepEqual([...o.addresses.values()], [{ dev: "kube-vxlan", cidr: "10.244.1.0/32" }]);
  assert.deepEqual(keys(o.fdb), [
    "kube-vxlan/00:00:00:00:00:00/10.250.2.13", "kube-vxlan/00:00:00:00:00:00/10.250.2.14",
    `kube-vxlan/${mac3}/10.250.2.13`, `kube-vxlan/${mac4}/10.250.2.14`,
  ].sort());
  assert.ok([...o.fdb.values()].every((f) => f.self && f.state === "permanent"));
  assert.deepEqual([...o.neighbors.values()], [
    { dev: "kube-vxlan", ip: "10.244.3.0", family: "ipv4", lladdr: mac3, state: "permanent" },
    { dev: "kube-vxlan", ip: "10.244.4.0", family: "ipv4", lladdr: mac4, state: "permanent" },
  ]);
  assert.deepEqual([...o.routes.values()], [
    { family: "ipv4", table: "77", dst: "10.250.2.13/32", via: "10.244.3.0", dev: "kube-vxlan", proto: "17", onlink: true },
    { family: "ipv4", table: "77", dst: "10.250.2.14/32", via: "10.244.4.0", dev: "kube-vxlan", proto: "17", onlink: true },
    { family: "ipv4", table: "main", dst: "10.244.3.0/24", via: "10.244.3.0", dev: "kube-vxlan", proto: "17", onlink: true },
    { family: "ipv4", table: "main", dst: "10.244.4.0/24", via: "10.244.4.0", dev: "kube-vxlan", proto: "17", onlink: true },
  ]);
  assert.deepEqual([...o.rules.values()], [{ family: "ipv4", priority: 32765, selector: "from 10.244.1.0/24", table: "77" }]);
  assert.equal(o.podMtu, 1450);
  assert.deepEqual(o.warnings, []);
});

test("given vxlan/full, when node1 renders, then every other node (same subnet too) is an overlay peer", () => {
  const o = render(fourNodes(), { overlayType: "full" });
  assert.deepEqual([...o.overlayPeers], ["ipv4/node2", "ipv4/node3", "ipv4/node4"]);
  assert.equal(o.fdb.size, 6);
  assert.equal(o.neighbors.size, 3);
  assert.deepEqual(keys(o.routes).filter((k) => k.includes("/main/")), ["ipv4/main/10.244.2.0/24", "ipv4/main/10.244.3.0/24", "ipv4/main/10.244.4.0/24"]);
});

test("given ipip/subnet, when node1 renders, then one tun-<hash> ipip link per other-subnet peer, its table-77 route and a src route per pod CIDR", () => {
  const o = render(fourNodes(), { overlayEncap: "ipip" });
  const t3 = tunnelName("10.250.2.13");
  const t4 = tunnelName("10.250.2.14");
  assert.deepEqual([...o.links.values()], [
    { name: t3, kind: "ipip", up: true, mtu: 1480, tunnel: { local: "10.250.1.11", remote: "10.250.2.13" } },
    { name: t4, kind: "ipip", up: true, mtu: 1480, tunnel: { local: "10.250.1.11", remote: "10.250.2.14" } },
  ].sort((a, b) => (a.name < b.name ? -1 : 1)));
  assert.deepEqual(o.routes.get("ipv4/main/10.244.3.0/24"), { family: "ipv4", table: "main", dst: "10.244.3.0/24", dev: t3, src: "10.250.1.11", proto: "17" });
  assert.deepEqual(o.routes.get("ipv4/77/10.250.2.13/32"), { family: "ipv4", table: "77", dst: "10.250.2.13/32", dev: t3, proto: "17" });
  assert.equal(o.routes.size, 4);
  assert.deepEqual([o.fdb.size, o.neighbors.size, o.addresses.size, o.fouPorts.length], [0, 0, 0, 0]);
  assert.equal(o.podMtu, 1480);
  assert.equal(o.rules.size, 1);
});

test("given fou, when node1 renders, then tunnels carry ttl 225 and GUE encap to the port (0 = 5555), and the FoU port is listed", () => {
  const o = render(fourNodes(), { overlayEncap: "fou" });
  const t3 = o.links.get(tunnelName("10.250.2.13"));
  assert.deepEqual(t3?.tunnel, { local: "10.250.1.11", remote: "10.250.2.13", ttl: 225, encap: { type: "gue", dport: 5555 } });
  assert.equal(t3?.mtu, 1468);
  assert.deepEqual(o.fouPorts, [{ family: "ipv4", port: 5555 }]);
  const p = render(fourNodes(), { overlayEncap: "fou", overlayEncapPort: 6000 });
  assert.equal(p.links.get(tunnelName("10.250.2.13"))?.tunnel?.encap?.dport, 6000);
  assert.equal(encapPort("vxlan", 0), 4789);
  assert.equal(encapPort("fou", 0), 5555);
  assert.equal(encapPort("vxlan", 8472), 8472);
});

test("given dual-stack vxlan/subnet, when node1 renders, then kube-vxlan6 reaches IPv6 peers via their link-local VTEPs without onlink, and the pod MTU fits IPv6", () => {
  const o = render(fourNodes(true), { enableIpv6: true });
  assert.deepEqual(keys(o.links), ["kube-vxlan", "kube-vxlan6"]);
  assert.deepEqual(o.links.get("kube-vxlan6"), {
    name: "kube-vxlan6", kind: "vxlan", up: true, mtu: 1430, address: vtepMac("node1", "ipv6"),
    vxlan: { id: 1, local: "fd00:250:1::11", dev: "eth0", port: 4789, learning: false },
  });
  assert.deepEqual(keys(o.addresses), ["kube-vxlan/10.244.1.0/32"], "no IPv6 address of ours: the kernel's link-local is the VTEP");
  const ll3 = vtepLinkLocal(vtepMac("node3", "ipv6"));
  assert.deepEqual(o.neighbors.get(`kube-vxlan6/${ll3}`), { dev: "kube-vxlan6", ip: ll3, family: "ipv6", lladdr: vtepMac("node3", "ipv6"), state: "permanent" });
  assert.deepEqual(o.routes.get("ipv6/main/fd00:244:3::/64"), { family: "ipv6", table: "main", dst: "fd00:244:3::/64", via: ll3, dev: "kube-vxlan6", proto: "17" });
  assert.ok(o.fdb.has("kube-vxlan6/00:00:00:00:00:00/fd00:250:2::13"));
  assert.deepEqual([...o.overlayPeers], ["ipv4/node3", "ipv4/node4", "ipv6/node3", "ipv6/node4"]);
  assert.deepEqual(keys(o.rules), ["ipv4/32765/from 10.244.1.0/24", "ipv6/32765/from fd00:244:1::/64"]);
  assert.equal(o.podMtu, 1430);
});

test("given dual-stack ipip, when node1 renders, then IPv6 peers get ip6tnl tunnels named after their IPv6 address", () => {
  const o = render(fourNodes(true), { enableIpv6: true, overlayEncap: "ipip" });
  const t = o.links.get(tunnelName("fd00:250:2::13"));
  assert.deepEqual(t, { name: tunnelName("fd00:250:2::13"), kind: "ip6tnl", up: true, mtu: 1452, tunnel: { local: "fd00:250:1::11", remote: "fd00:250:2::13" } });
  assert.equal(o.links.size, 4);
  assert.deepEqual(o.routes.get("ipv6/77/fd00:250:2::13/128")?.dev, t?.name);
  assert.equal(o.podMtu, 1452, "1500 − 48: ip6tnl adds 40 + its 8-byte encapsulation limit option");
});

test("given the overlay off, when node1 renders, then nothing is rendered and each peer on another subnet is named in a warning", () => {
  const o = render(fourNodes(), { enableOverlay: false });
  assert.deepEqual([o.links.size, o.routes.size, o.rules.size, o.fdb.size, o.neighbors.size, o.overlayPeers.size], [0, 0, 0, 0, 0, 0]);
  assert.equal(o.podMtu, undefined);
  assert.deepEqual(o.warnings, [
    "router: Node node3 (10.250.2.13) is on another subnet and --enable-overlay=false: no route to its pods 10.244.3.0/24 (underlay routing expected)",
    "router: Node node4 (10.250.2.14) is on another subnet and --enable-overlay=false: no route to its pods 10.244.4.0/24 (underlay routing expected)",
  ]);
});

test("given families that do not match, when node1 renders, then the peer is skipped with a warning naming it", () => {
  // This node has no IPv6 address; node3 is dual-stack.
  const mine = node(1, 1, false, { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"] });
  const o = render([mine, node(3, 2, true)], { enableIpv6: true });
  assert.deepEqual(o.warnings, ["overlay: Node node3: this node has no ipv6 address; no ipv6 overlay to it"]);
  assert.deepEqual([...o.overlayPeers], ["ipv4/node3"]);
  // node3 has an IPv6 pod CIDR but no IPv6 address.
  const peer = node(3, 2, false, { podCIDRs: ["10.244.3.0/24", "fd00:244:3::/64"] });
  const p = render([node(1, 1, true), peer], { enableIpv6: true });
  assert.deepEqual(p.warnings, ["overlay: Node node3: no ipv6 address for its ipv6 pod CIDRs; skipped"]);
});

test("given two peers claiming one tunnel or one VTEP, when node1 renders, then the first by name wins and the other is named in a warning", () => {
  const twin = node(5, 2, false, { addresses: [{ type: "InternalIP", address: "10.250.2.13" }] });
  const o = render([node(1, 1), node(3, 2), twin], { overlayEncap: "ipip" });
  assert.deepEqual([...o.overlayPeers], ["ipv4/node3"]);
  assert.match(o.warnings[0] ?? "", /^overlay: Node node5: tunnel tun-\w{11} \(node IP 10\.250\.2\.13\) already used by Node node3;/);
  const overlap = node(6, 2, false, { podCIDR: "10.244.3.0/24", podCIDRs: ["10.244.3.0/24"] });
  const v = render([node(1, 1), node(3, 2), overlap]);
  assert.deepEqual([...v.overlayPeers], ["ipv4/node3"]);
  assert.deepEqual(v.warnings, ["overlay: Node node6: VTEP 10.244.3.0 already used by Node node3; no overlay route to its pods"]);
});

test("given bad overlay flags, when rendering, then one error line names the flag and nothing is rendered", () => {
  const bad: [Partial<OverlayConfig>, RegExp][] = [
    [{ overlayEncap: "gre" }, /^--overlay-encap: "gre"/],
    [{ overlayType: "mesh" }, /^--overlay-type: "mesh"/],
    [{ overlayEncapPort: 80 }, /^--overlay-encap-port: 80 is out of range/],
    [{ overlayEncapPort: 70000 }, /^--overlay-encap-port: 70000/],
    [{ overlayVni: 0 }, /^--overlay-vni: 0 is out of range \(1-16777215\)/],
    [{ overlayVni: 16777216 }, /^--overlay-vni: 16777216/],
  ];
  for (const [c, want] of bad) {
    assert.match(checkOverlayConfig(cfg(c)) ?? "", want);
    const r = renderOverlay({ snapshot: snapshot(fourNodes()), config: cfg(c), host: host(), nodeName: "node1" });
    assert.ok("error" in r && want.test(r.error), JSON.stringify(c));
  }
  assert.equal(checkOverlayConfig(cfg({ overlayVni: 16777215, overlayEncapPort: 65535 })), undefined);
  const missing = renderOverlay({ snapshot: snapshot(fourNodes()), config: cfg(), host: host(), nodeName: "nodeX" });
  assert.deepEqual(missing, { error: "overlay: Node nodeX not found in the cluster" });
});

test("given the same cluster in another order or a re-created Node object, when rendering, then the output is identical", () => {
  const a = render(fourNodes(true), { enableIpv6: true, overlayType: "full" });
  const b = render([...fourNodes(true)].reverse(), { enableIpv6: true, overlayType: "full" });
  assert.ok(deepEqual(a, b));
  assert.deepEqual(keys(a.routes), keys(b.routes), "same key order");
  const recreated = fourNodes(true).map((n) => ({ ...n, uid: `${n.uid}-new` }));
  assert.ok(deepEqual(render(recreated, { enableIpv6: true, overlayType: "full" }), a), "MACs and names depend on node names and IPs only");
});

test("given --auto-mtu off or a jumbo underlay, when rendering, then link MTUs and the pod MTU follow", () => {
  const off = render(fourNodes(), { autoMtu: false });
  assert.equal(off.podMtu, undefined);
  assert.equal(off.links.get("kube-vxlan")?.mtu, undefined);
  const jumbo = render(fourNodes(), {}, "node1", 9000);
  assert.equal(jumbo.podMtu, 8950);
  assert.equal(jumbo.links.get("kube-vxlan")?.mtu, 8950);
});

test("given a VNI and port, when rendering vxlan, then the device uses them", () => {
  const o = render(fourNodes(), { overlayVni: 4242, overlayEncapPort: 8472 });
  assert.deepEqual(o.links.get("kube-vxlan")?.vxlan, { id: 4242, local: "10.250.1.11", dev: "eth0", port: 8472, learning: false });
});

test("given the router's render and a full overlay, when merged, then overlay routes replace the router's direct ones and kube-bridge takes the pod MTU", () => {
  const o = render(fourNodes(), { overlayType: "full" });
  const direct = { family: "ipv4" as const, table: "main", dst: "10.244.2.0/24", via: "10.250.1.12", proto: "17" };
  const bridge = { name: "kube-bridge", kind: "bridge" as const, up: true, mtu: 1500 };
  const m = mergeOverlay({ links: new Map([["kube-bridge", bridge]]), routes: new Map([["ipv4/main/10.244.2.0/24", direct]]) }, o);
  assert.deepEqual(m.state.routes?.get("ipv4/main/10.244.2.0/24"), { ...direct, via: "10.244.2.0", dev: "kube-vxlan", onlink: true });
  assert.equal(m.state.links?.get("kube-bridge")?.mtu, 1450);
  assert.deepEqual([...(m.state.links?.keys() ?? [])], ["kube-bridge", "kube-vxlan"]);
  assert.equal(m.fdb.size, 6);
  // In subnet mode node2 stays direct: the router's route is kept.
  const s = mergeOverlay({ routes: new Map([["ipv4/main/10.244.2.0/24", direct]]) }, render(fourNodes()));
  assert.deepEqual(s.state.routes?.get("ipv4/main/10.244.2.0/24"), direct);
});

// ----- the router controller with the overlay folded in (render/router.ts) -----------------


function renderRouter(nodes: readonly NodeInfo[], c: Partial<typeof DEFAULT_CONFIG> = {}) {
  const config = { ...DEFAULT_CONFIG, enableCni: true, ...c };
  const h = { ...host(), cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" } };
  const r = routerController.render!({ snapshot: snapshot(nodes), config, host: h, nodeName: "node1" });
  if ("error" in r) throw new Error(r.error);
  return r.ok;
}

test("given the router with vxlan/subnet, when node1 renders, then it holds the overlay's tables, the CNI config takes the pod MTU, and same-subnet node2 keeps its direct route", () => {
  const r = renderRouter(fourNodes(), { overlayEncap: "vxlan" });
  assert.equal(r.state.fdb?.size, 4);
  assert.equal(r.state.neighbors?.size, 2);
  assert.equal(r.state.links?.get("kube-bridge")?.mtu, 1450);
  assert.equal(r.state.links?.get("kube-vxlan")?.address, vtepMac("node1", "ipv4"));
  assert.match([...(r.state.files?.values() ?? [])][0]?.content ?? "", /"mtu": 1450/);
  assert.equal(r.state.routes?.get("ipv4/main/10.244.2.0/24")?.via, "10.250.1.12");
  assert.equal(r.state.routes?.get("ipv4/main/10.244.3.0/24")?.dev, "kube-vxlan");
  assert.deepEqual(r.warnings, []);
});

test("given the router with --enable-overlay=false, when node1 renders, then peers on another subnet get no route and one warning each names them; the MTU stays the underlay's", () => {
  const r = renderRouter(fourNodes(), { enableOverlay: false });
  assert.deepEqual(r.warnings.map((w) => /Node (node\d)/.exec(w)?.[1]), ["node3", "node4"]);
  assert.ok(r.warnings.every((w) => w.includes("--enable-overlay=false") && w.includes("underlay routing expected")));
  assert.equal(r.state.routes?.has("ipv4/main/10.244.3.0/24"), false);
  assert.equal(r.state.links?.get("kube-bridge")?.mtu, 1500);
  assert.equal(r.state.rules?.size ?? 0, 0, "no table-77 rule with the overlay off (upstream removes it)");
});

test("given the router with the default ipip/subnet on a one-subnet cluster, when node1 renders, then no tunnel, the underlay MTU, and upstream's table-77 rule", () => {
  const r = renderRouter([node(1, 1), node(2, 1)]);
  assert.deepEqual([...(r.state.links?.keys() ?? [])], ["kube-bridge"]);
  assert.equal(r.state.links?.get("kube-bridge")?.mtu, 1500);
  assert.deepEqual([...(r.state.rules?.keys() ?? [])], ["ipv4/32765/from 10.244.1.0/24"]);
});

test("given a peer whose pod CIDR is 0.0.0.0/0, when node1 renders, then the ipset warning names that Node and the other peers keep their members (found by the mutated-snapshot property)", () => {
  const r = renderRouter([node(1, 1), node(2, 1, false, { podCIDR: "0.0.0.0/0", podCIDRs: ["0.0.0.0/0"] }), node(3, 1)]);
  const bad = r.warnings.filter((w) => w.includes("ipset member"));
  assert.deepEqual(bad, ['router: Node node2: ipset member "0.0.0.0/0" of hash:net family inet: prefix length "0" not in 1-32; skipped']);
  const podSubnets = r.state.ipsets?.get("kube-router-pod-subnets");
  assert.deepEqual([...(podSubnets?.members ?? [])].sort(), ["10.244.1.0/24", "10.244.3.0/24"]);
});
