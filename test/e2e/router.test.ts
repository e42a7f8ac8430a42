/**
 * End to end, on the real kernel: three netns "nodes" on one /24 behind a fabric bridge, one
 * pod netns per node behind kube-bridge (the test plays the CNI plugin: pod veth + gateway
 * address). kube-router runs inside each node namespace from a snapshot file.
 *
 * IP plan: nodes 10.250.0.11-13/24 (eth0); pods 10.244.N.0/24, gateway .1, pod .2.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetns, delNetns, kernelSkip, nsSh, sh } from "../support/netns.ts";
import { runCli } from "../support/cli.ts";

const N = [1, 2, 3] as const;
let fab = "";
const node: Record<number, string> = {};
const pod: Record<number, string> = {};
let dir = "";

function nodeYaml(n: number, extra = ""): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: node${n}
${extra}spec:
  podCIDR: 10.244.${n}.0/24
  podCIDRs: [10.244.${n}.0/24]
status:
  addresses:
  - {type: InternalIP, address: 10.250.0.1${n}}
  - {type: Hostname, address: node${n}}
`;
}
const cluster = (nodes: readonly number[], extra = "") => nodes.map((n) => nodeYaml(n)).join("---\n") + extra;

function writeSnapshot(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function kr(n: number, args: string[], env: Record<string, string> = {}) {
  return runCli(
    ["--hostname-override", `node${n}`, "--run-firewall=false", "--run-service-proxy=false", "--state-dir", join(dir, `state${n}`), ...args],
    { ns: node[n]!, env: { KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni${n}`, "10-kuberouter.conf"), ...env } },
  );
}

/** The CNI plugin's part: gateway address on kube-bridge and a pod veth behind it. */
function plumbPod(n: number): void {
  const ns = node[n]!;
  nsSh(ns, `ip addr add 10.244.${n}.1/24 dev kube-bridge 2>/dev/null || true`);
  sh(`ip link add vp${n} netns ${ns} type veth peer name eth0 netns ${pod[n]}`);
  nsSh(ns, `ip link set vp${n} master kube-bridge up`);
  nsSh(pod[n]!, `ip addr add 10.244.${n}.2/24 dev eth0 && ip link set eth0 up && ip route add default via 10.244.${n}.1`);
}

const ping = (from: number, to: number) => {
  try { nsSh(pod[from]!, `ping -c1 -W1 10.244.${to}.2`); return true; } catch { return false; }
};

before(() => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-e2e-"));
  fab = addNetns("fab");
  nsSh(fab, "ip link add br0 type bridge && ip link set br0 up");
  for (const n of N) {
    node[n] = addNetns(`n${n}`);
    pod[n] = addNetns(`p${n}`);
    sh(`ip link add eth0 netns ${node[n]} type veth peer name h${n} netns ${fab}`);
    nsSh(fab, `ip link set h${n} master br0 up`);
    nsSh(node[n]!, `ip addr add 10.250.0.1${n}/24 dev eth0 && ip link set eth0 up`);
  }
});

