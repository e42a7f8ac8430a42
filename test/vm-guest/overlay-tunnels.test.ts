/**
 * The ipip and fou overlays on a real kernel that has ipip, ip6_tunnel, fou and fou6 (this
 * host's kernel has none of them). Runs INSIDE the qemu VM only: test/vm/ipvs-vm.test.ts
 * boots it once for every guest test; `node scripts/vm/run-guest-tests.mjs
 * test/vm-guest/overlay-tunnels.test.ts` runs just this file. Skipped anywhere else.
 *
 * Topology: test/e2e/overlay-vxlan.test.ts's, dual-stack (every namespace is `kot-…`, deleted
 * in `after` whatever happens):
 * - router `kot-rt`: bridges br1 (10.250.1.1/24, fd00:250:1::1/64) and br2 (10.250.2.1/24,
 *   fd00:250:2::1/64), forwarding on, and NO route to any pod CIDR;
 * - nodes n1, n2 on subnet 1 (10.250.1.11/.12, fd00:250:1::11/::12), n3, n4 on subnet 2;
 * - one pod per node behind kube-bridge: 10.244.N.2/24 and fd00:244:N::2/64 (the test plays
 *   the CNI plugin, with the overlay's pod MTU).
 * Each node syncs through the real engine with the real ip and bridge drivers
 * (test/support/overlay-sync.ts); one driver set per node for the whole file, so the ip
 * driver's `wantsFullSync` carries over between syncs as in the agent.
 *
 * Stories: ipip (ipip + ip6tnl) then fou (GUE over both families) in `subnet` mode: tunnels
 * named `tunnelName(peer IP)` to the other subnet's nodes only; every pod pings every pod in
 * both families; a pod packet of the advertised MTU with DF set gets through; the tunnels the
 * kernel reports (`ip -d -j addr show`) and the FoU ports (`ip -j fou show`) parse back to
 * exactly what was rendered, so a re-sync writes nothing; switching ipip → fou re-creates the
 * tunnels, the ip driver asks for the full sync that re-adds their routes, and the overlay
 * converges; the engine's cleanup removes our tunnels, routes and rules.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { realExec, recordingExec } from "../../src/apply/exec.ts";
import { parseFouPorts } from "../../src/apply/ip/fou.ts";
import { parseAddrShow } from "../../src/apply/ip/parse.ts";
import { type ClusterSnapshot, type NodeInfo, emptySnapshot } from "../../src/model/cluster.ts";
import { tunnelName } from "../../src/model/names.ts";
import type { OverlayConfig } from "../../src/render/overlay.ts";
import { type OverlayNode, overlayNode, planSize, syncOverlay } from "../support/overlay-sync.ts";

const skip = process.env["IVM"] === "1" ? false : "runs only inside the qemu VM (scripts/vm/run-guest-tests.mjs)";
const P = "kot";
const RT = `${P}-rt`;
const N = [1, 2, 3, 4] as const;
const subnet = (n: number): number => (n <= 2 ? 1 : 2);
const nodeNs = (n: number): string => `${P}-n${n}`;
const podNs = (n: number): string => `${P}-p${n}`;
const nodeIp = (n: number, v6: boolean): string => (v6 ? `fd00:250:${subnet(n)}::1${n}` : `10.250.${subnet(n)}.1${n}`);
const podIp = (n: number, v6: boolean): string => (v6 ? `fd00:244:${n}::2` : `10.244.${n}.2`);
const created: string[] = [];

const run = (cmd: string): string => execFileSync("sh", ["-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const sh = (ns: string, cmd: string): string =>
  execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function nodeInfo(n: number): NodeInfo {
  return {
    name: `node${n}`, uid: `uid-${n}`, labels: {}, annotations: {},
    podCIDR: `10.244.${n}.0/24`, podCIDRs: [`10.244.${n}.0/24`, `fd00:244:${n}::/64`],
    addresses: [{ type: "InternalIP", address: nodeIp(n, false) }, { type: "InternalIP", address: nodeIp(n, true) }],
  };
}
const snapshot: ClusterSnapshot = { ...emptySnapshot(), nodes: new Map(N.map((n) => [`node${n}`, nodeInfo(n)])) };
const config = (overlayEncap: "ipip" | "fou"): OverlayConfig => ({
  enableIpv4: true, enableIpv6: true, enableOverlay: true, overlayType: "subnet", overlayEncap, overlayEncapPort: 0, autoMtu: true,
});

/** One agent per node: its recording exec and its drivers, for the whole file. */
const agents = new Map<number, { rec: ReturnType<typeof recordingExec>; node: OverlayNode }>();
function agent(n: number) {
  let a = agents.get(n);
  if (a === undefined) {
    const rec = recordingExec(realExec({ netns: nodeNs(n) }));
    a = { rec, node: overlayNode(rec) };
    agents.set(n, a);
  }
  return a;
}

