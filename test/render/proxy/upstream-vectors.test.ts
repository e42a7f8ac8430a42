/**
 * Upstream's own service-proxy test vectors (kube-router-features.md §8.4) not pinned
 * elsewhere, each as a named test rendered through the pure proxy renderer:
 * pkg/controllers/proxy/dsr_tcpmss_test.go (MSS per family), utils_test.go (fwmark
 * exhaustion) and ipset_fixture_test.go (kube-router-svip / -svip-prt members).
 * (#1, #6 and #8 are in render.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostFacts } from "../../../src/model/host.ts";
import { DSR_FWMARK_MAX } from "../../../src/model/names.ts";
import type { Chain } from "../../../src/model/state.ts";
import { allocateFwmarks, fnv1a32, fwmarkKey, renderProxyFull } from "../../../src/render/proxy/index.ts";
import { input, node, pod, service, slice, snapshot } from "./support.ts";

const DUAL_NODE = node("node1", "10.250.0.11", "10.244.1.0/24", {
  podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }, { type: "InternalIP", address: "fd00:250::11" }],
});
const host = (mtu: number): HostFacts => ({
  interfaces: [{ name: "lo", mtu: 65536, addrs: ["127.0.0.1/8", "::1/128"] }, { name: "eth0", mtu, addrs: ["10.250.0.11/24", "fd00:250::11/64"] }],
  cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" },
});

/** Dual-stack, with external IP ranges holding every VIP used here. */
const CFG = { enableIpv6: true, serviceExternalIpRange: ["198.51.100.0/24", "203.0.113.0/24", "fd00::/64", "fe80::/64"] };

/** A dual-stack DSR Service with external IPs `v4` and `v6` on port 80 of `protocol`, one local endpoint per family. */
function dsrCluster(protocol: "TCP" | "UDP", v4: string, v6: string) {
  const s = service("d", "10.96.0.1", {
    clusterIPs: ["10.96.0.1", "fd00:96::1"], externalIPs: [v4, v6], annotations: { "kube-router.io/service.dsr": "tunnel" },
    ports: [{ protocol, port: 80, targetPort: 8080 }],
  });
  const ref = { targetRef: { namespace: "default", name: "p" } };
  const sl4 = { ...slice("d", [["10.244.1.5", "node1", ref]], { name: "d-4" }) };
  const sl6 = { ...slice("d", [["fd00:10:244:1::5", "node1", ref]], { name: "d-6", family: "IPv6" }) };
  const fix = (sl: typeof sl4) => ({ ...sl, ports: sl.ports.map((p) => ({ ...p, protocol })) });
  return snapshot({ nodes: [DUAL_NODE], services: [s], slices: [fix(sl4), fix(sl6)], pods: [pod("default", "p", { nodeName: "node1", podIPs: ["10.244.1.5", "fd00:10:244:1::5"], containerID: "containerd://c1" })] });
}
const chainsOf = (full: ReturnType<typeof renderProxyFull>): Map<string, Chain> => {
  assert.ok("ok" in full.result, "error" in full.result ? full.result.error : "");
  return new Map([...(full.result.ok.state.chains ?? new Map()).values()].map((c: Chain) => [`${c.family}/${c.table}/${c.name}`, c]));
};

test("§8.4 dsr_tcpmss_test.go: node MTU 1500 ⇒ DSR MSS 1440 for IPv4 and 1400 for IPv6 (any address, incl. fe80::1 and fd00::1)", () => {
  for (const [v4, v6] of [["198.51.100.7", "fe80::1"], ["203.0.113.9", "fd00::1"]] as const) {
    // Given a dual-stack DSR TCP Service on a node whose node-IP link has MTU 1500
    const chains = chainsOf(renderProxyFull(input(dsrCluster("TCP", v4, v6), CFG, host(1500))));
    // Then the IPv4 clamp is 1500 − 60 and the IPv6 clamp (ip6tables) 1500 − 100
    assert.deepEqual(chains.get("ipv4/mangle/KUBE-ROUTER-DSR-MSS")?.rules, [
      `-s ${v4}/32 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440`,
    ]);
    assert.deepEqual(chains.get("ipv6/mangle/KUBE-ROUTER-DSR-MSS")?.rules, [
      `-s ${v6}/128 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400`,
    ]);
  }
  // And the clamp follows the MTU: 9000 ⇒ 8900 for IPv6
  const jumbo = chainsOf(renderProxyFull(input(dsrCluster("TCP", "198.51.100.7", "fd00::1"), CFG, host(9000))));
  assert.match(jumbo.get("ipv6/mangle/KUBE-ROUTER-DSR-MSS")!.rules[0]!, /--set-mss 8900$/);
});

