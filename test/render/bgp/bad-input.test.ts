/**
 * Bad BGP input never throws: each unusable value gives one warning line naming the node,
 * annotation or flag and the value (never a password), and everything else keeps working.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { renderBgp } from "../../../src/render/bgp/index.ts";
import { NODE_ANNOTATION } from "../../../src/render/bgp/index.ts";
import { annotated, input, node, render, service, slice, snapshot } from "./support.ts";

const peer2 = () => node("node2", "10.250.0.12", "10.244.2.0/24");
const withPeers = (yaml: string) => snapshot({ nodes: [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.peers]: yaml }), peer2()] });

test("given malformed peers YAML, then one warning naming the node and annotation; iBGP peers keep working", () => {
  const { state, warnings } = render(input(withPeers("- remoteip: [10.0.0.1\n  remoteasn: 65000")));
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^Node node1: metadata\.annotations\[kube-router\.io\/peers\]: not valid YAML \(.+\); no peers from it$/);
});

test("given peers YAML that is not a list, then one warning", () => {
  const { warnings } = render(input(withPeers("remoteip: 10.0.0.1")));
  assert.deepEqual(warnings, ["Node node1: metadata.annotations[kube-router.io/peers]: want a YAML list of peers; no peers from it"]);
});

test("given YAML entries without remoteip or remoteasn, then those entries are skipped with a warning each and the good one is kept", () => {
  const { state, warnings } = render(input(withPeers("- remoteasn: 65000\n- remoteip: 192.168.1.2\n- remoteip: 192.168.1.3\n  remoteasn: 65003\n")));
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12", "192.168.1.3"]);
  assert.deepEqual(warnings, [
    "Node node1: metadata.annotations[kube-router.io/peers][0]: remoteip is required; skipped",
    "Node node1: metadata.annotations[kube-router.io/peers][1]: remoteasn is required; skipped",
  ]);
});

for (const asn of [0, 23456, 64000, 65535, 4294967295, 4294967296]) {
  test(`given external peer ASN ${asn} (reserved or out of range), then that peer is skipped with a warning naming the flag; the other peer works`, () => {
    const { state, warnings } = render(input(snapshot({ nodes: [node("node1", "10.250.0.11", "10.244.1.0/24")] }), { peerRouterIps: ["192.168.1.1", "192.168.1.2"], peerRouterAsns: [asn, 65002] }));
    assert.deepEqual([...state.bgpPeers.keys()], ["192.168.1.2"]);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.startsWith(`bgp: --peer-router-ips[0]: 192.168.1.1: ASN ${asn} is out of range or reserved`), warnings[0]);
  });
}

test("given a YAML peer with ASN 23456 given as text, then it is skipped and named by its index in the annotation", () => {
  const { warnings } = render(input(withPeers("- remoteip: 192.168.1.1\n  remoteasn: '23456'\n")));
  assert.match(warnings[0]!, /^Node node1: metadata\.annotations\[kube-router\.io\/peers\]\[0\]: 192\.168\.1\.1: ASN "23456" is out of range or reserved/);
});

test("given a password that is not base64, then that peer is skipped and the warning names the flag item, never the value", () => {
  const { state, warnings } = render(input(snapshot({ nodes: [node("node1", "10.250.0.11", "10.244.1.0/24")] }), {
    peerRouterIps: ["192.168.1.1", "192.168.1.2"], peerRouterAsns: [65001, 65002], peerRouterPasswords: ["not base64!", "c2VjcmV0"],
  }));
  assert.deepEqual([...state.bgpPeers.keys()], ["192.168.1.2"]);
  assert.deepEqual(warnings, ["bgp: --peer-router-ips[0]: 192.168.1.1: --peer-router-passwords item 1 is not base64; peer skipped"]);
  assert.ok(!warnings.join("").includes("not base64!"));
});

test("given a YAML password that is not base64, then the warning names the entry's password field, never the value", () => {
  const { warnings } = render(input(withPeers("- remoteip: 192.168.1.1\n  remoteasn: 65001\n  password: hunter2!\n")));
  assert.deepEqual(warnings, ["Node node1: metadata.annotations[kube-router.io/peers][0]: 192.168.1.1: Node node1: metadata.annotations[kube-router.io/peers][0].password is not base64; peer skipped"]);
});

test("given a peer IP of a family that is not enabled, or a local IP of the other family, then that peer is skipped with a warning", () => {
  const { state, warnings } = render(input(withPeers("- remoteip: fd00::1\n  remoteasn: 65001\n- remoteip: 192.168.1.2\n  remoteasn: 65002\n  localip: fd00::11\n- remoteip: 192.168.1.3\n  remoteasn: 65003\n")));
  assert.deepEqual([...state.bgpPeers.keys()], ["10.250.0.12", "192.168.1.3"]);
  assert.deepEqual(warnings, [
    "Node node1: metadata.annotations[kube-router.io/peers][0]: fd00::1 is ipv6 and ipv6 is not enabled; peer skipped",
    "Node node1: metadata.annotations[kube-router.io/peers][1]: 192.168.1.2: local IP fd00::11 is not of the peer's family (ipv4); peer skipped",
  ]);
});

test("given a peer IP that is not an IP, then that peer is skipped with a warning", () => {
  const { warnings } = render(input(withPeers("- remoteip: router.example\n  remoteasn: 65001\n")));
  assert.deepEqual(warnings, ["Node node1: metadata.annotations[kube-router.io/peers][0]: \"router.example\" is not an IP address; peer skipped"]);
});

test("given a community that does not parse, then it is skipped with a warning and the others are used", () => {
  for (const bad of ["4294967296", "65536:65535", "0xFFFFFFFF", "community"]) {
    const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.communities]: `${bad},64512:100` })];
    const { state, warnings } = render(input(snapshot({ nodes }), { peerRouterIps: ["192.168.1.1"], peerRouterAsns: [65001] }));
    assert.deepEqual(warnings, [`Node node1: metadata.annotations[kube-router.io/node.bgp.communities]: "${bad}" is not a BGP community (uint32, a:b or a well-known name); skipped`]);
    assert.deepEqual(state.bgpPolicies.get("kube_router_export")!.statements[1]!.actions.community, { type: "add", communities: ["64512:100"] });
  }
});

test("given mismatched lengths of the peer flag lists, then one warning per flag; peers that can be paired keep working", () => {
  const { state, warnings } = render(input(snapshot({ nodes: [node("node1", "10.250.0.11", "10.244.1.0/24")] }), {
    peerRouterIps: ["192.168.1.1", "192.168.1.2", "192.168.1.3"], peerRouterAsns: [65001, 65002], peerRouterPorts: [1179], peerRouterPasswords: ["c2VjcmV0", ""],
  }));
  assert.deepEqual([...state.bgpPeers.keys()], ["192.168.1.1", "192.168.1.2"]);
  assert.equal(state.bgpPeers.get("192.168.1.1")?.port, 1179);
  assert.equal(state.bgpPeers.get("192.168.1.2")?.port, 179);
  assert.deepEqual(warnings, [
    "bgp: --peer-router-asns: 2 ASNs for 3 --peer-router-ips; peers without an ASN are skipped",
    "bgp: --peer-router-passwords: 2 passwords for 3 --peer-router-ips (want 0 or one per peer, blank items allowed); peers without one get none",
    "bgp: --peer-router-ports: 1 ports for 3 --peer-router-ips (want 0 or one per peer); peers without one use 179",
    "bgp: --peer-router-ips[2]: 192.168.1.3: no ASN given; peer skipped",
  ]);
});

test("given mismatched deprecated peer annotations, then one warning per annotation and the paired peers work", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.peerIps]: "192.168.1.1,192.168.1.2", [NODE_ANNOTATION.peerAsns]: "65001", [NODE_ANNOTATION.peerPorts]: "1,2,3" })];
  const { state, warnings } = render(input(snapshot({ nodes })));
  assert.deepEqual([...state.bgpPeers.keys()], ["192.168.1.1"]);
  assert.deepEqual(warnings, [
    "Node node1: metadata.annotations[kube-router.io/peer.asns]: 1 ASNs for 2 peer IPs; peers without an ASN are skipped",
    "Node node1: metadata.annotations[kube-router.io/peer.ports]: 3 ports for 2 peer IPs (want 0 or one per peer); peers without one use the default",
    "Node node1: metadata.annotations[kube-router.io/peer.ips][1]: 192.168.1.2: no ASN given; peer skipped",
  ]);
});

test("given an unparsable rr.server cluster ID, then one warning and the node is not a route reflector", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.rrServer]: "not-an-id" }), peer2()];
  const { state, warnings } = render(input(snapshot({ nodes })));
  assert.deepEqual(warnings, ["Node node1: metadata.annotations[kube-router.io/rr.server]: \"not-an-id\" is not a cluster ID (uint32 or IPv4 address); ignored"]);
  assert.ok(state.bgpPolicies.size > 0);
});

test("given another node's bad node.asn in non-full-mesh mode, then that node is just not a peer (its own agent reports it)", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.asn]: "65010" }), annotated("node2", "10.250.0.12", "10.244.2.0/24", { [NODE_ANNOTATION.asn]: "banana" })];
  const { state, warnings } = render(input(snapshot({ nodes }), { nodesFullMesh: false }));
  assert.equal(state.bgpPeers.size, 0);
  assert.deepEqual(warnings, []);
});

test("given a reserved own node.asn with --nodes-full-mesh=false, then a warning and an error (no BGP on this node)", () => {
  const r = renderBgp(input(snapshot({ nodes: [annotated("node1", "10.250.0.11", "10.244.1.0/24", { [NODE_ANNOTATION.asn]: "23456" })] }), { nodesFullMesh: false }));
  assert.ok("error" in r);
  assert.deepEqual(r.warnings, ["Node node1: metadata.annotations[kube-router.io/node.asn]: \"23456\" is not a usable ASN (1-4294967294, not reserved); ignored"]);
});

test("given an invalid --router-id, an out-of-range --bgp-holdtime, a bad advertise annotation, a bad prepend count, a bad custom reject and a bad BFD value, then one warning each and the rest renders", () => {
  const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", {
    [NODE_ANNOTATION.prependAs]: "65100", [NODE_ANNOTATION.prependRepeat]: "300",
    [NODE_ANNOTATION.customImportReject]: "10.1.0.0/16,nope",
    [NODE_ANNOTATION.peers]: "- remoteip: 192.168.1.1\n  remoteasn: 65001\n  bfd: {enabled: true, detection_multiplier: 0}\n- remoteip: 192.168.1.2\n  remoteasn: 65002\n",
  })];
  const svc = service("web", "10.96.0.2", { annotations: { "kube-router.io/service.advertise.clusterip": "yes" } });
  const { state, warnings } = render(input(snapshot({ nodes, services: [svc], slices: [slice("web", [["10.244.1.5", "node1"]])] }), { routerId: "10.0.0.256", bgpHoldtime: 1000, advertiseClusterIp: true }));
  assert.deepEqual(warnings, [
    "bgp: --router-id: \"10.0.0.256\" is not an IPv4 address or \"generate\"; using the generated ID",
    "bgp: --bgp-holdtime: 1000 ms is outside 3s..18h12m16s; using 90s",
    "Node node1: metadata.annotations[kube-router.io/peers][0]: 192.168.1.1: bfd detection_multiplier 0 is not in 1-255; peer skipped",
    "bgp: Service default/web: metadata.annotations[kube-router.io/service.advertise.clusterip]: \"yes\" is not a boolean; not advertised",
    "Node node1: metadata.annotations[kube-router.io/path-prepend.repeat-n]: \"300\" is not a repeat count in 1-255; no AS-path prepend",
    "Node node1: metadata.annotations[kube-router.io/node.bgp.customimportreject]: \"nope\" is not a CIDR; skipped",
  ]);
  assert.deepEqual([...state.bgpPeers.keys()], ["192.168.1.2"]);
  assert.equal(state.bgpPeers.get("192.168.1.2")?.holdTime, 90);
  assert.ok(!state.bgpPaths.has("ipv4/10.96.0.2/32"));
});

test("property: any annotation and flag garbage never throws and always yields tables or one error line", () => {
  const keys = [...Object.values(NODE_ANNOTATION), "kube-router.io/pod-cidr"];
  fc.assert(fc.property(
    fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.string(), fc.constantFrom("- remoteip: 1.2.3.4\n  remoteasn: x", "[", "- {}", "0", "65535", "a:b", "::1", "10.0.0.1/33"))),
    fc.array(fc.oneof(fc.ipV4(), fc.string()), { maxLength: 3 }),
    fc.array(fc.integer({ min: -1, max: 2 ** 33 }), { maxLength: 3 }),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.boolean(),
    (annotations, ips, asns, passwords, fullMesh) => {
      const nodes = [annotated("node1", "10.250.0.11", "10.244.1.0/24", annotations), annotated("node2", "10.250.0.12", "10.244.2.0/24", annotations)];
      const r = renderBgp(input(snapshot({ nodes }), { peerRouterIps: ips, peerRouterAsns: asns, peerRouterPasswords: passwords, nodesFullMesh: fullMesh }));
      const warnings = "ok" in r ? r.ok.warnings : r.warnings;
      assert.ok("ok" in r || (typeof r.error === "string" && !r.error.includes("\n")));
      for (const w of warnings) assert.ok(!w.includes("\n"), w); // one line each, whatever the value
    },
  ), { numRuns: 300 });
});

test("given an external peer at another node's primary IP, or listed twice, then the iBGP peer (or the first entry) wins with one warning", () => {
  const { state, warnings } = render(input(snapshot({ nodes: [node("node1", "10.250.0.11", "10.244.1.0/24"), peer2()] }), {
    peerRouterIps: ["10.250.0.12", "192.168.1.1", "192.168.1.1", "10.250.0.11"], peerRouterAsns: [65001, 65002, 65003, 65004],
  }));
  assert.equal(state.bgpPeers.get("10.250.0.12")?.kind, "ibgp");
  assert.equal(state.bgpPeers.get("192.168.1.1")?.peerAsn, 65002);
  assert.deepEqual(warnings, [
    "bgp: --peer-router-ips[0]: 10.250.0.12 is already a peer; skipped",
    "bgp: --peer-router-ips[2]: 192.168.1.1 is already a peer; skipped",
    "bgp: --peer-router-ips[3]: 10.250.0.11 is this node's own address; peer skipped",
  ]);
});