interface NodeSync { changes: number; writes: number; podMtu?: number; fullSync?: string; tunnels: Map<string, unknown> }
/** Syncs every node once through the engine: per node the plan size, the writes it took, the ip driver's full-sync request. */
async function syncAll(encap: "ipip" | "fou"): Promise<Record<number, NodeSync>> {
  const out: Record<number, NodeSync> = {};
  for (const n of N) {
    const { rec, node } = agent(n);
    const before = rec.calls.length;
    const r = await syncOverlay(node, snapshot, config(encap), `node${n}`).catch((e: unknown) => {
      throw new Error(`node ${n}: ${(e as Error).message}\n${rec.calls.slice(before).filter((c) => c.write).map((c) => `${c.cmd} ${c.args.join(" ")}\n${c.stdin ?? ""}`).join("")}`);
    });
    const podMtu = r.desired.links.get("kube-bridge")?.mtu;
    const fullSync = node.ip.wantsFullSync?.();
    out[n] = {
      changes: planSize(r.plan),
      writes: rec.calls.slice(before).filter((c) => c.write).length,
      ...(podMtu !== undefined ? { podMtu } : {}),
      ...(fullSync !== undefined ? { fullSync } : {}),
      tunnels: new Map([...r.desired.links].filter(([k]) => k.startsWith("tun-"))),
    };
  }
  return out;
}

/** The tunnel names node `n` must have in subnet mode: one per family to each node of the other subnet. */
const expectedTunnels = (n: number): string[] =>
  N.filter((m) => subnet(m) !== subnet(n)).flatMap((m) => [tunnelName(nodeIp(m, false)), tunnelName(nodeIp(m, true))]).sort();

/** Pod plumbing (the CNI plugin's part) once kube-bridge exists: gateway addresses, pod veth, default routes. */
function plumbPods(mtu: number): void {
  const lines: string[] = [];
  for (const n of N) {
    lines.push(
      `ip -n ${nodeNs(n)} addr add 10.244.${n}.1/24 dev kube-bridge`, `ip -n ${nodeNs(n)} -6 addr add fd00:244:${n}::1/64 dev kube-bridge nodad`,
      `ip link add kotv${n} netns ${nodeNs(n)} type veth peer name eth0 netns ${podNs(n)}`,
      `ip -n ${nodeNs(n)} link set kotv${n} mtu ${mtu} master kube-bridge up`,
      `ip -n ${podNs(n)} link set eth0 mtu ${mtu} up`, `ip -n ${podNs(n)} addr add ${podIp(n, false)}/24 dev eth0`,
      `ip -n ${podNs(n)} -6 addr add ${podIp(n, true)}/64 dev eth0 nodad`,
      `ip -n ${podNs(n)} route add default via 10.244.${n}.1`, `ip -n ${podNs(n)} -6 route add default via fd00:244:${n}::1`,
    );
  }
  run(`set -e\n${lines.join("\n")}`);
}
/** The CNI plugin follows a pod MTU change: the pod veth pair of every node. */
function setPodMtu(mtu: number): void {
  run(`set -e\n${N.map((n) => `ip -n ${nodeNs(n)} link set kotv${n} mtu ${mtu}\nip -n ${podNs(n)} link set eth0 mtu ${mtu}`).join("\n")}`);
}

