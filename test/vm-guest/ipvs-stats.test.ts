/**
 * Upstream's per-Service IPVS metrics with real traffic (issue 14). Runs INSIDE the qemu VM only
 * (`node scripts/vm/run-guest-tests.mjs test/vm-guest/ipvs-stats.test.ts`); skipped elsewhere.
 *
 * Topology (proxy-e2e's, in its own namespaces, always deleted): node `stn` with kube-bridge
 * 10.244.1.1/24 and eth0 10.250.0.11/24; pod `stp1` (10.244.1.5) serving TCP :8080; client
 * `stc` (10.250.0.1) routing 198.51.100.0/24 via the node.
 *
 * Story: the long-running agent (`kube-router --snapshot … --metrics-port …`, the real engine
 * and drivers, KUBE_ROUTER_TRACE_EXEC recording every tool call) serves four Services; a scrape
 * of /metrics (after 2 warm-up connections), N TCP connections from the client to web's
 * external IP, another scrape: web's `service_total_connections` rose by exactly N,
 * `service_packets_in` by at least N, `service_bytes_in` by a positive count, with upstream's
 * labels; each scrape ran exactly the two ipvsadm listings, whatever the number of Services.
 * Needs `npm run build` (dist/agent/main.js), as proxy-e2e does.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI } from "../support/cli.ts";

const skip = process.env["IVM"] === "1" ? false : "runs only inside the IPVS VM (scripts/vm/run-guest-tests.mjs)";
const NS = { node: "stn", pod: "stp1", client: "stc" } as const;
const PORT = 20245; // the health server has 20244
const N = 5;
const sh = (cmd: string): string => execFileSync("sh", ["-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const procs: ChildProcess[] = [];
let dir = "";
let agentLog = "";

const SERVER = `require("node:net").createServer((s) => { s.end("p1"); s.on("error", () => {}); }).listen(8080);`;
const CLIENT = `
const net = require("node:net"); const [host, port, n] = process.argv.slice(1); const out = [];
const one = () => new Promise((res) => {
  const t = setTimeout(() => res("timeout"), 3000); let d = "";
  const s = net.connect(+port, host); s.on("data", (x) => d += x); s.on("end", () => { clearTimeout(t); res(d); }); s.on("error", (e) => { clearTimeout(t); res("error " + e.code); });
});
(async () => { for (let i = 0; i < +n; i++) out.push(await one()); console.log(JSON.stringify(out)); })();`;

const svc = (name: string, ip: string, extra = "") => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: ${ip}${extra}
  ports: [{name: tcp, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: tcp, port: 8080, protocol: TCP}]
endpoints:
- {addresses: ["10.244.1.5"], nodeName: node1, targetRef: {kind: Pod, namespace: default, name: p1}}
`;
const SNAPSHOT = `apiVersion: v1
kind: Node
metadata: {name: node1, uid: 00000000-0000-4000-8000-000000000001}
spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
status: {addresses: [{type: InternalIP, address: "10.250.0.11"}]}
${svc("web", "10.96.0.10", "\n  externalIPs: [198.51.100.10]")}
${svc("other1", "10.96.0.21")}
${svc("other2", "10.96.0.22")}
${svc("other3", "10.96.0.23")}`;

const trace = () => join(dir, "exec.trace");
const traceLines = () => { try { return readFileSync(trace(), "utf8").split("\n").filter(Boolean); } catch { return []; } };
/** One scrape of the agent's /metrics (from inside the node), with the tool calls it caused. */
function scrape(): { body: string; ipvsadm: string[] } {
  const before = traceLines().length;
  let body: string;
  try { body = sh(`ip netns exec ${NS.node} curl -sf --max-time 20 http://127.0.0.1:${PORT}/metrics`); } catch (e) { throw new Error(`scrape failed: ${(e as Error).message}\n--- agent ---\n${agentLog.slice(-2000)}`); }
  // every listing (`ipvsadm -L…`) the agent ran meanwhile; its syncs use `ipvsadm -Sn` / `-R`
  return { body, ipvsadm: traceLines().slice(before).filter((l) => /^[RW] ipvsadm -L/.test(l)) };
}
const WEB = 'svc_namespace="default",service_name="web",service_vip="198.51.100.10",protocol="tcp",port="80"';
function value(body: string, metric: string): number {
  const m = new RegExp(`^kube_router_${metric}\\{${WEB}\\} (\\d+)$`, "m").exec(body);
  assert.ok(m, `kube_router_${metric}{${WEB}} not served:\n${body.split("\n").filter((l) => l.startsWith("kube_router_service_")).join("\n")}\n--- agent ---\n${agentLog.slice(-2000)}`);
  return Number(m[1]);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "ipvs-stats-"));
  for (const ns of Object.values(NS)) sh(`ip netns add ${ns}`);
  const inNode = (c: string) => sh(`ip netns exec ${NS.node} sh -c '${c}'`);
  inNode("ip link set lo up && sysctl -qw net.ipv4.ip_forward=1 && ip link add kube-bridge type bridge && ip addr add 10.244.1.1/24 dev kube-bridge && ip link set kube-bridge up");
  sh(`ip link add eth0 netns ${NS.node} type veth peer name eth0 netns ${NS.client}`);
  inNode("ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  sh(`ip netns exec ${NS.client} sh -c 'ip link set lo up && ip addr add 10.250.0.1/24 dev eth0 && ip link set eth0 up && ip route add 198.51.100.0/24 via 10.250.0.11'`);
  sh(`ip link add vs1 netns ${NS.node} type veth peer name eth0 netns ${NS.pod}`);
  inNode("ip link set vs1 master kube-bridge && ip link set vs1 up");
  sh(`ip netns exec ${NS.pod} sh -c 'ip link set lo up && ip addr add 10.244.1.5/24 dev eth0 && ip link set eth0 up && ip route add default via 10.244.1.1'`);
  procs.push(spawn("ip", ["netns", "exec", NS.pod, process.execPath, "-e", SERVER], { stdio: "ignore" }));
  writeFileSync(join(dir, "cluster.yaml"), SNAPSHOT);
  const agent = spawn("ip", ["netns", "exec", NS.node, process.execPath, CLI, "--hostname-override", "node1", "--run-router=false", "--run-firewall=false",
    "--service-external-ip-range", "198.51.100.0/24", "--snapshot", join(dir, "cluster.yaml"), "--metrics-port", String(PORT), "--metrics-addr", "127.0.0.1"],
  { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBE_ROUTER_TRACE_EXEC: trace() } });
  agent.stdout?.on("data", (b: Buffer) => { agentLog += b; });
  agent.stderr?.on("data", (b: Buffer) => { agentLog += b; });
  procs.push(agent);
  // Until the agent synced all four Services into the node's IPVS
  for (let i = 0; i < 120; i++) {
    try { if (sh(`ip netns exec ${NS.node} ipvsadm -Ln`).includes("198.51.100.10:80") && sh(`ip netns exec ${NS.node} ipvsadm -Ln`).includes("10.96.0.23:80")) break; } catch { /* not yet */ }
    await sleep(500);
  }
});

