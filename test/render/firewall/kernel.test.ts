/**
 * Kernel test (root; own network namespaces `krt-fwr-*`, always deleted): a rendered firewall
 * applied through the engine with the real iptables and ipset drivers inside a node netns.
 * Checks iptables-save / ipset save, convergence (a second sync writes nothing), that a foreign
 * chain and a foreign FORWARD rule survive the sync, a change and `--cleanup-config`, and a
 * TCP probe through the node: allowed port connects, denied port is rejected.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { syncNode } from "../../../src/agent/engine.ts";
import { type Exec, realExec, recordingExec } from "../../../src/apply/exec.ts";
import { ipsetDriver } from "../../../src/apply/ipset/driver.ts";
import { detectBackend } from "../../../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../../../src/apply/iptables/driver.ts";
import { DEFAULT_CONFIG } from "../../../src/model/config.ts";
import { isEmptyPlan, planSummary } from "../../../src/model/plan.ts";
import { podChainName, policyChainName } from "../../../src/render/firewall/names.ts";
import { addNetns, delNetns, kernelSkip, nsSh, sh } from "../../support/netns.ts";
import { cluster, ns, pod, policy } from "./fixture.ts";

const CONFIG = { ...DEFAULT_CONFIG, runRouter: false, runServiceProxy: false, hostnameOverride: "node1" };
const PODS = [
  pod("x", "a", { app: "a" }, { ips: ["10.244.1.2"] }),
  pod("x", "b", { app: "b" }, { ips: ["10.244.1.6"] }),
  pod("y", "r", { app: "a" }, { node: "node2", ips: ["10.244.2.2"] }),
];
const B_FROM_A = policy("x", "b-from-a", { podSelector: { matchLabels: { app: "b" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: 80 }] }] });
const SNAP = cluster({ pods: PODS, policies: [B_FROM_A], namespaces: [ns("x"), ns("y")] });

async function deps(node: string) {
  const exec: Exec & { writes(): number } = recordingExec(realExec({ netns: node }));
  const drivers = [ipsetDriver(), iptablesDriver(await detectBackend(exec))];
  return { exec, drivers, readHost: async () => ({ interfaces: [], cniConf: { path: "/nonexistent" } }) };
}

/** A TCP listener on `port` in `ns` (a node process we kill by pid). */
function listen(netns: string, port: number): ChildProcess {
  return spawn("ip", ["netns", "exec", netns, process.execPath, "-e", `require("net").createServer((s)=>s.end("ok")).listen(${port}, "0.0.0.0")`], { stdio: "ignore" });
}
/** "open" | "refused" | "timeout" from `from` to ip:port. */
function probe(from: string, ip: string, port: number): string {
  const js = `const s=require("net").connect(${port},"${ip}");s.setTimeout(1500);s.on("connect",()=>{console.log("open");process.exit(0)});s.on("error",(e)=>{console.log(e.code==="ECONNREFUSED"||e.code==="EHOSTUNREACH"?"refused":e.code);process.exit(0)});s.on("timeout",()=>{console.log("timeout");process.exit(0)})`;
  return nsSh(from, `${process.execPath} -e '${js}'`).trim();
}

