/**
 * The vxlan overlay on the real kernel, dual-stack, applied with the real tools
 * (`ip -batch`, `bridge -batch`, run inside each node namespace through `ip netns exec`).
 *
 * Topology (every namespace is `kov-<pid>-…`, deleted in `after` whatever happens; no host
 * interface is touched, no packet leaves these namespaces):
 * - router `kov-<pid>-rt`: bridges br1 (10.250.1.1/24, fd00:250:1::1/64) and br2
 *   (10.250.2.1/24, fd00:250:2::1/64), forwarding on, and NO route to any pod CIDR;
 * - nodes n1, n2 on subnet 1 (10.250.1.11/.12, fd00:250:1::11/::12), n3, n4 on subnet 2
 *   (10.250.2.13/.14, …), eth0 a veth into the router's bridge, default routes via it;
 * - one pod per node behind kube-bridge: 10.244.N.2/24 and fd00:244:N::2/64 (the test plays
 *   the CNI plugin: gateway .1 / ::1 on kube-bridge, pod veth with the overlay's pod MTU).
 * Each node syncs through the real engine (agent/engine.ts syncNode: router render with the
 * overlay folded in, observe, diff, apply) with the real ip and bridge drivers
 * (test/support/overlay-sync.ts), host facts read from its own namespace.
 * ipip and fou are not tested here: this kernel has no ipip/fou modules. The same topology
 * runs them in the qemu VM tier (test/vm-guest/overlay-tunnels.test.ts, booted by
 * test/vm/ipvs-vm.test.ts) and on the fakes (test/apply/overlay-fake.test.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { realExec, recordingExec } from "../../src/apply/exec.ts";
import { type ClusterSnapshot, type NodeInfo, emptySnapshot } from "../../src/model/cluster.ts";
import { vtepMac } from "../../src/model/overlay.ts";
import type { OverlayConfig } from "../../src/render/overlay.ts";
import { overlayNode, planSize, syncOverlay } from "../support/overlay-sync.ts";

const root = process.getuid?.() === 0;
const P = `kov-${process.pid}`;
const RT = `${P}-rt`;
const N = [1, 2, 3, 4] as const;
const subnet = (n: number): number => (n <= 2 ? 1 : 2);
const nodeNs = (n: number): string => `${P}-n${n}`;
const podNs = (n: number): string => `${P}-p${n}`;
const created: string[] = [];

const sh = (ns: string, cmd: string): string =>
  execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
function addNs(name: string): void {
  execFileSync("ip", ["netns", "add", name]);
  created.push(name);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
}

function nodeInfo(n: number): NodeInfo {
  const s = subnet(n);
  return {
    name: `node${n}`, uid: `uid-${n}`, labels: {}, annotations: {},
    podCIDR: `10.244.${n}.0/24`, podCIDRs: [`10.244.${n}.0/24`, `fd00:244:${n}::/64`],
    addresses: [{ type: "InternalIP", address: `10.250.${s}.1${n}` }, { type: "InternalIP", address: `fd00:250:${s}::1${n}` }],
  };
}
const snapshotOf = (nodes: readonly number[]): ClusterSnapshot => ({ ...emptySnapshot(), nodes: new Map(nodes.map((n) => [`node${n}`, nodeInfo(n)])) });
const config = (overlayType: "subnet" | "full"): OverlayConfig => ({
  enableIpv4: true, enableIpv6: true, enableOverlay: true, overlayType, overlayEncap: "vxlan", overlayEncapPort: 0, autoMtu: true,
});
const execOf = (n: number) => recordingExec(realExec({ netns: nodeNs(n) }));

/** Syncs every listed node through the engine; returns per node the plan size and the writes it took. */
async function syncAll(nodes: readonly number[], snap: ClusterSnapshot, type: "subnet" | "full") {
  const out: Record<number, { changes: number; writes: number; podMtu?: number }> = {};
  for (const n of nodes) {
    const exec = execOf(n);
    const r = await syncOverlay(overlayNode(exec), snap, config(type), `node${n}`).catch((e: unknown) => {
      throw new Error(`node ${n}: ${(e as Error).message}\n${exec.calls.filter((c) => c.write).map((c) => `${c.cmd} ${c.args.join(" ")}\n${c.stdin ?? ""}`).join("")}`);
    });
    const podMtu = r.desired.links.get("kube-bridge")?.mtu;
    out[n] = { changes: planSize(r.plan), writes: exec.writes(), ...(podMtu !== undefined ? { podMtu } : {}) };
  }
  return out;
}

