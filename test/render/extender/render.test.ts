/**
 * The route extender's render (render/extender), on reference/route-extender.md §8's worked
 * examples at the [fix] level: given nodes, flags and the ConfigMap read back, when rendering,
 * then the ConfigMap keys, the own node's kernel tables and the warnings. Pure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { NodeConfig } from "../../../src/model/config.ts";
import type { NodeState } from "../../../src/model/state.ts";
import { allocateAddresses } from "../../../src/render/extender/allocate.ts";
import { extenderSettings } from "../../../src/render/extender/config.ts";
import { renderExtender } from "../../../src/render/extender/index.ts";
import { extenderMac } from "../../../src/render/extender/nodes.ts";
import { endpointIpOf, ipv4ToNumber, numberToIpv4, parseNetwork } from "../../../src/render/extender/plan.ts";
import { vtepMac } from "../../../src/model/overlay.ts";
import { E1_CONFIG, E1_NODES, HOST, MASTER, node, snapshot } from "./fixture.ts";

function render(cfg: NodeConfig, nodes = E1_NODES, data?: Record<string, string>, me = "worker-a") {
  const r = renderExtender({ snapshot: snapshot(nodes, data), config: cfg, host: HOST(nodes.find((n) => n.name === me)?.addresses[0]?.address ?? "10.0.0.99"), nodeName: me });
  assert.ok("ok" in r, "error" in r ? r.error : "");
  return r.ok;
}
const data = (state: Partial<NodeState>) => Object.fromEntries([...(state.configMapKeys ?? new Map()).values()].map((k) => [k.key, k.value]));

test("E1: given a master and two workers, then the ConfigMap holds EndpointIP .254, Type, VTEP and the workers' five keys each, no key for the master", () => {
  const out = render(E1_CONFIG);
  assert.deepEqual(data(out.state), {
    EndpointIP: "192.168.254.254", Type: "VXLAN", VTEP: "kube-routerkube-bridge",
    "Host-uid-worker-a": "10.0.0.11", "Interface-10.0.0.11": "192.168.254.1", "Mac-10.0.0.11": extenderMac("uid-worker-a"), "CNI-10.0.0.11": "10.244.1.1/24", "Node-10.0.0.11": "10.0.0.11",
    "Host-uid-worker-b": "10.0.0.12", "Interface-10.0.0.12": "192.168.254.2", "Mac-10.0.0.12": extenderMac("uid-worker-b"), "CNI-10.0.0.12": "10.244.2.1/24", "Node-10.0.0.12": "10.0.0.12",
  });
  // And only worker-a's own Mac- key is written by worker-a itself
  assert.deepEqual([...out.state.configMapKeys!.values()].filter((k) => k.writer === "self").map((k) => k.key), ["Mac-10.0.0.11"]);
});

test("E1 kernel: given worker-a before the ConfigMap holds its address, then device, FDB entry and rule but no address; once it holds it, the address", () => {
  const before = render(E1_CONFIG);
  assert.deepEqual([...before.state.links!.values()], [{
    name: "routervxlan0", kind: "vxlan", up: true, mtu: 1450, address: extenderMac("uid-worker-a"),
    vxlan: { id: 200, dev: "eth0" }, // port 8472 and learning on are the kernel's defaults (canonical form)
  }]);
  assert.equal(before.state.addresses!.size, 0);
  assert.deepEqual([...before.state.fdb!.values()], [{ dev: "routervxlan0", mac: "00:00:00:00:00:00", dst: "10.102.33.209", self: true, state: "permanent" }]);
  assert.deepEqual([...before.state.chains!.values()].map((c) => [c.name, c.rules]), [["KUBE-ROUTER-EXTENDER", ["-p udp -m udp --dport 8472 -j ACCEPT"]]]);
  assert.deepEqual([...before.state.jumps!.values()].map((j) => `${j.chain} ${j.rule}`), ["INPUT -m comment --comment \"kube-router route extender\" -j KUBE-ROUTER-EXTENDER"]);
  const after = render(E1_CONFIG, E1_NODES, data(before.state));
  assert.deepEqual([...after.state.addresses!.keys()], ["routervxlan0/192.168.254.1/24"]);
  // And the ConfigMap is unchanged by reading itself back
  assert.deepEqual(data(after.state), data(before.state));
});

test("E1 kernel: given the master's own agent, then nothing on its node; given a node whose taint is not in the skip list, then it is served", () => {
  const cp = render(E1_CONFIG, E1_NODES, undefined, "cp-1");
  assert.equal(cp.state.links!.size + cp.state.fdb!.size + cp.state.chains!.size + cp.state.jumps!.size, 0);
  const cpTainted = render(E1_CONFIG, [node("cp-1", "10.0.0.10", "10.244.0.0/24", { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] }), node("gpu", "10.0.0.20", "10.244.9.0/24", { taints: [{ key: "gpu", effect: "NoSchedule" }] })]);
  assert.deepEqual(Object.keys(data(cpTainted.state)).filter((k) => k.startsWith("Node-")), ["Node-10.0.0.20"]);
});

test("E2 [fix]: given worker-a deleted and worker-c joining, then worker-a's keys are gone and worker-c gets the freed .1", () => {
  const e1 = data(render(E1_CONFIG).state);
  const nodes = [E1_NODES[0]!, E1_NODES[2]!, node("worker-c", "10.0.0.13", "10.244.3.0/24")];
  const d = data(render(E1_CONFIG, nodes, e1, "worker-b").state);
  assert.equal(d["Interface-10.0.0.13"], "192.168.254.1");
  assert.equal(d["Interface-10.0.0.12"], "192.168.254.2");
  assert.deepEqual(Object.keys(d).filter((k) => k.includes("10.0.0.11") || k === "Host-uid-worker-a"), []);
});

test("E3 [fix]: given an agent restart with worker-b (.2) and worker-c (.1) read back, then no key and no MAC changes", () => {
  const held = { ...data(render(E1_CONFIG).state) };
  const nodes = [E1_NODES[0]!, E1_NODES[2]!, node("worker-c", "10.0.0.13", "10.244.3.0/24")];
  const first = data(render(E1_CONFIG, nodes, held, "worker-b").state);
  const restart = render(E1_CONFIG, nodes, first, "worker-b");
  assert.deepEqual(data(restart.state), first);
  assert.equal([...restart.state.links!.values()][0]?.address, first["Mac-10.0.0.12"]);
});

test("E4 [fix]: given NETWORK 172.20.0.0/16 (or 172.20.5.9/16), then EndpointIP is broadcast−1 172.20.255.254 and nodes get .0.1, .0.2, …, .1.0 after .0.255", () => {
  for (const network of ["172.20.0.0/16", "172.20.5.9/16"]) {
    const cfg = { ...E1_CONFIG, routeExtenderNetwork: network };
    assert.equal(data(render(cfg).state)["EndpointIP"], "172.20.255.254");
  }
  const net = parseNetwork("172.20.0.0/16")!;
  const nodes = Array.from({ length: 300 }, (_, i) => ({ name: `n${String(i).padStart(3, "0")}`, ip: `10.1.${i >> 8}.${i & 255}` }));
  const a = allocateAddresses(net, nodes, {}, "kube-system/x");
  assert.deepEqual([0, 1, 253, 254, 255, 299].map((i) => a.addresses.get(nodes[i]!.ip)), ["172.20.0.1", "172.20.0.2", "172.20.0.254", "172.20.0.255", "172.20.1.0", "172.20.1.44"]);
});

test("E4 capacity [fix]: given a /29 (pool .1-.5, EndpointIP .6) and 6 nodes, then 5 get an address, the 6th none with a warning naming it, never a duplicate", () => {
  const cfg = { ...E1_CONFIG, routeExtenderNetwork: "192.168.1.0/29" };
  const nodes = Array.from({ length: 6 }, (_, i) => node(`w${i}`, `10.0.0.${20 + i}`, `10.244.${i}.0/24`));
  const out = render(cfg, nodes, undefined, "w0");
  const d = data(out.state);
  assert.deepEqual(Object.keys(d).filter((k) => k.startsWith("Interface-")).map((k) => d[k]), ["192.168.1.1", "192.168.1.2", "192.168.1.3", "192.168.1.4", "192.168.1.5"]);
  assert.equal(d["EndpointIP"], "192.168.1.6");
  assert.deepEqual(Object.keys(d).filter((k) => k.includes("10.0.0.25") || k === "Host-uid-w5"), []);
  assert.deepEqual(out.warnings, ["extender: Node w5 (10.0.0.25): no free address left in 192.168.1.0/29; no ConfigMap keys for it"]);
});

test("E5 [fix]: given each bad setting, then one line naming the setting; given odd prefixes, then broadcast−1", () => {
  const bad: [Partial<NodeConfig>, RegExp][] = [
    [{ routeExtenderNetwork: "" }, /--route-extender-network \(NETWORK\): required/],
    [{ routeExtenderVni: "" }, /--route-extender-vni \(VNID\): must be 1-16777215/],
    [{ routeExtenderPort: "" }, /--route-extender-port \(VXLAN_PORT\)/],
    [{ routeExtenderVtepIp: "" }, /--route-extender-vtep-ip \(REMOTE_VTEPIP\): required/],
    [{ routeExtenderNetwork: "192.168.254.0" }, /"192.168.254.0" for --route-extender-network.*not an IPv4 CIDR/],
    [{ routeExtenderNetwork: "300.300.300.300/300" }, /--route-extender-network/],
    [{ routeExtenderNetwork: "192.168.254.0/32" }, /prefix must be \/8 to \/30/],
    [{ routeExtenderNetwork: "192.168.254.0/31" }, /prefix must be \/8 to \/30/],
    [{ routeExtenderNetwork: "10.0.0.0/7" }, /prefix must be \/8 to \/30/],
    [{ routeExtenderNetwork: "10.0.0.0/0" }, /prefix must be \/8 to \/30/],
    [{ routeExtenderVni: "0" }, /"0" for --route-extender-vni/],
    [{ routeExtenderVni: "16777216" }, /--route-extender-vni/],
    [{ routeExtenderPort: "65536" }, /"65536" for --route-extender-port/],
    [{ routeExtenderPort: "0" }, /--route-extender-port/],
    [{ routeExtenderVtepIp: "10.102.33" }, /"10.102.33" for --route-extender-vtep-ip \(REMOTE_VTEPIP\): not an IPv4 address/],
    [{ routeExtenderType: "vxlan" }, /"vxlan" for --route-extender-type \(TYPE\): must be exactly VXLAN or IPIP/],
    [{ routeExtenderType: "GRE" }, /--route-extender-type/],
    [{ routeExtenderType: "IPIP" }, /--route-extender-tunnel-endpoint \(REMOTE_TUNNEL_ENDPOINT\): required/],
  ];
  for (const [more, want] of bad) {
    const r = extenderSettings({ ...E1_CONFIG, ...more });
    assert.ok("errors" in r, JSON.stringify(more));
    assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
    assert.match(r.errors[0]!, want);
    assert.doesNotMatch(r.errors[0]!, /\n/);
  }
  const ep = (network: string) => numberToIpv4(endpointIpOf(parseNetwork(network)!));
  assert.deepEqual(["192.168.254.77/24", "20.20.20.200/25", "10.0.0.0/8", "192.168.1.0/28", "172.20.128.0/17"].map(ep),
    ["192.168.254.254", "20.20.20.254", "10.255.255.254", "192.168.1.14", "172.20.255.254"]);
  assert.equal(data(render({ ...E1_CONFIG, routeExtenderNetwork: "20.20.20.200/25" }).state)["Interface-10.0.0.11"], "20.20.20.129");
});

test("E6 [fix] C5: given kube-router with podCIDR 10.244.2.0/24, then VTEP kube-routerkube-bridge and CNI- 10.244.2.1/24; without a pod CIDR, no CNI- and no Node- key", () => {
  const d = data(render(E1_CONFIG, [node("worker-b", "10.0.0.12", "10.244.2.0/24"), node("bare", "10.0.0.30", undefined)], undefined, "worker-b").state);
  assert.equal(d["VTEP"], "kube-routerkube-bridge");
  assert.equal(d["CNI-10.0.0.12"], "10.244.2.1/24");
  assert.deepEqual(Object.keys(d).filter((k) => k.endsWith("10.0.0.30")), ["Interface-10.0.0.30", "Mac-10.0.0.30"]);
});

test("E7: given TYPE IPIP, then EndpointIP \"\", Type IPIP, Host- and Node- only; routertun0 and rp_filter 0, no iptables", () => {
  const out = render({ ...E1_CONFIG, routeExtenderType: "IPIP", routeExtenderTunnelEndpoint: "10.102.33.209" });
  assert.deepEqual(data(out.state), {
    EndpointIP: "", Type: "IPIP", "Host-uid-worker-a": "10.0.0.11", "Node-10.0.0.11": "10.0.0.11", "Host-uid-worker-b": "10.0.0.12", "Node-10.0.0.12": "10.0.0.12",
  });
  assert.deepEqual([...out.state.links!.values()], [{ name: "routertun0", kind: "ipip", up: true, tunnel: { local: "10.0.0.11", remote: "10.102.33.209" } }]);
  assert.deepEqual([...out.state.sysctls!.values()].map((s) => `${s.path}=${s.value}`), ["net/ipv4/conf/all/rp_filter=0", "net/ipv4/conf/default/rp_filter=0"]);
  assert.equal(out.state.chains!.size + out.state.jumps!.size + out.state.fdb!.size, 0);
});

test("off: given --run-route-extender=false, then the controller renders empty tables (its objects go)", () => {
  const out = render({ ...E1_CONFIG, runRouteExtender: false });
  for (const t of ["links", "addresses", "fdb", "chains", "jumps", "configMapKeys"] as const) assert.equal(out.state[t]!.size, 0, t);
});

test("allocation: given hand-edited duplicate and out-of-range Interface- values, then the offending keys are rewritten with a warning naming each", () => {
  const net = parseNetwork("192.168.254.0/24")!;
  const nodes = [{ name: "a", ip: "10.0.0.1" }, { name: "b", ip: "10.0.0.2" }, { name: "c", ip: "10.0.0.3" }, { name: "d", ip: "10.0.0.4" }];
  const r = allocateAddresses(net, nodes, { "Interface-10.0.0.1": "192.168.254.7", "Interface-10.0.0.2": "192.168.254.7", "Interface-10.0.0.3": "192.168.254.254", "Interface-10.0.0.4": "10.9.9.9" }, "kube-system/cm");
  assert.deepEqual(Object.fromEntries(r.addresses), { "10.0.0.1": "192.168.254.7", "10.0.0.2": "192.168.254.1", "10.0.0.3": "192.168.254.2", "10.0.0.4": "192.168.254.3" });
  assert.deepEqual(r.warnings, [
    "extender: ConfigMap kube-system/cm key Interface-10.0.0.2: 192.168.254.7 is already held by another node; rewritten",
    "extender: ConfigMap kube-system/cm key Interface-10.0.0.3: \"192.168.254.254\" is not an address of the pool (192.168.254.1-192.168.254.253); rewritten",
    "extender: ConfigMap kube-system/cm key Interface-10.0.0.4: \"10.9.9.9\" is not an address of the pool (192.168.254.1-192.168.254.253); rewritten",
  ]);
});

test("allocation property: whatever the nodes and the hand-edited data, no duplicate, always in the pool, never EndpointIP or network/broadcast", () => {
  const net = parseNetwork("10.10.10.0/28")!; // pool .1-.13, EndpointIP .14
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
    fc.dictionary(fc.integer({ min: 1, max: 40 }).map((i) => `Interface-10.0.1.${i}`), fc.oneof(fc.integer({ min: 0, max: 20 }).map((i) => `10.10.10.${i}`), fc.constant("junk"))),
    (ids, hand) => {
      const nodes = ids.map((i) => ({ name: `n${i}`, ip: `10.0.1.${i}` }));
      const r = allocateAddresses(net, nodes, hand, "ns/cm");
      const got = [...r.addresses.values()];
      assert.equal(new Set(got).size, got.length);
      for (const a of got) { const n = ipv4ToNumber(a)!; assert.ok(n > net.network && n < endpointIpOf(net), a); }
      assert.equal(r.addresses.size, Math.min(nodes.length, 13));
    },
  ));
});

test("MAC: derived from metadata.uid, stable, locally administered unicast, distinct from the overlay's vtepMac", () => {
  assert.equal(extenderMac("uid-1"), extenderMac("uid-1"));
  assert.notEqual(extenderMac("uid-1"), extenderMac("uid-2"));
  assert.equal(parseInt(extenderMac("uid-1").slice(0, 2), 16) & 3, 2);
  assert.notEqual(extenderMac("worker-a"), vtepMac("worker-a", "ipv4"));
});