after(() => {
  for (const ns of [...Object.values(pod), ...Object.values(node), fab]) if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("router e2e: pods on three nodes reach each other after one --once sync per node", { skip: kernelSkip }, () => {
  // Given a three-node snapshot and a foreign route and iptables chain on node1
  const snap = writeSnapshot("c.yaml", cluster(N));
  nsSh(node[1]!, "ip route add 192.0.2.0/24 via 10.250.0.12 proto static");
  nsSh(node[1]!, "iptables -N FOREIGN-CHAIN && iptables -A FOREIGN-CHAIN -j RETURN && iptables -A FORWARD -s 192.0.2.1 -j FOREIGN-CHAIN");
  // When kube-router syncs once in every node
  for (const n of N) {
    const r = kr(n, ["--snapshot", snap, "--once"]);
    assert.equal(r.code, 0, `node${n}: ${r.stderr}`);
  }
  for (const n of N) plumbPod(n);
  // Then every pod pings every pod on the other nodes
  for (const a of N) for (const b of N) if (a !== b) assert.ok(ping(a, b), `pod${a} -> pod${b}`);
  // And node1 has routes to the other pod CIDRs with our protocol, the sets and the rules
  const routes = nsSh(node[1]!, "ip route show proto 17");
  assert.match(routes, /10\.244\.2\.0\/24 via 10\.250\.0\.12/);
  assert.match(routes, /10\.244\.3\.0\/24 via 10\.250\.0\.13/);
  assert.match(nsSh(node[1]!, "ipset list kube-router-pod-subnets"), /10\.244\.3\.0\/24/);
  assert.match(nsSh(node[1]!, "iptables-save -t nat"), /-j MASQUERADE --random-fully/);
  assert.equal(nsSh(node[1]!, "sysctl -n net.ipv4.ip_forward").trim(), "1");
  const cni = JSON.parse(readFileSync(join(dir, "cni1", "10-kuberouter.conf"), "utf8"));
  assert.deepEqual(cni.ipam.ranges, [[{ subnet: "10.244.1.0/24" }]]);
});

test("router e2e: a converged node plans nothing and a no-op sync writes nothing", { skip: kernelSkip }, () => {
  const snap = join(dir, "c.yaml");
  // When a dry run follows the converged sync
  const dry = kr(1, ["--snapshot", snap, "--once", "--dry-run"]);
  // Then it exits 0 with an empty plan
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /Plan: 0 to add, 0 to change, 0 to destroy\./);
  // And a real sync runs no write command at all
  const trace = join(dir, "trace1");
  const r = kr(1, ["--snapshot", snap, "--once"], { KUBE_ROUTER_TRACE_EXEC: trace });
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(trace, "utf8").trim().split("\n");
  assert.ok(lines.length > 0, "the sync observed the kernel");
  assert.deepEqual(lines.filter((l) => l.startsWith("W ")), []);
});

test("router e2e: drift is repaired and foreign objects survive", { skip: kernelSkip }, () => {
  const snap = join(dir, "c.yaml");
  // Given someone deleted our route and inserted a foreign rule above our FORWARD accepts
  nsSh(node[1]!, "ip route del 10.244.2.0/24 proto 17 && iptables -I FORWARD 1 -s 198.51.100.1 -j DROP");
  // When a dry run plans, then a sync runs
  const dry = kr(1, ["--snapshot", snap, "--once", "--dry-run"]);
  assert.equal(dry.code, 2, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /route replace 10\.244\.2\.0\/24/);
  assert.equal(kr(1, ["--snapshot", snap, "--once"]).code, 0);
  // Then the route is back, our accepts are on top again, and the foreign objects are untouched
  assert.match(nsSh(node[1]!, "ip route show proto 17"), /10\.244\.2\.0\/24/);
  const fwd = nsSh(node[1]!, "iptables -S FORWARD").split("\n").filter((l) => l.startsWith("-A"));
  assert.match(fwd[0] ?? "", /allow outbound traffic from pods/);
  assert.ok(fwd.some((l) => l.includes("198.51.100.1")), "foreign DROP kept");
  assert.ok(fwd.some((l) => l.includes("FOREIGN-CHAIN")), "foreign jump kept");
  assert.match(nsSh(node[1]!, "ip route show"), /192\.0\.2\.0\/24 via 10\.250\.0\.12 dev eth0 proto static/);
  assert.ok(ping(1, 2));
});

test("router e2e: bad objects are warned about and skipped, everything else syncs", { skip: kernelSkip }, () => {
  // Given a snapshot with a node without pod CIDR, a node without address and an unknown kind
  const extra = `---
apiVersion: v1
kind: Node
metadata: {name: nocidr}
status: {addresses: [{type: InternalIP, address: 10.250.0.20}]}
---
apiVersion: v1
kind: Node
metadata: {name: noaddr}
spec: {podCIDR: 10.244.9.0/24}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`;
  const snap = writeSnapshot("bad.yaml", cluster(N) + extra);
  // When node1 syncs
  const r = kr(1, ["--snapshot", snap, "--once"]);
  // Then it succeeds, warning once per culprit by name
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nocidr.*pod CIDR/);
  assert.match(r.stderr, /noaddr.*no ipv4 address/);
  assert.match(r.stderr, /Widget/);
  assert.match(nsSh(node[1]!, "ip route show proto 17"), /10\.244\.3\.0\/24/);
});

