/**
 * The service proxy end to end on a real IPVS kernel. Runs INSIDE the qemu VM only
 * (`node scripts/vm/run-guest-tests.mjs test/vm-guest/proxy-e2e.test.ts`); skipped elsewhere.
 *
 * Topology (namespaces this test creates and always deletes): node `pxn` with kube-bridge
 * 10.244.1.1/24 and eth0 10.250.0.11/24; pods `pxp1` (10.244.1.5) and `pxp2` (10.244.1.6) on
 * the bridge, each serving TCP :8080 and UDP :5353 answering its own name; client `pxc`
 * (10.250.0.1) on the node's eth0 subnet, routing 198.51.100.0/24 via the node.
 *
 * Stories: after `kube-router --snapshot … --once` in the node, TCP and UDP through a
 * ClusterIP, TCP through a NodePort and an externalIP reach both backends; ClientIP affinity
 * sticks; internalTrafficPolicy Local uses only the local endpoint; hairpin (a pod reaching
 * itself through its Service) works; an endpoint removed from the snapshot gets no new
 * connections after the next `--once`; `--dry-run --once` afterwards exits 0 (converged).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "../support/cli.ts";

const skip = process.env["IVM"] === "1" ? false : "runs only inside the IPVS VM (scripts/vm/run-guest-tests.mjs)";
const NS = { node: "pxn", pod1: "pxp1", pod2: "pxp2", client: "pxc" } as const;
const sh = (cmd: string): string => execFileSync("sh", ["-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const servers: ChildProcess[] = [];
let dir = "";

const SERVER = `
const net = require("node:net"), dgram = require("node:dgram"), name = process.argv[1];
net.createServer((s) => { s.end(name); s.on("error", () => {}); }).listen(8080);
const u = dgram.createSocket("udp4"); u.on("message", (m, r) => u.send(name, r.port, r.address)); u.bind(5353);`;
const CLIENT = `
const net = require("node:net"), dgram = require("node:dgram");
const [proto, host, port, n] = process.argv.slice(1); const out = [];
const one = () => new Promise((res) => {
  const t = setTimeout(() => res("timeout"), 1500);
  if (proto === "tcp") { let d = ""; const s = net.connect(+port, host); s.on("data", (x) => d += x); s.on("end", () => { clearTimeout(t); res(d); }); s.on("error", (e) => { clearTimeout(t); res("error " + e.code); }); }
  else { const u = dgram.createSocket("udp4"); u.on("message", (m) => { clearTimeout(t); u.close(); res(String(m)); }); u.send("x", +port, host); }
});
(async () => { for (let i = 0; i < +n; i++) out.push(await one()); console.log(JSON.stringify(out)); })();`;

/** `n` requests from namespace `ns`; the replies (pod names, "timeout", "error …"). */
function ask(ns: string, proto: "tcp" | "udp", host: string, port: number, n = 6): string[] {
  const out = execFileSync("ip", ["netns", "exec", ns, process.execPath, "-e", CLIENT, proto, host, String(port), String(n)], { encoding: "utf8" });
  return JSON.parse(out) as string[];
}
const uniq = (xs: string[]) => [...new Set(xs)].sort();

function snapshot(withPod2: boolean): string {
  const ep = (ip: string, node: string, pod: string) => `- {addresses: ["${ip}"], nodeName: ${node}, targetRef: {kind: Pod, namespace: default, name: ${pod}}}`;
  const eps = [ep("10.244.1.5", "node1", "p1"), ...(withPod2 ? [ep("10.244.1.6", "node1", "p2")] : [])].join("\n");
  const svc = (name: string, ip: string, extra: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default${extra.includes("hairpin") ? ', annotations: {kube-router.io/service.hairpin: ""}' : ""}}
spec:
  clusterIP: ${ip}
${extra.replace("hairpin", "").split("\n").filter(Boolean).map((l) => `  ${l}`).join("\n")}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: tcp, port: 8080, protocol: TCP}, {name: udp, port: 5353, protocol: UDP}]
endpoints:
${name === "local-only" ? `${ep("10.244.1.5", "node1", "p1")}\n${ep("10.244.1.6", "node2", "p2")}` : name === "hp" ? ep("10.244.1.5", "node1", "p1") : eps}
`;
  const ports = "ports:\n- {name: tcp, port: 80, targetPort: 8080, protocol: TCP}\n- {name: udp, port: 53, targetPort: 5353, protocol: UDP}";
  return `apiVersion: v1