/**
 * Every ordered pod pair in both families (one shell per source pod, each ping retried up to
 * 3 times: the first packet may wait for ARP/ND): the number of pairs that got a reply, and the
 * failed ones.
 */
function pingMatrix(): { ok: number; failed: string[] } {
  let ok = 0;
  const failed: string[] = [];
  for (const a of N) {
    const targets = N.filter((b) => b !== a).flatMap((b) => [`${b}/4/${podIp(b, false)}`, `${b}/6/${podIp(b, true)}`]);
    const outText = sh(podNs(a), `for t in ${targets.join(" ")}; do d=\${t##*/}; f=\${t#*/}; f=\${f%%/*}; r=0; for i in 1 2 3; do if ping -$f -c1 -W1 $d >/dev/null 2>&1; then r=1; break; fi; done; echo "$t $r"; done`);
    for (const line of outText.trim().split("\n")) {
      const [t, r] = line.split(" ");
      const [b, f] = (t ?? "").split("/");
      if (r === "1") ok++;
      else failed.push(`v${f} ${a}->${b}`);
    }
  }
  return { ok, failed };
}
/** True when pod `from` gets a reply to an unfragmentable packet of exactly `mtu` bytes (IP header included). */
function dfPing(from: number, to: number, v6: boolean, mtu: number): boolean {
  const size = mtu - (v6 ? 48 : 28);
  try {
    sh(podNs(from), `ping -${v6 ? 6 : 4} -c1 -W2 -M do -s ${size} ${podIp(to, v6)} >/dev/null 2>&1 || ping -${v6 ? 6 : 4} -c1 -W2 -M do -s ${size} ${podIp(to, v6)}`);
    return true;
  } catch {
    return false;
  }
}
/** UDP datagrams node `n`'s kernel received (both families): GUE arrives as UDP, ipip does not. */
function udpIn(n: number): number {
  const text = sh(nodeNs(n), "cat /proc/net/snmp /proc/net/snmp6");
  const v4 = text.split("\n").filter((l) => l.startsWith("Udp:"));
  const idx = (v4[0] ?? "").split(/\s+/).indexOf("InDatagrams");
  const a = Number((v4[1] ?? "").split(/\s+/)[idx] ?? NaN);
  const b = Number(/^Udp6InDatagrams\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  return a + b;
}
/** Our tunnels as the kernel reports them (`ip -d -j addr show`), raw and parsed. */
function kernelTunnels(n: number) {
  const dump = sh(nodeNs(n), "ip -d -j addr show");
  const raw = (JSON.parse(dump) as { ifname: string; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } }[]).filter((e) => e.ifname.startsWith("tun-"));
  const parsed = new Map([...parseAddrShow(dump).links].filter(([k]) => k.startsWith("tun-")));
  return { raw, parsed };
}

before(() => {
  if (skip) return;
  const lines: string[] = [`ip netns add ${RT}`, `ip -n ${RT} link set lo up`, `ip netns exec ${RT} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`];
  created.push(RT);
  for (const s of [1, 2]) {
    lines.push(`ip -n ${RT} link add br${s} type bridge`, `ip -n ${RT} link set br${s} up`,
      `ip -n ${RT} addr add 10.250.${s}.1/24 dev br${s}`, `ip -n ${RT} -6 addr add fd00:250:${s}::1/64 dev br${s} nodad`);
  }
  for (const n of N) {
    const s = subnet(n);
    created.push(nodeNs(n), podNs(n));
    lines.push(
      `ip netns add ${nodeNs(n)}`, `ip netns add ${podNs(n)}`, `ip -n ${nodeNs(n)} link set lo up`, `ip -n ${podNs(n)} link set lo up`,
      `ip link add eth0 netns ${nodeNs(n)} type veth peer name vn${n} netns ${RT}`, `ip -n ${RT} link set vn${n} master br${s} up`,
      `ip netns exec ${nodeNs(n)} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`,
      `ip -n ${nodeNs(n)} addr add ${nodeIp(n, false)}/24 dev eth0`, `ip -n ${nodeNs(n)} -6 addr add ${nodeIp(n, true)}/64 dev eth0 nodad`,
      `ip -n ${nodeNs(n)} link set eth0 up`,
      `ip -n ${nodeNs(n)} route add default via 10.250.${s}.1`, `ip -n ${nodeNs(n)} -6 route add default via fd00:250:${s}::1`,
    );
  }
  run(`set -e\n${lines.join("\n")}`);
});