test("§8.4 dsr_tcpmss_test.go: UDP ⇒ no TCPMSS; MARK rules are reached from PREROUTING and OUTPUT in both families", () => {
  // Given the same DSR Service over UDP
  const full = renderProxyFull(input(dsrCluster("UDP", "198.51.100.7", "fd00::1"), CFG, host(1500)));
  const chains = chainsOf(full);
  // Then no MSS chain in either family
  assert.equal(chains.has("ipv4/mangle/KUBE-ROUTER-DSR-MSS"), false);
  assert.equal(chains.has("ipv6/mangle/KUBE-ROUTER-DSR-MSS"), false);
  // And each family marks the VIP's UDP port with the service's fwmark
  const mark4 = fnv1a32(fwmarkKey("198.51.100.7", "udp", 80)) & DSR_FWMARK_MAX;
  assert.deepEqual(chains.get("ipv4/mangle/KUBE-ROUTER-DSR-MARK")?.rules, [`-d 198.51.100.7/32 -p udp -m udp --dport 80 -j MARK --set-xmark 0x${mark4.toString(16)}/0xffffffff`]);
  assert.equal(chains.get("ipv6/mangle/KUBE-ROUTER-DSR-MARK")?.rules.length, 1);
  // And the jumps to the MARK chain sit in PREROUTING and OUTPUT of iptables and ip6tables
  assert.ok("ok" in full.result);
  const jumps = [...(full.result.ok.state.jumps ?? new Map()).values()].filter((j) => j.rule.endsWith("-j KUBE-ROUTER-DSR-MARK"));
  assert.deepEqual(jumps.map((j) => `${j.family} ${j.table} ${j.chain}`).sort(), ["ipv4 mangle OUTPUT", "ipv4 mangle PREROUTING", "ipv6 mangle OUTPUT", "ipv6 mangle PREROUTING"]);
});

test("§8.4 utils_test.go fwmark exhaustion: when every mark is taken, the next key gets upstream's error text and no mark", () => {
  // Given more DSR keys than there are marks (0x3FFF usable values)
  const keys = Array.from({ length: DSR_FWMARK_MAX + 1 }, (_, i) => fwmarkKey(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "tcp", 80));
  const { marks, errors } = allocateFwmarks(keys);
  // Then no mark is handed out twice and none is 0 or above 0x3FFF
  assert.equal(new Set(marks.values()).size, marks.size);
  for (const m of marks.values()) assert.ok(m >= 1 && m <= DSR_FWMARK_MAX);
  // And every key either got a mark or is reported with upstream's text after 16380 tries
  assert.equal(marks.size + errors.length, keys.length);
  assert.ok(errors.length >= 1, "at least the key beyond the mark space fails");
  for (const e of errors) assert.match(e, /^could not obtain a unique FWMark for tcp:10\.\d+\.\d+\.\d+:80 after 16380 tries$/);
  const failed = keys.filter((k) => !marks.has(k));
  assert.equal(failed.length, errors.length);
  assert.equal(errors[0], `could not obtain a unique FWMark for tcp:${failed[0]!.split("-")[0]}:80 after 16380 tries`);
});

test("§8.4 utils_test.go: the same (ip, proto, port) always gets the same fwmark; a different key a different one", () => {
  // Given one key alone, and the same key among others
  const alone = allocateFwmarks([fwmarkKey("10.0.0.1", "tcp", 80)]).marks.get("10.0.0.1-tcp-80");
  const among = allocateFwmarks(["10.0.0.1-tcp-80", "10.0.0.1-tcp-81", "10.0.0.1-udp-80"]);
  // Then the mark is FNV-1a & 0x3FFF both times, and the other keys differ from it
  assert.equal(alone, fnv1a32("10.0.0.1-tcp-80") & 0x3fff);
  assert.equal(among.marks.get("10.0.0.1-tcp-80"), alone);
  assert.equal(new Set(among.marks.values()).size, 3);
});