kind: Node
metadata: {name: node1, uid: 00000000-0000-4000-8000-000000000001}
spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
status: {addresses: [{type: InternalIP, address: "10.250.0.11"}]}
${svc("web", "10.96.0.10", `type: NodePort\nexternalIPs: [198.51.100.10]\nports:\n- {name: tcp, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30080}\n- {name: udp, port: 53, targetPort: 5353, protocol: UDP}`)}
${svc("sticky", "10.96.0.11", `sessionAffinity: ClientIP\nsessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n${ports}`)}
${svc("local-only", "10.96.0.12", `internalTrafficPolicy: Local\n${ports}`)}
${svc("hp", "10.96.0.13", `hairpin\n${ports}`)}`;
}

const ARGS = ["--hostname-override", "node1", "--run-router=false", "--run-firewall=false", "--service-external-ip-range", "198.51.100.0/24"];
const once = (file: string, extra: string[] = []) => runCli([...ARGS, "--snapshot", file, "--once", ...extra], { ns: NS.node });

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "proxy-e2e-"));
  for (const ns of Object.values(NS)) sh(`ip netns add ${ns}`);
  const inNode = (c: string) => sh(`ip netns exec ${NS.node} sh -c '${c}'`);
  inNode("ip link set lo up && sysctl -qw net.ipv4.ip_forward=1 && ip link add kube-bridge type bridge && ip addr add 10.244.1.1/24 dev kube-bridge && ip link set kube-bridge up");
  sh(`ip link add eth0 netns ${NS.node} type veth peer name eth0 netns ${NS.client}`);
  inNode("ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  sh(`ip netns exec ${NS.client} sh -c 'ip link set lo up && ip addr add 10.250.0.1/24 dev eth0 && ip link set eth0 up && ip route add 198.51.100.0/24 via 10.250.0.11'`);
  for (const [ns, ip, veth] of [[NS.pod1, "10.244.1.5", "vp1"], [NS.pod2, "10.244.1.6", "vp2"]] as const) {
    sh(`ip link add ${veth} netns ${NS.node} type veth peer name eth0 netns ${ns}`);
    inNode(`ip link set ${veth} master kube-bridge && ip link set ${veth} up && bridge link set dev ${veth} hairpin on`);
    sh(`ip netns exec ${ns} sh -c 'ip link set lo up && ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && ip route add default via 10.244.1.1'`);
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER, ns === NS.pod1 ? "p1" : "p2"], { stdio: "ignore" });
    servers.push(p);
  }
  writeFileSync(join(dir, "cluster.yaml"), snapshot(true));
  await sleep(300);
});

after(() => {
  if (skip) return;
  for (const p of servers) if (p.pid !== undefined) try { process.kill(p.pid); } catch { /* gone */ }
  for (const ns of Object.values(NS)) try { sh(`ip netns del ${ns}`); } catch { /* gone */ }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("kube-router --once programs IPVS; ClusterIP (TCP, UDP), NodePort and externalIP reach both backends", { skip }, () => {
  const r = once(join(dir, "cluster.yaml"));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(uniq(ask(NS.node, "tcp", "10.96.0.10", 80)), ["p1", "p2"], "ClusterIP TCP");
  assert.deepEqual(uniq(ask(NS.node, "udp", "10.96.0.10", 53)), ["p1", "p2"], "ClusterIP UDP");
  assert.deepEqual(uniq(ask(NS.client, "tcp", "10.250.0.11", 30080)), ["p1", "p2"], "NodePort from outside");
  assert.deepEqual(uniq(ask(NS.client, "tcp", "198.51.100.10", 80)), ["p1", "p2"], "externalIP from outside");
});

test("ClientIP session affinity sticks to one backend", { skip }, () => {
  assert.equal(uniq(ask(NS.node, "tcp", "10.96.0.11", 80, 8)).length, 1);
});

test("internalTrafficPolicy Local uses only this node's endpoint (p2, declared on node2, is never chosen)", { skip }, () => {
  assert.deepEqual(uniq(ask(NS.node, "tcp", "10.96.0.12", 80, 6)), ["p1"]);
});

test("hairpin: a pod reaches itself through its Service (its only endpoint)", { skip }, () => {
  assert.deepEqual(uniq(ask(NS.pod1, "tcp", "10.96.0.13", 80, 3)), ["p1"]);
});

test("a removed endpoint gets no new connections; a dry run afterwards finds nothing to do", { skip }, () => {
  writeFileSync(join(dir, "cluster.yaml"), snapshot(false));
  const r = once(join(dir, "cluster.yaml"));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(uniq(ask(NS.node, "tcp", "10.96.0.10", 80, 6)), ["p1"]);
  assert.deepEqual(uniq(ask(NS.client, "tcp", "10.250.0.11", 30080, 4)), ["p1"]);
  const dry = once(join(dir, "cluster.yaml"), ["--dry-run"]);
  assert.equal(dry.code, 0, `${dry.stdout}\n${dry.stderr}`);
});