after(() => {
  if (skip) return;
  for (const ns of created.reverse()) {
    try { execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }); } catch { /* already gone */ }
  }
});

// Three stories in order, each building on the previous one's kernel state (top-level tests
// of one file run one after another), so the host's report (test/vm/ipvs-vm.test.ts) names
// each one.
let podMtu = 0;
/** Stories that passed so far: a later one fails fast, naming the earlier failure, instead of running on broken state. */
let passed = 0;
const requirePassed = (n: number): void => assert.equal(passed, n, `an earlier overlay story failed (${passed} of ${n} passed)`);

test("ipip overlay: given 4 nodes on 2 subnets, when each syncs --overlay-encap ipip, then tunnels named after the other subnet's node IPs carry every pod's pings (v4 and v6, DF at the pod MTU) and a re-sync writes nothing", { skip }, async (s) => {
  requirePassed(0);
  const first = await syncAll("ipip");
  for (const n of N) assert.ok(first[n]!.changes > 0 && first[n]!.writes > 0, `node ${n} applied something`);
  podMtu = first[1]!.podMtu!;
  assert.equal(podMtu, 1452, "pod MTU = 1500 − 48 (ip6tnl: outer IPv6 + its encapsulation limit option)");
  plumbPods(podMtu);
  // The router has no route to any pod CIDR: only the tunnels can carry cross-subnet traffic.
  assert.doesNotMatch(sh(RT, "ip route; ip -6 route"), /10\.244\.|fd00:244:/);
  for (const n of N) {
    const k = kernelTunnels(n);
    assert.deepEqual(k.raw.map((e) => e.ifname).sort(), expectedTunnels(n), `node ${n}: tunnels to the other subnet only, named tunnelName(peer IP)`);
    assert.deepEqual(k.raw.map((e) => e.linkinfo?.info_kind).sort(), ["ip6tnl", "ip6tnl", "ipip", "ipip"]);
    for (const e of k.raw) assert.equal(e.linkinfo?.info_data?.["encap"], undefined, `${e.ifname}: no encap`);
    assert.deepEqual(k.parsed, first[n]!.tunnels, `node ${n}: the kernel's tunnels parse back to what was rendered`);
  }
  const udp = udpIn(3);
  const m = pingMatrix();
  assert.deepEqual(m.failed, [], "every pod reaches every pod");
  assert.equal(m.ok, 24, "24 pings: 12 ordered pod pairs × 2 families");
  assert.ok(udpIn(3) - udp < 3, "ipip carries no UDP");
  for (const v6 of [false, true]) {
    assert.ok(dfPing(1, 3, v6, podMtu), `${v6 ? "v6" : "v4"} ping of ${podMtu} bytes with DF, 1 → 3`);
    assert.ok(dfPing(4, 2, v6, podMtu), `${v6 ? "v6" : "v4"} ping of ${podMtu} bytes with DF, 4 → 2`);
  }
  const again = await syncAll("ipip");
  for (const n of N) assert.deepEqual([again[n]!.changes, again[n]!.writes, again[n]!.fullSync], [0, 0, undefined], `node ${n}: no-op sync`);
  passed = 1;
  s.diagnostic(`ipip: ${m.ok}/24 pod pings ok, 4 DF pings at MTU ${podMtu} ok`);
});

