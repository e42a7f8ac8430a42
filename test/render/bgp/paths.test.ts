/**
 * What the node advertises (its RIB-out) as given/when/then stories
 * (kube-router-features.md §5.4, §8.5 ecmp_vip_test and network_routes_controller_test).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HOST, input, node, render, service, slice, snapshot, tableText } from "./support.ts";

const nodes = () => [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "10.250.0.12", "10.244.2.0/24")];
const paths = (o: ReturnType<typeof render>) => [...o.state.bgpPaths.keys()];
const allOn = { advertiseClusterIp: true, advertiseExternalIp: true, advertiseLoadbalancerIp: true, strictExternalIpValidation: false };
const lbService = (extra = {}) => service("lb", "10.96.0.3", { type: "LoadBalancer", externalIPs: ["1.1.1.1"], loadBalancerIngress: [{ ip: "10.0.255.1" }, { ip: "10.0.255.2" }], ...extra });
const remoteEndpoint = (svc: string) => slice(svc, [["10.244.2.5", "node2"]]);
const localEndpoint = (svc: string) => slice(svc, [["10.244.1.5", "node1"]]);

test("given no Services, then the node's pod CIDR is its only path, next hop its IP, even with --advertise-pod-cidr=false", () => {
  for (const advertisePodCidr of [true, false]) {
    const out = render(input(snapshot({ nodes: nodes() }), { advertisePodCidr }));
    assert.deepEqual(tableText(out.state, "bgpPaths"), ["gobgp global rib add 10.244.1.0/24 nexthop 10.250.0.11 -a ipv4"]);
  }
});

test("given all advertise flags on, then cluster, external and LoadBalancer IPs are advertised as /32 (ecmp_vip_test)", () => {
  const out = render(input(snapshot({ nodes: nodes(), services: [lbService()], slices: [remoteEndpoint("lb")] }), allOn));
  assert.deepEqual(paths(out), ["ipv4/1.1.1.1/32", "ipv4/10.0.255.1/32", "ipv4/10.0.255.2/32", "ipv4/10.244.1.0/24", "ipv4/10.96.0.3/32"]);
});

test("given all advertise flags off (the defaults), then no VIP is advertised", () => {
  const out = render(input(snapshot({ nodes: nodes(), services: [lbService()], slices: [remoteEndpoint("lb")] }), { strictExternalIpValidation: false }));
  assert.deepEqual(paths(out), ["ipv4/10.244.1.0/24"]);
});

for (const [flag, want] of [["advertiseClusterIp", "ipv4/10.96.0.3/32"], ["advertiseExternalIp", "ipv4/1.1.1.1/32"], ["advertiseLoadbalancerIp", "ipv4/10.0.255.1/32"]] as const) {
  test(`given only --${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}, then only that kind of VIP is advertised`, () => {
    const out = render(input(snapshot({ nodes: nodes(), services: [lbService({ loadBalancerIngress: [{ ip: "10.0.255.1" }] })], slices: [remoteEndpoint("lb")] }), { [flag]: true, strictExternalIpValidation: false }));
    assert.deepEqual(paths(out), [want, "ipv4/10.244.1.0/24"].sort());
  });
}

test("given flags off and the three advertise annotations \"true\", then every VIP is advertised; flags on and annotations \"false\", then none", () => {
  const ann = (v: string) => ({ "kube-router.io/service.advertise.clusterip": v, "kube-router.io/service.advertise.externalip": v, "kube-router.io/service.advertise.loadbalancerip": v });
  const optIn = render(input(snapshot({ nodes: nodes(), services: [lbService({ annotations: ann("true") })], slices: [remoteEndpoint("lb")] }), { strictExternalIpValidation: false }));
  assert.equal(optIn.state.bgpPaths.size, 5);
  const optOut = render(input(snapshot({ nodes: nodes(), services: [lbService({ annotations: ann("false") })], slices: [remoteEndpoint("lb")] }), allOn));
  assert.deepEqual(paths(optOut), ["ipv4/10.244.1.0/24"]);
});

test("given service.local=true and no local endpoint, then the cluster IP is still advertised but external and LB IPs are not", () => {
  const out = render(input(snapshot({ nodes: nodes(), services: [lbService({ annotations: { "kube-router.io/service.local": "true" } })], slices: [remoteEndpoint("lb")] }), allOn));
  assert.deepEqual(paths(out), ["ipv4/10.244.1.0/24", "ipv4/10.96.0.3/32"]);
});

test("given externalTrafficPolicy Local, then external and LB IPs are advertised only while this node has a ready local endpoint", () => {
  const svc = lbService({ externalTrafficPolicy: "Local" });
  assert.deepEqual(paths(render(input(snapshot({ nodes: nodes(), services: [svc], slices: [remoteEndpoint("lb")] }), allOn))), ["ipv4/10.244.1.0/24", "ipv4/10.96.0.3/32"]);
  assert.equal(render(input(snapshot({ nodes: nodes(), services: [svc], slices: [localEndpoint("lb")] }), allOn)).state.bgpPaths.size, 5);
  const notReady = slice("lb", [["10.244.1.5", "node1", { ready: false }]]);
  assert.deepEqual(paths(render(input(snapshot({ nodes: nodes(), services: [svc], slices: [notReady] }), allOn))), ["ipv4/10.244.1.0/24", "ipv4/10.96.0.3/32"]);
});

test("given an endpoint without nodeName whose address is this node's IP, then it counts as local", () => {
  const svc = lbService({ externalTrafficPolicy: "Local" });
  const hostNet = slice("lb", [["10.250.0.11", ""]]);
  const sl = { ...hostNet, endpoints: hostNet.endpoints.map(({ nodeName: _n, ...e }) => e) };
  assert.equal(render(input(snapshot({ nodes: nodes(), services: [svc], slices: [sl] }), allOn)).state.bgpPaths.size, 5);
});

test("given internalTrafficPolicy Local and no local endpoint, then the cluster IP is withdrawn; external IPs are not affected", () => {
  const out = render(input(snapshot({ nodes: nodes(), services: [lbService({ internalTrafficPolicy: "Local" })], slices: [remoteEndpoint("lb")] }), allOn));
  assert.deepEqual(paths(out), ["ipv4/1.1.1.1/32", "ipv4/10.0.255.1/32", "ipv4/10.0.255.2/32", "ipv4/10.244.1.0/24"]);
});

test("given skiplbips, then LB IPs are not advertised; given an LB ingress with ipMode Proxy, then that IP is skipped", () => {
  const skip = render(input(snapshot({ nodes: nodes(), services: [lbService({ annotations: { "kube-router.io/service.skiplbips": "" } })], slices: [remoteEndpoint("lb")] }), allOn));
  assert.deepEqual(paths(skip), ["ipv4/1.1.1.1/32", "ipv4/10.244.1.0/24", "ipv4/10.96.0.3/32"]);
  const proxy = render(input(snapshot({ nodes: nodes(), services: [lbService({ loadBalancerIngress: [{ ip: "10.0.255.1", ipMode: "Proxy" }] })], slices: [remoteEndpoint("lb")] }), allOn));
  assert.ok(!proxy.state.bgpPaths.has("ipv4/10.0.255.1/32"));
});

test("given a Service without any EndpointSlice next to one with, then only the first one's VIPs are withdrawn (upstream withdraws all: a bug)", () => {
  const out = render(input(snapshot({ nodes: nodes(), services: [service("lonely", "10.96.0.1"), service("web", "10.96.0.2")], slices: [remoteEndpoint("web")] }), allOn));
  assert.deepEqual(paths(out), ["ipv4/10.244.1.0/24", "ipv4/10.96.0.2/32"]);
});

test("given a ClusterIP None, an empty cluster IP, or an ExternalName Service, then nothing is advertised for it", () => {
  const svcs = [service("none", "None"), service("empty", ""), service("ext", "10.96.0.9", { type: "ExternalName" })];
  const out = render(input(snapshot({ nodes: nodes(), services: svcs, slices: svcs.map((s) => remoteEndpoint(s.name)) }), allOn));
  assert.deepEqual(paths(out), ["ipv4/10.244.1.0/24"]);
});

test("given strict external-IP validation, then only external IPs inside --service-external-ip-range are advertised", () => {
  const svc = service("web", "10.96.0.2", { externalIPs: ["10.243.0.1", "192.168.100.50"] });
  const out = render(input(snapshot({ nodes: nodes(), services: [svc], slices: [remoteEndpoint("web")] }), { advertiseExternalIp: true, serviceExternalIpRange: ["10.243.0.0/24"] }));
  assert.deepEqual(paths(out), ["ipv4/10.243.0.1/32", "ipv4/10.244.1.0/24"]);
});

test("given a VIP shared by two Services where one withholds it, then it is still advertised (the other claims it)", () => {
  const a = service("a", "10.96.0.2", { externalIPs: ["1.1.1.1"], externalTrafficPolicy: "Local" });
  const b = service("b", "10.96.0.3", { externalIPs: ["1.1.1.1"] });
  const out = render(input(snapshot({ nodes: nodes(), services: [a, b], slices: [remoteEndpoint("a"), remoteEndpoint("b")] }), { advertiseExternalIp: true, strictExternalIpValidation: false }));
  assert.ok(out.state.bgpPaths.has("ipv4/1.1.1.1/32"));
});

test("given dual-stack (IPv4 and IPv6 node IPs, pod CIDRs and cluster IPs), then each path has a next hop of its own family", () => {
  const n1 = node("node1", "10.250.0.11", "10.244.1.0/24", { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }, { type: "InternalIP", address: "fd00::11" }] });
  const svc = service("web", "10.96.0.2", { clusterIPs: ["10.96.0.2", "fd00:96::2"] });
  const out = render(input(snapshot({ nodes: [n1], services: [svc], slices: [remoteEndpoint("web")] }), { enableIpv6: true, advertiseClusterIp: true }, { ...HOST, interfaces: [...HOST.interfaces, { name: "eth1", mtu: 1500, addrs: ["fd00::11/64"] }] }));
  assert.deepEqual(tableText(out.state, "bgpPaths"), [
    "gobgp global rib add 10.244.1.0/24 nexthop 10.250.0.11 -a ipv4",
    "gobgp global rib add 10.96.0.2/32 nexthop 10.250.0.11 -a ipv4",
    "gobgp global rib add fd00:244:1::/64 nexthop fd00::11 -a ipv6",
    "gobgp global rib add fd00:96::2/128 nexthop fd00::11 -a ipv6",
  ]);
  assert.deepEqual(out.state.bgpGlobal.get("global")?.listenAddresses, ["10.250.0.11", "fd00::11"]);
  assert.deepEqual([...out.state.bgpDefinedSets.keys()].filter((k) => k.endsWith("v6")), ["prefix/defaultroutedefinedsetv6", "prefix/podcidrdefinedsetv6", "prefix/servicevipsdefinedsetv6"]);
});

test("given dual-stack enabled but the node has no IPv6 address, then the IPv6 pod CIDR is not advertised and one warning says why", () => {
  const n1 = node("node1", "10.250.0.11", "10.244.1.0/24", { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"] });
  const out = render(input(snapshot({ nodes: [n1] }), { enableIpv6: true }));
  assert.deepEqual(paths(out), ["ipv4/10.244.1.0/24"]);
  assert.deepEqual(out.warnings, ["bgp: Node node1: no ipv6 address for the next hop; 1 ipv6 prefix(es) not advertised"]);
});