function plumbPod(n: number, mtu: number): void {
  const ns = nodeNs(n);
  sh(ns, `ip addr add 10.244.${n}.1/24 dev kube-bridge && ip -6 addr add fd00:244:${n}::1/64 dev kube-bridge nodad`);
  execFileSync("ip", ["link", "add", `kovp${process.pid % 10000}${n}`, "netns", ns, "type", "veth", "peer", "name", "eth0", "netns", podNs(n)]);
  sh(ns, `ip link set kovp${process.pid % 10000}${n} mtu ${mtu} master kube-bridge up`);
  sh(podNs(n), `ip link set eth0 mtu ${mtu} up && ip addr add 10.244.${n}.2/24 dev eth0 && ip -6 addr add fd00:244:${n}::2/64 dev eth0 nodad && ip route add default via 10.244.${n}.1 && ip -6 route add default via fd00:244:${n}::1`);
}

/** True when pod `from` gets an echo reply from pod `to` (up to 3 tries: the first packet may wait for ARP/ND). */
function ping(from: number, to: number, v6: boolean, size?: number): boolean {
  const dst = v6 ? `fd00:244:${to}::2` : `10.244.${to}.2`;
  const args = `${v6 ? "-6 " : ""}-c1 -W1${size !== undefined ? ` -M do -s ${size}` : ""} ${dst}`;
  for (let i = 0; i < 3; i++) {
    try { sh(podNs(from), `ping ${args}`); return true; } catch { /* retry */ }
  }
  return false;
}
/** Every ordered pod pair among `nodes` in both families: the pairs that failed. */
function pingMatrix(nodes: readonly number[]): string[] {
  const failed: string[] = [];
  for (const a of nodes) for (const b of nodes) {
    if (a === b) continue;
    if (!ping(a, b, false)) failed.push(`v4 ${a}->${b}`);
    if (!ping(a, b, true)) failed.push(`v6 ${a}->${b}`);
  }
  return failed;
}
const fdbOf = (n: number): { mac: string; ifname: string; dst?: string }[] => JSON.parse(sh(nodeNs(n), "bridge -j fdb show")) as { mac: string; ifname: string; dst?: string }[];
const txPackets = (n: number, dev: string): number =>
  (JSON.parse(sh(nodeNs(n), `ip -s -j link show ${dev}`)) as { stats64: { tx: { packets: number } } }[])[0]?.stats64.tx.packets ?? -1;

before(() => {
  if (!root) return;
  addNs(RT);
  sh(RT, "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
  for (const s of [1, 2]) {
    sh(RT, `ip link add br${s} type bridge && ip link set br${s} up && ip addr add 10.250.${s}.1/24 dev br${s} && ip -6 addr add fd00:250:${s}::1/64 dev br${s} nodad`);
  }
  for (const n of N) {
    const s = subnet(n);
    addNs(nodeNs(n));
    addNs(podNs(n));
    execFileSync("ip", ["link", "add", "eth0", "netns", nodeNs(n), "type", "veth", "peer", "name", `vn${n}`, "netns", RT]);
    sh(RT, `ip link set vn${n} master br${s} up`);
    sh(nodeNs(n), [
      "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
      `ip addr add 10.250.${s}.1${n}/24 dev eth0`, `ip -6 addr add fd00:250:${s}::1${n}/64 dev eth0 nodad`, "ip link set eth0 up",
      `ip route add default via 10.250.${s}.1`, `ip -6 route add default via fd00:250:${s}::1`,
    ].join(" && "));
  }
  // Foreign objects on node 1 that every sync must leave alone: another vxlan device with an
  // FDB and a neighbour entry, and a permanent neighbour on eth0.
  sh(nodeNs(1), [
    "ip link add vx-foreign type vxlan id 99 dstport 4790 local 10.250.1.11 nolearning", "ip link set vx-foreign up",
    "bridge fdb append 00:00:00:00:00:00 dev vx-foreign dst 10.250.1.99 self permanent",
    "ip neigh replace 10.99.0.1 lladdr 0e:00:00:00:99:01 dev vx-foreign nud permanent",
    "ip neigh replace 10.250.1.98 lladdr 0e:00:00:00:99:02 dev eth0 nud permanent",
  ].join(" && "));
});

after(() => {
  for (const ns of created.reverse()) {
    try { execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }); } catch { /* already gone */ }
  }
});

