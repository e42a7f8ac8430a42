/**
 * End to end, an allocated LoadBalancer IP flows into BGP: one built agent (`kube-router
 * --run-loadbalancer --run-router --advertise-loadbalancer-ip`, its own gobgpd) in a netns
 * "node" against the API double (through the unix-socket relay of support/api-relay.ts),
 * peering with BIRD 2 in a second netns on a veth pair.
 *
 * Checks: a LoadBalancer Service with a ready endpoint on the node gets an IP from the range
 * (the allocator writes its status), the watch brings the status back, and BIRD learns that
 * IP as a /32 with the node as next hop; the Service deleted ⇒ BIRD withdraws it.
 *
 * Namespaces `klb-<tag>-<pid>`, links `klb<pid>…`; all deleted at the end. Only pids this test
 * started are signalled (gobgpd runs with pdeathsig; anything left in our namespaces is ours).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnAgent, stopAgent, until } from "../support/agent-process.ts";
import { type Bird, birdBgpConfig, birdSkip, startBird, stopBird, waitBirdNoRoute, waitBirdRoute } from "../support/bird.ts";
import { CLI } from "../support/cli.ts";
import { gobgpSkip } from "../support/gobgp.ts";
import { kubeconfigText, node, startApiDouble } from "../support/kube-api-double/index.ts";
import { type ApiRelay, apiRelay } from "../support/api-relay.ts";

const skip = gobgpSkip() || birdSkip() || (!existsSync(CLI) && "dist/ not built (npm run build)");
const NODE_IP = "10.99.91.10";
const BIRD_IP = "10.99.91.254";
const RANGE = "198.51.100.16/28";
const API_PORT = 6443;

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const nsName = (t: string) => `klb-${t}-${process.pid}`;

test("given one agent with --run-loadbalancer --run-router --advertise-loadbalancer-ip peering with BIRD, when a LoadBalancer Service with a local endpoint gets its IP, then BIRD learns it as a /32 via the node; when the Service is deleted, then BIRD withdraws it", { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "klb-e2e-"));
  const nodeNs = nsName("node");
  const birdNs = nsName("bird");
  const live = new Set<ChildProcess>();
  const double = await startApiDouble();
  let relay: ApiRelay | undefined;
  let bird: Bird | undefined;
  try {
    for (const n of [nodeNs, birdNs]) { sh("ip", ["netns", "add", n]); sh("ip", ["-n", n, "link", "set", "lo", "up"]); }
    const a = `klb${process.pid}a`;
    const b = `klb${process.pid}b`;
    sh("ip", ["link", "add", a, "netns", nodeNs, "type", "veth", "peer", "name", b, "netns", birdNs]);
    sh("ip", ["-n", nodeNs, "link", "set", a, "name", "eth0"]);
    sh("ip", ["-n", nodeNs, "addr", "add", `${NODE_IP}/24`, "dev", "eth0"]);
    sh("ip", ["-n", nodeNs, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", birdNs, "addr", "add", `${BIRD_IP}/24`, "dev", b]);
    sh("ip", ["-n", birdNs, "link", "set", b, "up"]);
    bird = await startBird(birdNs, birdBgpConfig({ local: BIRD_IP, localAs: 65099, neighbor: NODE_IP, neighborAs: 64512, protocol: "node1" }));

    // the cluster: the node, a LoadBalancer Service and its EndpointSlice with a ready endpoint on the node
    double.api.create("nodes", node("node1", { ip: NODE_IP, podCIDR: "10.244.1.0/24" }));
    double.api.create("services", {
      metadata: { namespace: "default", name: "web" },
      spec: { type: "LoadBalancer", clusterIP: "10.96.0.60", clusterIPs: ["10.96.0.60"], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] },
    });
    double.api.create("endpointslices", {
      metadata: { namespace: "default", name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [{ addresses: ["10.244.1.10"], conditions: { ready: true }, nodeName: "node1" }],
    });
    writeFileSync(join(dir, "kubeconfig"), kubeconfigText(`http://127.0.0.1:${API_PORT}`));
    relay = await apiRelay(join(dir, "api.sock"), double.api.port);
    await relay.into(nodeNs, API_PORT);

    const t0 = Date.now();
    const agent = spawnAgent(nodeNs, [
      "--kubeconfig", join(dir, "kubeconfig"), "--hostname-override", "node1",
      "--run-loadbalancer", `--loadbalancer-ip-range=${RANGE}`, "--run-router", "--advertise-loadbalancer-ip",
      "--run-firewall=false", "--run-service-proxy=false", `--peer-router-ips=${BIRD_IP}`, "--peer-router-asns=65099",
      "--state-dir", join(dir, "state"), "--health-port=0", "--metrics-port=0", "--cache-sync-timeout=5s",
    ], { POD_NAME: "node1", POD_NAMESPACE: "kube-system", KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni.conf"), KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms" }, live);

    // the allocator gives the Service the first IP of the range
    const ingress = () => ((double.api.store.get("services", "default", "web")?.["status"] as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
    await until(() => ingress().length > 0, 20_000, "the Service's LoadBalancer IP", agent, 20);
    assert.deepEqual(ingress(), ["198.51.100.16"]);
    t.diagnostic(`status.loadBalancer.ingress set ${Date.now() - t0} ms after the agent started`);

    // BIRD learns it from the node, next hop the node
    const block = await waitBirdRoute(bird, "198.51.100.16/32", (r) => r.includes(`via ${NODE_IP}`), 30_000);
    assert.match(block, new RegExp(`BGP\\.next_hop: ${NODE_IP.replaceAll(".", "\\.")}`));
    assert.match(block, /BGP\.as_path: 64512/);
    t.diagnostic(`BIRD learned 198.51.100.16/32 via ${NODE_IP} ${Date.now() - t0} ms after the agent started`);
    // (and the pod CIDR, as a check that the session carries the node's routes)
    await waitBirdRoute(bird, "10.244.1.0/24", (r) => r.includes(`via ${NODE_IP}`), 10_000);

    // the Service deleted ⇒ withdrawn
    const d0 = Date.now();
    double.api.delete("services", "default", "web");
    await waitBirdNoRoute(bird, "198.51.100.16/32", 15_000);
    t.diagnostic(`withdrawn from BIRD ${Date.now() - d0} ms after the Service was deleted`);
    assert.ok(await waitBirdRoute(bird, "10.244.1.0/24", () => true, 1000), "the pod CIDR stays");

    assert.equal(await stopAgent(agent), 0);
  } finally {
    for (const p of live) p.kill("SIGKILL");
    await stopBird(bird);
    await relay?.close();
    await double.dispose();
    for (const ns of [nodeNs, birdNs]) {
      try { for (const p of sh("ip", ["netns", "pids", ns]).split("\n").filter((x) => x !== "")) process.kill(Number(p), "SIGKILL"); } catch { /* gone */ }
      try { sh("ip", ["netns", "del", ns]); } catch { /* gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