after(async () => {
  if (skip) return;
  for (const p of procs.reverse()) if (p.pid !== undefined) try { process.kill(p.pid, "SIGTERM"); } catch { /* gone */ }
  await sleep(500);
  for (const p of procs) if (p.pid !== undefined && p.exitCode === null) try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
  for (const ns of Object.values(NS)) try { sh(`ip netns del ${ns}`); } catch { /* gone */ }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `n` TCP connections from the client to web's external IP; the replies. */
const connectN = (n: number) => JSON.parse(execFileSync("ip", ["netns", "exec", NS.client, process.execPath, "-e", CLIENT, "198.51.100.10", "80", String(n)], { encoding: "utf8" })) as string[];
/**
 * Scrapes until `done` holds (30 s at most): the kernel publishes its per-CPU counters from its
 * estimator timer (every 2 s), so a scrape right after the traffic may not show it yet.
 */
function scrapeUntil(done: (body: string) => boolean): ReturnType<typeof scrape> {
  let s = scrape();
  for (let i = 0; i < 30 && !done(s.body); i++) { execFileSync("sleep", ["1"]); s = scrape(); }
  return s;
}
const TWO = ["ipvsadm -Ln --rate --exact", "ipvsadm -Ln --stats --exact"];

test(`per-Service IPVS metrics with real traffic: ${N} TCP connections raise service_total_connections by ${N}; one scrape = two ipvsadm processes`, { skip }, () => {
  // Given the agent serving four Services, and 2 earlier connections to web already counted
  // (the mapping needs the first sync's host facts: the first scrapes may report nothing yet)
  assert.deepEqual(connectN(2), ["p1", "p1"]);
  const first = scrapeUntil((body) => new RegExp(`^kube_router_service_total_connections\\{${WEB}\\} 2$`, "m").test(body));
  const b = { conns: value(first.body, "service_total_connections"), pkts: value(first.body, "service_packets_in"), bytes: value(first.body, "service_bytes_in") };
  assert.equal(b.conns, 2);
  // And every Service is reported (4 ClusterIPs + web's external IP), from exactly the two listings
  assert.equal(first.body.split("\n").filter((l) => l.startsWith("kube_router_service_total_connections{")).length, 5, first.body);
  assert.deepEqual(first.ipvsadm.map((l) => l.replace(/^R /, "")).sort(), TWO);
  // When N TCP connections go from the client to web's external IP
  assert.deepEqual(connectN(N), Array(N).fill("p1"));
  // Then a scrape shows exactly N more connections, at least N more packets in, more bytes in
  const second = scrapeUntil((body) => value(body, "service_total_connections") - b.conns >= N);
  const a = { conns: value(second.body, "service_total_connections"), pkts: value(second.body, "service_packets_in"), bytes: value(second.body, "service_bytes_in") };
  console.log(`ipvs-stats: web 198.51.100.10:80 before ${JSON.stringify(b)} after ${JSON.stringify(a)}`);
  assert.equal(a.conns - b.conns, N, `connections ${b.conns} -> ${a.conns}`);
  assert.ok(a.pkts - b.pkts >= N, `packets in ${b.pkts} -> ${a.pkts}`);
  assert.ok(a.bytes > b.bytes, `bytes in ${b.bytes} -> ${a.bytes}`);
  assert.ok(value(second.body, "service_packets_out") > 0 && value(second.body, "service_bytes_out") > 0);
  // And the other Services saw none of it
  assert.match(second.body, /^kube_router_service_total_connections\{svc_namespace="default",service_name="other1",service_vip="10\.96\.0\.21",protocol="tcp",port="80"\} 0$/m);
  // And this scrape too ran exactly the two ipvsadm listings
  assert.deepEqual(second.ipvsadm.map((l) => l.replace(/^R /, "")).sort(), TWO);
});