test("router e2e: a node removed from the snapshot loses its route on the others", { skip: kernelSkip }, () => {
  // Given node3 leaves the cluster
  const snap = writeSnapshot("c2.yaml", cluster([1, 2]));
  // When node1 syncs
  const r = kr(1, ["--snapshot", snap, "--once"]);
  // Then its route and set members for node3 are gone, node2's remain
  assert.equal(r.code, 0, r.stderr);
  const routes = nsSh(node[1]!, "ip route show proto 17");
  assert.doesNotMatch(routes, /10\.244\.3\.0/);
  assert.match(routes, /10\.244\.2\.0\/24/);
  assert.doesNotMatch(nsSh(node[1]!, "ipset list kube-router-node-ips"), /10\.250\.0\.13/);
  assert.ok(ping(1, 2));
});

test("router e2e: bad flags and an unparseable snapshot fail with one line and change nothing", { skip: kernelSkip }, () => {
  const snap = join(dir, "c.yaml");
  const before = nsSh(node[2]!, "iptables-save | grep -v '^#'; ip route show; ipset save | grep -v '^create'");
  // When the flag value is not a CIDR
  const bad = kr(2, ["--snapshot", snap, "--once", "--service-cluster-ip-range=10.10.10"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /--service-cluster-ip-range/);
  // And when the snapshot does not parse
  const broken = writeSnapshot("broken.yaml", "kind: Node\nmetadata: {name: [unclosed\n");
  const r = kr(2, ["--snapshot", broken, "--once"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /broken\.yaml/);
  // Then the node's kernel state is unchanged
  assert.equal(nsSh(node[2]!, "iptables-save | grep -v '^#'; ip route show; ipset save | grep -v '^create'"), before);
});

test("router e2e: the local node without a pod CIDR is an error of the router only", { skip: kernelSkip }, () => {
  // Given node2 itself has no pod CIDR
  const snap = writeSnapshot("nocidr.yaml", cluster([1, 3]) + "---\n" + nodeYaml(2).replace(/spec:\n.*\n.*\n/, ""));
  // When node2 syncs
  const r = kr(2, ["--snapshot", snap, "--once"]);
  // Then it fails with the router's error and leaves the router's objects as they are
  assert.equal(r.code, 1);
  assert.match(r.stderr, /router: Node node2: .*no pod CIDR/);
  assert.match(nsSh(node[2]!, "ip route show proto 17"), /10\.244\.1\.0\/24/);
});

test("router e2e: --cleanup-config removes exactly what we own", { skip: kernelSkip }, () => {
  // When node1 cleans up (no snapshot needed)
  const r = runCli(["--cleanup-config", "--state-dir", join(dir, "state1")], { ns: node[1]! });
  assert.equal(r.code, 0, r.stderr);
  // Then our routes, sets, rules and bridge are gone
  assert.equal(nsSh(node[1]!, "ip route show proto 17").trim(), "");
  assert.equal(nsSh(node[1]!, "ipset list -n").trim(), "");
  const save = nsSh(node[1]!, "iptables-save");
  assert.doesNotMatch(save, /allow outbound traffic from pods|MASQUERADE/);
  assert.doesNotMatch(nsSh(node[1]!, "ip -o link show"), /kube-bridge/);
  // And the foreign route, chain and FORWARD rules are still there
  assert.match(save, /:FOREIGN-CHAIN/);
  assert.match(save, /-A FORWARD -s 192\.0\.2\.1\/32 -j FOREIGN-CHAIN/);
  assert.match(nsSh(node[1]!, "ip route show"), /192\.0\.2\.0\/24 via 10\.250\.0\.12 dev eth0 proto static/);
  // And a second cleanup has nothing left to do
  const again = runCli(["--cleanup-config", "--dry-run"], { ns: node[1]! });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});