test("firewall kernel: apply, converge, keep foreign rules, re-plan after a change, clean up; packets obey the policy", { skip: kernelSkip }, async () => {
  const node = addNetns("fwr");
  const pa = addNetns("fwr");
  const pb = addNetns("fwr");
  const servers: ChildProcess[] = [];
  try {
    // Given a node routing two pod namespaces (x/a 10.244.1.2, x/b 10.244.1.6), and foreign rules
    sh(`ip link add va netns ${node} type veth peer name eth0 netns ${pa}`);
    sh(`ip link add vb netns ${node} type veth peer name eth0 netns ${pb}`);
    nsSh(node, "ip addr add 10.244.1.1/30 dev va && ip addr add 10.244.1.5/30 dev vb && ip link set va up && ip link set vb up && sysctl -qw net.ipv4.ip_forward=1");
    nsSh(pa, "ip addr add 10.244.1.2/30 dev eth0 && ip link set eth0 up && ip route add default via 10.244.1.1");
    nsSh(pb, "ip addr add 10.244.1.6/30 dev eth0 && ip link set eth0 up && ip route add default via 10.244.1.5");
    nsSh(node, "iptables -N FOREIGN-CHAIN && iptables -A FOREIGN-CHAIN -j RETURN && iptables -A FORWARD -s 192.0.2.1 -j FOREIGN-CHAIN && ipset create foreign-set hash:ip");
    const d = await deps(node);

    // When the firewall syncs
    const first = await syncNode(d, { mode: "apply", config: CONFIG, nodeName: "node1", snapshot: SNAP, verify: true });
    // Then it converged without errors and the kernel holds kube-router's layout
    assert.deepEqual(first.errors, []);
    const saved = nsSh(node, "iptables-save -t filter");
    assert.match(saved, /^-A INPUT -m comment --comment "kube-router netpol - \w+" -j KUBE-ROUTER-INPUT$/m);
    assert.match(saved, /^-A FORWARD -m comment --comment "kube-router netpol - \w+" -j KUBE-ROUTER-FORWARD\n-A FORWARD -s 192\.0\.2\.1\/32 -j FOREIGN-CHAIN$/m);
    assert.match(saved, new RegExp(`^:${podChainName("x", "b")} - `, "m"));
    assert.match(saved, new RegExp(`^-A ${policyChainName("x", "b-from-a", "ingress")} -p tcp .*--dport 80 -j MARK --set-xmark 0x10000/0x10000$`, "m"));
    assert.match(saved, /^-A FOREIGN-CHAIN -j RETURN$/m);
    const sets = nsSh(node, "ipset save");
    assert.match(sets, /^add KUBE-SRC-\w+ 10\.244\.1\.2 timeout 0$/m);
    assert.match(sets, /^create foreign-set hash:ip/m);

    // And a second sync writes nothing
    const writes = d.exec.writes();
    const again = await syncNode(d, { mode: "apply", config: CONFIG, nodeName: "node1", snapshot: SNAP });
    assert.ok(isEmptyPlan(again.plan), planSummary(again.plan));
    assert.equal(d.exec.writes(), writes);

    // And packets obey: x/a reaches x/b on 80, not on 81; x/b (no egress policy) reaches x/a anywhere
    for (const [netns, port] of [[pb, 80], [pb, 81], [pa, 81]] as const) servers.push(listen(netns, port));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(probe(pa, "10.244.1.6", 80), "open");
    assert.equal(probe(pa, "10.244.1.6", 81), "refused");
    assert.equal(probe(pb, "10.244.1.2", 81), "open");
    // And the node itself always reaches its pods
    assert.equal(probe(node, "10.244.1.6", 81), "open");

    // When x/a is relabelled (no longer a source), only members and nothing else change
    const relabelled = cluster({ pods: PODS.map((p) => (p.name === "a" ? { ...p, labels: { app: "z" } } : p)), policies: [B_FROM_A], namespaces: [ns("x"), ns("y")] });
    const plan = await syncNode(d, { mode: "apply", config: CONFIG, nodeName: "node1", snapshot: relabelled, verify: true });
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(plan.plan.chains, []);
    assert.equal(plan.plan.ipsetMembers.length, 1);
    assert.equal(probe(pa, "10.244.1.6", 80), "refused");

    // When --cleanup-config runs
    const clean = await syncNode(d, { mode: "cleanup", config: { ...CONFIG, cleanupConfig: true }, nodeName: "node1", verify: true });
    assert.deepEqual(clean.errors, []);
    // Then nothing of ours is left, and the foreign chain, rule and set are
    const after = nsSh(node, "iptables-save -t filter");
    assert.doesNotMatch(after, /KUBE-|kube-router/);
    assert.match(after, /^-A FORWARD -s 192\.0\.2\.1\/32 -j FOREIGN-CHAIN$/m);
    assert.match(after, /^-A FOREIGN-CHAIN -j RETURN$/m);
    assert.deepEqual(nsSh(node, "ipset list -n").trim().split("\n"), ["foreign-set"]);
  } finally {
    for (const s of servers) if (s.pid !== undefined) { try { process.kill(s.pid); } catch { /* gone */ } }
    for (const n of [pa, pb, node]) delNetns(n);
  }
});
