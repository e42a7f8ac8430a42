/**
 * End to end, route extender (issue 12; reference/route-extender.md §3.13, §4.1, E8): two netns
 * "nodes" each run the built agent with `--run-route-extender` against the in-process API
 * double (Nodes with InternalIP, podCIDR and uid; namespace kube-system); a "device" netns is
 * programmed ONLY from the ConfigMap data the double holds (§4.1 generic recipe: vxlan VNI 200
 * port 8472 local = its VTEP IP nolearning, EndpointIP/24 on it; per `Node-` key a permanent
 * neighbour Interface- → Mac-, an FDB entry Mac- → Node- IP, a route to the CNI- network via
 * Interface-) and pings a pod on each node from EndpointIP.
 *
 * Topology (all in namespaces this file creates and deletes; no host interface or route):
 *   sw: bridge br0 ── eth0 of n1 (10.77.0.11), n2 (10.77.0.12), dev (10.77.0.254, the VTEP)
 *   nN: bridge kube-bridge 10.244.N.1/24 ── veth ── pN: the pod, 10.244.N.5/24 via .1
 * The double is reached from each node through a relay (test/support/api-relay.ts).
 *
 * Also: restart changes nothing; a deleted Node loses its keys and kernel state, a re-joined
 * one reuses the freed address; 20 Lease races never duplicate an Interface- address; a no-op
 * sync writes nothing; an agent WITHOUT --run-route-extender never asks for a ConfigMap.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetns, delNetns, kernelSkip, nsSh, sh } from "../support/netns.ts";
import { type AgentProcess, scrapeIn, spawnAgent, stopAgent, until } from "../support/agent-process.ts";
import { CLI } from "../support/cli.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";
import { type DoubleHandle, type KubeObject, configMap, kubeconfigText, namespace, node, startApiDouble } from "../support/kube-api-double/index.ts";

const skip = kernelSkip || (!existsSync(CLI) && "the built agent (dist/) is missing: run npm run build");

const API_PORT = 6443;
const HEALTH = 20244;
const METRICS = 20245;
const CM = { ns: "kube-system", name: "kube-chorus-router" };
const LEASE = "kube-router-route-extender";
const VTEP = "10.77.0.254";
const ENDPOINT = "192.168.254.254";
const NODES = [1, 2] as const;
const nodeIp = (n: number) => `10.77.0.1${n}`;
const podIp = (n: number) => `10.244.${n}.5`;
const EXTENDER_FLAGS = ["--run-route-extender", "--route-extender-network", "192.168.254.0/24", "--route-extender-vni", "200", "--route-extender-port", "8472", "--route-extender-vtep-ip", VTEP];

let dir = "";
let double: DoubleHandle | undefined;
let relay: ApiRelay | undefined;
const spaces: string[] = [];
const nodeNs = new Map<number, string>();
let sw = "";
let dev = "";
const live = new Set<ChildProcess>();
const agents = new Map<number, AgentProcess>();

const k8sNode = (n: number): KubeObject => node(`node${n}`, { ip: nodeIp(n), podCIDR: `10.244.${n}.0/24` });

function startAgent(n: number, extra: readonly string[] = EXTENDER_FLAGS): AgentProcess {
  const a = spawnAgent(nodeNs.get(n)!, [
    "--kubeconfig", join(dir, "kubeconfig"), "--hostname-override", `node${n}`,
    "--run-firewall=false", "--run-service-proxy=false", "--run-router=false", "--routes-sync-period=1s",
    "--state-dir", join(dir, `state${n}`), `--health-port=${HEALTH}`, `--metrics-port=${METRICS}`, "--health-addr=127.0.0.1", "--metrics-addr=127.0.0.1",
    ...extra,
  ], {
    KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni${n}.conf`), KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms",
    POD_NAMESPACE: "kube-system", POD_NAME: `kube-router-node${n}`,
  }, live);
  agents.set(n, a);
  return a;
}

const data = (): Record<string, string> => ((double!.api.store.get("configmaps", CM.ns, CM.name) as { data?: Record<string, string> } | undefined)?.data ?? {});
const complete = (d: Record<string, string>, nodes: readonly number[] = NODES) =>
  d["EndpointIP"] === ENDPOINT && nodes.every((n) => ["Node", "Interface", "Mac", "CNI"].every((k) => d[`${k}-${nodeIp(n)}`] !== undefined));
const configMapWrites = () => double!.api.requests.filter((r) => r.resource === "configmaps" && ["create", "update", "patch", "delete"].includes(r.verb)).length;
const link = (n: number) => (JSON.parse(nsSh(nodeNs.get(n)!, "ip -j link show dev routervxlan0 2>/dev/null || echo '[]'")) as { address: string }[])[0];

/**
 * Programs the device netns from the ConfigMap data alone (§4.1 generic recipe), replacing
 * whatever it held: per `Node-<ip>` key, a permanent neighbour, an FDB entry and a route.
 */