const foreignIntact = (): void => {
  assert.ok(fdbOf(1).some((e) => e.ifname === "vx-foreign" && e.dst === "10.250.1.99"), "foreign FDB entry on vx-foreign survives");
  const neigh = sh(nodeNs(1), "ip neigh show");
  assert.match(neigh, /10\.99\.0\.1 dev vx-foreign lladdr 0e:00:00:00:99:01 PERMANENT/);
  assert.match(neigh, /10\.250\.1\.98 dev eth0 lladdr 0e:00:00:00:99:02 PERMANENT/);
};

test("vxlan overlay, dual-stack, on the kernel: subnet → full → node removed → everything removed", { skip: root ? false : "needs root" }, async (t) => {
  const all = snapshotOf(N);

  await t.test("given 4 nodes on 2 subnets, when each syncs the subnet overlay, then every pod reaches every pod (v4 and v6) and a re-sync writes nothing", async () => {
    const first = await syncAll(N, all, "subnet");
    for (const n of N) assert.ok(first[n]!.changes > 0 && first[n]!.writes > 0, `node ${n} applied something`);
    const mtu = first[1]!.podMtu!;
    assert.equal(mtu, 1430, "pod MTU = 1500 − 70 (vxlan over IPv6 is the larger overhead)");
    for (const n of N) plumbPod(n, mtu);
    // The router namespace has no route to any pod CIDR: only the overlay can carry cross-subnet traffic.
    assert.doesNotMatch(sh(RT, "ip route; ip -6 route"), /10\.244\.|fd00:244:/);
    const tx = txPackets(1, "kube-vxlan");
    assert.deepEqual(pingMatrix(N), [], "24 pings (12 ordered pairs × 2 families)");
    assert.ok(txPackets(1, "kube-vxlan") > tx, "node 1's cross-subnet pings left through kube-vxlan");
    // Subnet mode: same-subnet peers are direct; node 1 holds FDB entries for nodes 3 and 4 only.
    const dsts = new Set(fdbOf(1).filter((e) => e.ifname === "kube-vxlan").map((e) => e.dst));
    assert.deepEqual([...dsts].sort(), ["10.250.2.13", "10.250.2.14"]);
    assert.ok(fdbOf(1).some((e) => e.ifname === "kube-vxlan" && e.mac === vtepMac("node3", "ipv4")), "node 3's VTEP MAC is in node 1's FDB");
    assert.match(sh(nodeNs(1), "ip -d link show kube-vxlan"), new RegExp(`link/ether ${vtepMac("node1", "ipv4")}.*\\n.*vxlan id 1 local 10.250.1.11 dev eth0 .*dstport 4789 nolearning`));
    // Path MTU: the largest unfragmentable pod packet fits through the overlay in both families.
    assert.ok(ping(1, 3, false, mtu - 28), `v4 ping of ${mtu} bytes with DF set, 1 → 3`);
    assert.ok(ping(1, 3, true, mtu - 48), `v6 ping of ${mtu} bytes, 1 → 3`);
    const again = await syncAll(N, all, "subnet");
    for (const n of N) assert.deepEqual([again[n]!.changes, again[n]!.writes], [0, 0], `node ${n}: no-op sync`);
    foreignIntact();
  });

  await t.test("given the subnet overlay, when the type switches to full, then same-subnet peers move onto the overlay, pods still reach every pod and a re-sync writes nothing", async () => {
    const sw = await syncAll(N, all, "full");
    for (const n of N) assert.ok(sw[n]!.changes > 0, `node ${n} changed`);
    const dsts = new Set(fdbOf(1).filter((e) => e.ifname === "kube-vxlan").map((e) => e.dst));
    assert.deepEqual([...dsts].sort(), ["10.250.1.12", "10.250.2.13", "10.250.2.14"]);
    assert.match(sh(nodeNs(1), "ip route show 10.244.2.0/24"), /via 10\.244\.2\.0 dev kube-vxlan proto 17 onlink/);
    assert.deepEqual(pingMatrix(N), []);
    const again = await syncAll(N, all, "full");
    for (const n of N) assert.deepEqual([again[n]!.changes, again[n]!.writes], [0, 0], `node ${n}: no-op sync`);
    foreignIntact();
  });

  await t.test("given drift (kube-vxlan deleted on node 3, node 1's FDB flushed by hand), when the nodes sync, then the device comes back with the same MAC and pods reach each other again", async () => {
    const mac = (JSON.parse(sh(nodeNs(3), "ip -j link show kube-vxlan")) as { address: string }[])[0]?.address;
    sh(nodeNs(3), "ip link del kube-vxlan");
    sh(nodeNs(1), "bridge fdb show dev kube-vxlan | sed 's/^/fdb del /; s/$/ dev kube-vxlan/; s/ permanent//' | bridge -force -batch - || true");
    assert.equal(fdbOf(1).filter((e) => e.ifname === "kube-vxlan").length, 0, "node 1's kube-vxlan FDB is empty");
    assert.equal(ping(1, 3, false), false, "v4 1 → 3 is broken by the drift");
    const repair = await syncAll(N, all, "full");
    assert.ok(repair[1]!.changes === 6 && repair[3]!.changes > 0, `node 1 re-adds 6 FDB entries (got ${repair[1]!.changes} changes)`);
    assert.equal((JSON.parse(sh(nodeNs(3), "ip -j link show kube-vxlan")) as { address: string }[])[0]?.address, mac, "same MAC after re-creation");
    assert.equal(mac, vtepMac("node3", "ipv4"));
    assert.deepEqual(pingMatrix(N), []);
    foreignIntact();
  });

  await t.test("given the full overlay, when node 4 leaves the cluster, then its FDB, neighbour and route entries go from every node and the others still reach each other", async () => {
    const three = snapshotOf([1, 2, 3]);
    await syncAll([1, 2, 3], three, "full");
    for (const n of [1, 2, 3]) {
      assert.ok(!fdbOf(n).some((e) => e.dst === "10.250.2.14" || e.dst === "fd00:250:2::14"), `node ${n}: no FDB entry for node 4`);
      assert.doesNotMatch(sh(nodeNs(n), "ip neigh show; ip -6 neigh show"), /10\.244\.4\.0|fd00:244:4::/);
      assert.doesNotMatch(sh(nodeNs(n), "ip route show table all; ip -6 route show table all"), /10\.244\.4\.0|fd00:244:4::|10\.250\.2\.14/);
    }
    assert.deepEqual(pingMatrix([1, 2, 3]), []);
    assert.equal(ping(1, 4, false), false, "node 4's pod is unreachable from node 1");
    foreignIntact();
  });

  await t.test("given the overlay, when every node runs the engine's cleanup (what --cleanup-config removes), then our devices, routes and rules are gone and foreign ones stay", async () => {
    const three = snapshotOf([1, 2, 3]);
    for (const n of [1, 2, 3]) await syncOverlay(overlayNode(realExec({ netns: nodeNs(n) })), three, config("full"), `node${n}`, "cleanup");
    for (const n of [1, 2, 3]) {
      const links = sh(nodeNs(n), "ip -o link show");
      assert.doesNotMatch(links, /kube-vxlan|kube-bridge/);
      assert.doesNotMatch(sh(nodeNs(n), "ip route show table all proto 17; ip -6 route show table all proto 17"), /\S/);
      assert.doesNotMatch(sh(nodeNs(n), "ip rule; ip -6 rule"), /lookup 77/);
      assert.equal(planSize((await syncOverlay(overlayNode(realExec({ netns: nodeNs(n) })), three, config("full"), `node${n}`, "cleanup-plan")).plan), 0);
    }
    assert.match(sh(nodeNs(1), "ip -o link show"), /vx-foreign/);
    foreignIntact();
  });
});