test("§8.4 ipset_fixture_test.go: the fixture's Services give exactly upstream's kube-router-svip and kube-router-svip-prt members", () => {
  // Given the Services of testdata/ipset_test_1 (written down here; kube-dns with the metrics
  // port 9153 the snapshot also shows), dual-stack, external IP range 10.243.0.0/24, on kube-router-vm2
  const vm2 = node("kube-router-vm2", "10.241.0.21", "10.242.1.0/24", {
    podCIDRs: ["10.242.1.0/24", "2001:db8:42:1001::/64"], addresses: [{ type: "InternalIP", address: "10.241.0.21" }, { type: "InternalIP", address: "2001:db8:ca2:2::e7e5" }],
  });
  const tcp = (port: number) => ({ protocol: "TCP" as const, port, targetPort: port });
  const services = [
    service("blank-service", "10.96.156.243", { clusterIPs: ["10.96.156.243", "2001:db8:42:1::8e7d"], externalIPs: ["10.243.0.10"], annotations: { "kube-router.io/service.hairpin": "true" }, ports: [tcp(5000)] }),
    service("kubernetes", "10.96.0.1", { ports: [{ protocol: "TCP", port: 443, targetPort: 6443 }] }),
    service("my-service", "10.96.255.137", { ports: [{ protocol: "TCP", port: 80, targetPort: 9376 }] }),
    service("netcat-server", "10.96.115.202", { ports: [tcp(5000), { protocol: "UDP", port: 5001, targetPort: 5001 }] }),
    service("whoami", "10.96.243.193", { clusterIPs: ["10.96.243.193", "2001:db8:42:1::bd90"], externalIPs: ["10.243.0.1"], annotations: { "kube-router.io/service.hairpin": "true" }, ports: [tcp(5000)] }),
    { ...service("kube-dns", "10.96.0.10", { ports: [{ protocol: "UDP", port: 53, targetPort: 53 }, tcp(53), tcp(9153)] }), namespace: "kube-system" },
  ];
  const h: HostFacts = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.241.0.21/24", "2001:db8:ca2:2::e7e5/64"] }], cniConf: { path: "/etc/cni/net.d/10-kuberouter.conflist" } };
  const full = renderProxyFull({ ...input(snapshot({ nodes: [vm2], services }), { enableIpv6: true, serviceExternalIpRange: ["10.243.0.0/24"] }, h), nodeName: "kube-router-vm2" });
  assert.ok("ok" in full.result, "error" in full.result ? full.result.error : "");
  const sets = new Map([...full.result.ok.state.ipsets!.values()].map((s) => [s.name, [...s.members].sort()]));
  // Then the members are upstream's snapshot's, set for set
  assert.deepEqual(sets.get("kube-router-svip"), ["10.243.0.1", "10.96.156.243", "10.96.255.137", "10.243.0.10", "10.96.0.1", "10.96.115.202", "10.96.243.193", "10.96.0.10"].sort());
  assert.deepEqual(sets.get("kube-router-svip-prt"), [
    "10.96.115.202,udp:5001", "10.96.0.1,tcp:443", "10.96.0.10,tcp:9153", "10.96.243.193,tcp:5000", "10.96.115.202,tcp:5000", "10.96.156.243,tcp:5000",
    "10.243.0.10,tcp:5000", "10.243.0.1,tcp:5000", "10.96.0.10,tcp:53", "10.96.0.10,udp:53", "10.96.255.137,tcp:80",
  ].sort());
  assert.deepEqual(sets.get("inet6:kube-router-svip"), ["2001:db8:42:1::8e7d", "2001:db8:42:1::bd90"]);
  assert.deepEqual(sets.get("inet6:kube-router-svip-prt"), ["2001:db8:42:1::8e7d,tcp:5000", "2001:db8:42:1::bd90,tcp:5000"]);
});