test("ipip → fou: given the ipip overlay, when the encap switches to fou, then the tunnels are re-created with GUE, the ip driver asks for the full sync that re-adds their routes, and pods reach every pod over UDP", { skip }, async (s) => {
  requirePassed(1);
  const sw = await syncAll("fou");
  for (const n of N) {
    assert.ok(sw[n]!.changes > 0, `node ${n} changed`);
    assert.match(sw[n]!.fullSync ?? "", /^links re-created/, `node ${n}: the ip driver asks for a full sync`);
    for (const name of expectedTunnels(n)) assert.ok(sw[n]!.fullSync!.includes(name), `node ${n}: ${name} named in the request`);
  }
  // The requested full sync: it observes (clearing the request) and re-adds what the kernel
  // dropped with the old links (the routes via the tunnels).
  const full = await syncAll("fou");
  for (const n of N) {
    assert.ok(full[n]!.changes > 0 && full[n]!.writes > 0, `node ${n}: the full sync repairs`);
    assert.equal(full[n]!.fullSync, undefined, `node ${n}: nothing more to ask`);
    assert.match(sh(nodeNs(n), "ip route show proto 17; ip -6 route show proto 17"), new RegExp(`dev ${expectedTunnels(n)[0]}`));
  }
  podMtu = full[1]!.podMtu!;
  assert.equal(podMtu, 1440, "pod MTU = 1500 − 60 (ip6tnl 48 + UDP 8 + GUE 4)");
  setPodMtu(podMtu);
  for (const n of N) {
    const k = kernelTunnels(n);
    assert.deepEqual(k.raw.map((e) => e.ifname).sort(), expectedTunnels(n), `node ${n}: same tunnel names`);
    for (const e of k.raw) {
      const d = e.linkinfo?.info_data ?? {};
      assert.deepEqual([d["ttl"], (d["encap"] as { type?: string; dport?: number } | undefined)?.type, (d["encap"] as { dport?: number } | undefined)?.dport], [225, "gue", 5555], `${e.ifname}: ttl 225, GUE to 5555`);
    }
    assert.deepEqual(k.parsed, full[n]!.tunnels, `node ${n}: the kernel's GUE tunnels parse back to what was rendered`);
    const fou4 = sh(nodeNs(n), "ip -j fou show");
    assert.deepEqual([...parseFouPorts(fou4, "ipv4"), ...parseFouPorts(sh(nodeNs(n), "ip -6 -j fou show"), "ipv6")], [{ family: "ipv4", port: 5555 }, { family: "ipv6", port: 5555 }], `node ${n}: GUE receive ports`);
  }
  const udp = udpIn(3);
  const m = pingMatrix();
  assert.deepEqual(m.failed, [], "every pod reaches every pod");
  assert.equal(m.ok, 24);
  assert.ok(udpIn(3) - udp >= 8, `node 3 received its cross-subnet pings as UDP (GUE): ${udpIn(3) - udp}`);
  for (const v6 of [false, true]) {
    assert.ok(dfPing(1, 3, v6, podMtu), `${v6 ? "v6" : "v4"} ping of ${podMtu} bytes with DF, 1 → 3`);
    assert.ok(dfPing(4, 2, v6, podMtu), `${v6 ? "v6" : "v4"} ping of ${podMtu} bytes with DF, 4 → 2`);
  }
  const again = await syncAll("fou");
  for (const n of N) assert.deepEqual([again[n]!.changes, again[n]!.writes, again[n]!.fullSync], [0, 0, undefined], `node ${n}: no-op sync`);
  passed = 2;
  s.diagnostic(`fou: ${m.ok}/24 pod pings ok, 4 DF pings at MTU ${podMtu} ok, ${udpIn(3) - udp} UDP datagrams into node 3`);
});

test("fou cleanup: given the fou overlay, when every node runs the engine's cleanup (what --cleanup-config removes), then our tunnels, routes and rules are gone", { skip }, async () => {
  requirePassed(2);
  for (const n of N) await syncOverlay(agent(n).node, snapshot, config("fou"), `node${n}`, "cleanup");
  for (const n of N) {
    assert.doesNotMatch(sh(nodeNs(n), "ip -o link show"), /tun-|kube-bridge/);
    assert.doesNotMatch(sh(nodeNs(n), "ip route show table all proto 17; ip -6 route show table all proto 17"), /\S/);
    assert.doesNotMatch(sh(nodeNs(n), "ip rule; ip -6 rule"), /lookup 77/);
  }
});