function programDevice(d: Readonly<Record<string, string>>): void {
  const prefix = "24";
  const cmds = [
    "ip link del vx0 2>/dev/null || true",
    `ip link add vx0 type vxlan id 200 dstport 8472 local ${VTEP} nolearning dev eth0`,
    `ip addr add ${d["EndpointIP"]}/${prefix} dev vx0`, "ip link set vx0 up",
  ];
  for (const key of Object.keys(d).filter((k) => k.startsWith("Node-"))) {
    const ip = key.slice("Node-".length);
    const gw = d[`Interface-${ip}`]!;
    const mac = d[`Mac-${ip}`]!;
    const [addr, len] = d[`CNI-${ip}`]!.split("/");
    const net = `${addr!.split(".").slice(0, 3).join(".")}.0/${len}`;
    cmds.push(`ip neigh replace ${gw} lladdr ${mac} dev vx0 nud permanent`, `bridge fdb append ${mac} dev vx0 dst ${d[key]} self permanent`, `ip route replace ${net} via ${gw} dev vx0`);
  }
  nsSh(dev, cmds.join(" && "));
}

const ping = (ip: string) => { try { nsSh(dev, `ping -c 1 -W 1 -I ${ENDPOINT} ${ip}`); return true; } catch { return false; } };

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-ext-e2e-"));
  const tag = `${process.pid % 100000}`;
  const mk = (t: string) => { const n = addNetns(t); spaces.push(n); return n; };
  sw = mk("exsw");
  dev = mk("exdev");
  nsSh(sw, "ip link add br0 type bridge && ip link set br0 up");
  const attach = (ns: string, i: string, addr: string) => {
    sh(`ip link add kx${tag}a${i} netns ${ns} type veth peer name kx${tag}b${i} netns ${sw}`);
    nsSh(ns, `ip link set kx${tag}a${i} name eth0 && ip addr add ${addr}/24 dev eth0 && ip link set eth0 up`);
    nsSh(sw, `ip link set kx${tag}b${i} master br0 && ip link set kx${tag}b${i} up`);
  };
  attach(dev, "d", VTEP);
  for (const n of NODES) {
    const ns = mk(`exn${n}`);
    const pod = mk(`exp${n}`);
    nodeNs.set(n, ns);
    attach(ns, `${n}`, nodeIp(n));
    nsSh(ns, `sysctl -qw net.ipv4.ip_forward=1 && ip link add kube-bridge type bridge && ip addr add 10.244.${n}.1/24 dev kube-bridge && ip link set kube-bridge up`);
    sh(`ip link add kx${tag}p${n} netns ${ns} type veth peer name eth0 netns ${pod}`);
    nsSh(ns, `ip link set kx${tag}p${n} master kube-bridge && ip link set kx${tag}p${n} up`);
    nsSh(pod, `ip addr add ${podIp(n)}/24 dev eth0 && ip link set eth0 up && ip route add default via 10.244.${n}.1`);
  }
  double = await startApiDouble();
  double.api.create("namespaces", namespace("kube-system"));
  for (const n of NODES) double.api.create("nodes", k8sNode(n));
  writeFileSync(join(dir, "kubeconfig"), kubeconfigText(`http://127.0.0.1:${API_PORT}`));
  relay = await apiRelay(join(dir, "api.sock"), double.api.port);
  for (const n of NODES) await relay.into(nodeNs.get(n)!, API_PORT);
});

after(async () => {
  for (const p of live) p.kill("SIGKILL");
  await relay?.close();
  await double?.dispose();
  for (const ns of spaces) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("given two nodes and the API double, when both agents start with --run-route-extender, then the ConfigMap is complete within 20 s and a device programmed only from it pings a pod on each node from EndpointIP", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  for (const n of NODES) startAgent(n);
  const ms = await until(() => complete(data()), 20_000, "a complete ConfigMap", agents.get(1), 50);
  console.log(`# route extender e2e: ConfigMap complete ${ms} ms after the agents started (${Date.now() - t0} ms incl. spawn)`);
  const d = data();
  assert.equal(d["Type"], "VXLAN");
  for (const n of NODES) {
    assert.equal(d[`Node-${nodeIp(n)}`], nodeIp(n));
    assert.equal(d[`CNI-${nodeIp(n)}`], `10.244.${n}.1/24`);
    assert.equal(d[`Interface-${nodeIp(n)}`], `192.168.254.${n}`);
    await until(() => link(n)?.address === d[`Mac-${nodeIp(n)}`], 10_000, `routervxlan0 on node${n} with the published MAC`, agents.get(n), 50);
    await until(() => nsSh(nodeNs.get(n)!, "ip -4 addr show dev routervxlan0").includes(`192.168.254.${n}/24`), 10_000, `node${n}'s overlay address`, agents.get(n), 50);
  }
  // (before the device is programmed, no pod answers it)
  nsSh(dev, "ip link del vx0 2>/dev/null || true");
  assert.equal(ping(podIp(1)), false, "no path before the device is programmed");
  programDevice(d);
  for (const n of NODES) assert.ok(ping(podIp(n)) || ping(podIp(n)), `device → pod ${podIp(n)} on node${n}`);
  // and each node learnt the device behind EndpointIP through routervxlan0 (E8): neighbour and FDB entry
  const deviceMac = (JSON.parse(nsSh(dev, "ip -j link show dev vx0")) as { address: string }[])[0]!.address;
  for (const n of NODES) {
    assert.match(nsSh(nodeNs.get(n)!, "ip neigh show dev routervxlan0"), new RegExp(`${ENDPOINT.replaceAll(".", "\\.")} lladdr ${deviceMac}`));
    assert.match(nsSh(nodeNs.get(n)!, "bridge fdb show dev routervxlan0"), new RegExp(`${deviceMac} dst ${VTEP.replaceAll(".", "\\.")}`));
  }
});

const extenderSyncs = (n: number): number => {
  const m = /kube_router_syncs_total\{controller="extender",mode="full",result="success"\} (\d+)/.exec(scrapeIn(nodeNs.get(n)!, METRICS, "/metrics").body);
  return m ? Number(m[1]) : 0;
};
const leaseHolder = () => ((double!.api.store.get("leases", CM.ns, LEASE) as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity ?? "");
const resourceVersion = () => String(double!.api.store.get("configmaps", CM.ns, CM.name)?.metadata["resourceVersion"] ?? "");
const interfaces = (d: Record<string, string>) => Object.entries(d).filter(([k]) => k.startsWith("Interface-")).map(([, v]) => v);
const hasDuplicate = (xs: readonly string[]) => new Set(xs).size !== xs.length;
const kernelOf = (n: number) => {
  const ns = nodeNs.get(n)!;
  return { link: link(n), fdb: nsSh(ns, "bridge fdb show 2>/dev/null | grep routervxlan0 || true"), rule: nsSh(ns, "iptables -S | grep -e '--dport 8472' || true") };
};

test("given converged agents, when several sync periods pass, then no configmap write reaches the API", { skip, timeout: 30_000 }, async () => {
  // (--routes-sync-period=1s is the extender lane's period, lanes.ts periodOf)
  await until(() => complete(data()), 10_000, "a complete ConfigMap", agents.get(1), 50);
  const base = new Map(NODES.map((n) => [n, extenderSyncs(n)]));
  await until(() => NODES.every((n) => extenderSyncs(n) >= base.get(n)! + 1), 5_000, "one full extender sync on each node", agents.get(1), 100);
  const writes = configMapWrites();
  const rv = resourceVersion();
  const from = new Map(NODES.map((n) => [n, extenderSyncs(n)]));
  await until(() => NODES.every((n) => extenderSyncs(n) >= from.get(n)! + 3), 10_000, "three more full extender syncs on each node", agents.get(1), 100);
  assert.equal(configMapWrites(), writes, "a no-op sync wrote the ConfigMap");
  assert.equal(resourceVersion(), rv);
});

test("given converged agents, when the Lease holder restarts (SIGTERM, start again), then no key, value or MAC changes and the ConfigMap is never written", { skip, timeout: 40_000 }, async () => {
  const holder = leaseHolder();
  const n = NODES.find((x) => holder === `kube-router-node${x}`);
  assert.ok(n !== undefined, `the Lease is held by one of the agents (holder ${JSON.stringify(holder)})`);
  const before = { data: data(), rv: resourceVersion(), writes: configMapWrites(), macs: NODES.map((x) => link(x)?.address) };
  assert.equal(await stopAgent(agents.get(n)!), 0);
  const a = startAgent(n);
  await until(() => scrapeIn(nodeNs.get(n)!, HEALTH, "/healthz").code === 200, 20_000, "the restarted agent healthy", a, 100);
  // the other agent takes the Lease (released on SIGTERM); the restarted one syncs twice more
  const s0 = extenderSyncs(n);
  await until(() => extenderSyncs(n) >= s0 + 2, 10_000, "two full syncs after the restart", a, 100);
  assert.deepEqual(data(), before.data);
  assert.equal(resourceVersion(), before.rv, "the ConfigMap was written (delete and recreate, or an update)");
  assert.equal(configMapWrites(), before.writes);
  assert.deepEqual(NODES.map((x) => link(x)?.address), before.macs);
});

test("given two racing agents, when the Lease and the ConfigMap are deleted together 20 times, then no ConfigMap state ever holds a duplicate Interface- address", { skip, timeout: 90_000 }, async () => {
  // Both agents keep running: each round is a fresh election (both read no Lease and race to
  // create it; the previous holder still counts itself leader until its next round) and a new
  // allocation. Restarting both agents per round would cost ~2-5 s a round on this machine.
  const seen: string[] = [];
  const off = double!.api.store.subscribe((e) => {
    if (e.resource !== "configmaps" || e.type === "DELETED") return;
    const d = (e.object as { data?: Record<string, string> }).data ?? {};
    if (hasDuplicate(interfaces(d))) seen.push(JSON.stringify(d));
  });
  const t0 = Date.now();
  const holders = new Set<string>();
  let kept = 0;
  try {
    for (let round = 0; round < 20; round++) {
      double!.api.delete("leases", CM.ns, LEASE);
      // even rounds: no ConfigMap (a fresh allocation in name order); odd rounds: one left by an
      // earlier run where node2 holds .1 (kept, C6 [fix]), so node1 must move to .2
      if (round % 2 === 0) double!.api.delete("configmaps", CM.ns, CM.name);
      else double!.api.apply("configmaps", configMap(CM.ns, CM.name, { EndpointIP: ENDPOINT, Type: "VXLAN", [`Interface-${nodeIp(2)}`]: "192.168.254.1" }));
      // even rounds: a fresh allocation in name order. Odd rounds: node2's .1 is kept unless the
      // Lease holder writes from a snapshot that has not seen the replacement yet (the render
      // reads the watched ConfigMap; the write merges onto the version it GETs): then the
      // allocation is its own, still without a duplicate. How often each happened is printed.
      const want = round % 2 === 0 ? ["192.168.254.1", "192.168.254.2"] : ["192.168.254.2", "192.168.254.1"];
      const settled = () => complete(data()) && !hasDuplicate(interfaces(data())) && NODES.every((n) => /^192\.168\.254\.[12]$/.test(data()[`Interface-${nodeIp(n)}`] ?? ""));
      await until(settled, 20_000, `a complete ConfigMap in round ${round}`, agents.get(1), 20);
      if (round % 2 === 1) kept += NODES.every((n, i) => data()[`Interface-${nodeIp(n)}`] === want[i]) ? 1 : 0;
      holders.add(leaseHolder());
    }
  } finally {
    off();
  }
  console.log(`# route extender e2e: 20 Lease races in ${Date.now() - t0} ms; holders ${[...holders].sort().join(", ")}; hand-edited assignment kept in ${kept} of 10 rounds`);
  assert.deepEqual(seen, []);
  assert.ok(!hasDuplicate(interfaces(data())));
});

test("given a converged cluster, when node1 is deleted while its agent runs, then its keys go for good and its agent removes its device, FDB entry and rule; re-created with a new uid it reuses the freed address", { skip, timeout: 60_000 }, async () => {
  await until(() => complete(data()) && NODES.every((n) => kernelOf(n).link !== undefined), 20_000, "converged", agents.get(1), 50);
  const freed = data()[`Interface-${nodeIp(1)}`]!;
  const oldMac = data()[`Mac-${nodeIp(1)}`];
  const ours = (d: Record<string, string>) => Object.keys(d).filter((k) => k.endsWith(nodeIp(1)) || d[k] === nodeIp(1));
  // When
  double!.api.delete("nodes", "", "node1");
  const keysMs = await until(() => ours(data()).length === 0, 20_000, "node1's keys gone", agents.get(2), 50);
  const kernelMs = await until(() => { const k = kernelOf(1); return k.link === undefined && k.fdb.trim() === "" && k.rule.trim() === ""; }, 20_000, "node1's device, FDB entry and rule gone", agents.get(1), 50);
  // Then they never come back (watched for 5 s), and node2 keeps its keys
  const t = Date.now();
  while (Date.now() - t < 5000) {
    assert.deepEqual(ours(data()), [], "node1's keys came back");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(complete(data(), [2]));
  console.log(`# route extender e2e: node1 deleted: keys gone in ${keysMs} ms, its kernel state in ${kernelMs} ms`);
  // When node1 joins again (new uid), then it gets the freed address and a new MAC, and the device reaches its pod
  double!.api.create("nodes", k8sNode(1));
  await until(() => complete(data()), 20_000, "node1's keys back", agents.get(1), 50);
  assert.equal(data()[`Interface-${nodeIp(1)}`], freed);
  assert.notEqual(data()[`Mac-${nodeIp(1)}`], oldMac);
  await until(() => kernelOf(1).link?.address === data()[`Mac-${nodeIp(1)}`] && nsSh(nodeNs.get(1)!, "ip -4 addr show dev routervxlan0").includes(`${freed}/24`), 20_000, "node1's device with its new MAC and address", agents.get(1), 50);
  programDevice(data());
  assert.ok(ping(podIp(1)) || ping(podIp(1)), "device → pod on the re-joined node1");
});

test("given an agent WITHOUT --run-route-extender on a node the extender served, when it runs several sync periods, then it removes our device, FDB entry and rule, never asks the API for a ConfigMap, and its extender lane synced once", { skip, timeout: 40_000 }, async () => {
  for (const n of NODES) assert.equal(await stopAgent(agents.get(n)!), 0);
  assert.notEqual(kernelOf(1).link, undefined, "routervxlan0 left by the extender run");
  const from = double!.api.requests.length;
  const a = startAgent(1, []);
  await until(() => scrapeIn(nodeNs.get(1)!, HEALTH, "/healthz").code === 200, 20_000, "healthy", a, 100);
  await until(() => { const k = kernelOf(1); return k.link === undefined && k.fdb.trim() === "" && k.rule.trim() === ""; }, 10_000, "our extender objects removed", a, 50);
  // three --routes-sync-period (1 s) pass, and a node changes
  double!.api.update("nodes", node("node2", { ip: nodeIp(2), podCIDR: "10.244.2.0/24", labels: { changed: "yes" } }));
  await new Promise((r) => setTimeout(r, 3500));
  const asked = double!.api.requests.slice(from).filter((r) => r.resource === "configmaps" || r.resource === "leases").map((r) => `${r.verb} ${r.resource}`);
  assert.deepEqual(asked, []);
  assert.equal(extenderSyncs(1), 1);
  assert.equal(scrapeIn(nodeNs.get(1)!, HEALTH, "/healthz").code, 200);
  assert.equal(await stopAgent(a), 0);
});
