/**
 * End to end, BGP: three netns "nodes" on one L2 segment (a bridge in a switch netns), each
 * running the agent from a watched snapshot file (`node --import tsx src/agent/main.ts`, not
 * --once) with its own gobgpd, iBGP full mesh; a fourth netns runs BIRD 2 as the external
 * router (`--peer-router-ips`) peering with every node.
 *
 * Checks: BIRD learns every pod CIDR and the advertised cluster IP with the right next hops
 * (each node's own); a prefix BIRD exports lands in every node's kernel with proto 17 and
 * leaves when BIRD withdraws it; gobgpd killed on a node ⇒ replayed, routes back in BIRD;
 * SIGTERM exits 0 and leaves no gobgpd (nor any process) in the node namespaces.
 *
 * Namespaces are named `kbg-<tag>-<pid>`, links `kbg<pid>…`; all deleted at the end. Only pids
 * this test started are signalled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GobgpClient } from "../../src/apply/gobgp/client.ts";
import { FAMILY_IPV4, parseDestinations } from "../../src/apply/gobgp/paths.ts";
import { gobgpSkip, waitFor } from "../support/gobgp.ts";
import { type Bird, birdSkip, birdc, startBird, waitBirdNoRoute, waitBirdRoute } from "../support/bird.ts";
import { type SrcAgent, agentTails, bgpNamespaces, l2Segment, sh, spawnSrcAgent, teardownBgpE2e } from "../support/bgp-e2e.ts";

const skip = gobgpSkip() || birdSkip();
const tag = process.pid % 100000;
const NODES = [1, 2, 3] as const;
const ip = (n: number) => `10.99.90.${10 + n}`;
const BIRD_IP = "10.99.90.254";
const EXTERNAL = "192.0.2.0/24";
const VIP = "10.96.0.50";

const nsName = (t: string) => `kbg-${t}-${process.pid}`;

function clusterYaml(o: { nodes?: readonly number[]; service?: boolean } = {}): string {
  const nodes = (o.nodes ?? NODES).map((n) => `apiVersion: v1
kind: Node
metadata: {name: node${n}${n === 1 ? ", annotations: {kube-router.io/node.bgp.communities: \"64512:100\"}" : ""}}
spec: {podCIDR: 10.244.${n}.0/24}
status: {addresses: [{type: InternalIP, address: ${ip(n)}}]}
`);
  if (o.service === false) return nodes.join("---\n");
  return [...nodes, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: ClusterIP, clusterIP: ${VIP}, clusterIPs: [${VIP}], ports: [{port: 80, targetPort: 8080, protocol: TCP}]}
`, `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {ready: true}
  nodeName: node1
`].join("---\n");
}

function birdConfig(): string {
  const peers = NODES.map((n) => `protocol bgp node${n} {
  local ${BIRD_IP} as 65099;
  neighbor ${ip(n)} as 64512;
  hold time 9; keepalive time 3;
  connect delay time 1; connect retry time 2; error wait time 1, 5;
  ipv4 { import all; export where proto = "ext_routes" || proto = "bad_routes"; };
}`).join("\n");
  return `router id ${BIRD_IP};
log stderr all;
protocol device { scan time 10; }
protocol static ext_routes {
  ipv4;
  route ${EXTERNAL} blackhole;
}
# what our import policy must reject: a default route and an echo of a cluster VIP
protocol static bad_routes {
  ipv4;
  route 0.0.0.0/0 blackhole;
  route ${VIP}/32 blackhole;
}
${peers}
`;
}

/** BIRD's `show route <prefix> all`. */
const birdRouteAll = (prefix: string): string => execFileSync("birdc", ["-s", currentBird!.socket, "show", "route", prefix, "all"], { encoding: "utf8" });
let currentBird: Bird | undefined;

test("BGP end to end: 3 agents with their own gobgpd in a full mesh, BIRD as external peer", { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kbg-e2e-"));
  const { sw, nodeNs, birdNs, all } = bgpNamespaces(nsName, NODES);
  const agents: SrcAgent[] = [];
  let bird: Bird | undefined;
  try {
    // the segment: a bridge in the switch netns, one veth per node and one for BIRD
    l2Segment({
      all, sw, prefix: `kbg${tag}`,
      members: [...NODES.map((n, i) => ({ ns: nodeNs[i]!, i: n, addrs: [`${ip(n)}/24`] })), { ns: birdNs, i: 9, addrs: [`${BIRD_IP}/24`] }],
    });

    bird = await startBird(birdNs, birdConfig());
    currentBird = bird;
    const snapshot = join(dir, "cluster.yaml");
    writeFileSync(snapshot, clusterYaml());

    const t0 = Date.now();
    for (const [i, n] of NODES.entries()) {
      agents.push(spawnSrcAgent(nodeNs[i]!, [
        "--snapshot", snapshot, "--hostname-override", `node${n}`, "--run-service-proxy=false", "--run-firewall=false",
        "--state-dir", join(dir, `s${n}`), "--health-port=0", `--peer-router-ips=${BIRD_IP}`, "--peer-router-asns=65099", "--advertise-cluster-ip",
      ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni${n}.conf`) }));
    }

    await t.test("BIRD learns every pod CIDR from its own node, and the cluster IP", async () => {
      for (const n of NODES) {
        const block = await waitBirdRoute(bird!, `10.244.${n}.0/24`, (b) => b.includes(`via ${ip(n)}`), 60_000);
        assert.match(block, new RegExp(`BGP.next_hop: ${ip(n).replaceAll(".", "\\.")}`));
      }
      // node1's communities ride on what it exports (pod CIDR included)
      assert.match(birdRouteAll("10.244.1.0/24"), /BGP\.community: \(64512,100\)/);
      assert.doesNotMatch(birdRouteAll("10.244.2.0/24"), /BGP\.community/);
      t.diagnostic(`BIRD learned the 3 pod CIDRs ${Date.now() - t0} ms after the agents started`);
      const vip = await waitBirdRoute(bird!, `${VIP}/32`, () => true, 30_000);
      for (const n of NODES) assert.ok(vip.includes(`via ${ip(n)}`) || birdc(bird!, ["show", "route", "all", `${VIP}/32`]).includes(ip(n)), `VIP via node${n}`);
    });

    await t.test("a prefix BIRD exports lands in every node's kernel with proto 17 (and the full mesh routes each pod CIDR)", async () => {
      for (const ns of nodeNs) {
        await waitFor(`${EXTERNAL} in ${ns}`, () => (sh("ip", ["-n", ns, "route", "show", EXTERNAL]).includes(`via ${BIRD_IP}`) ? true : undefined), 30_000, 50);
        const r = sh("ip", ["-n", ns, "route", "show", EXTERNAL]);
        assert.match(r, /proto 17/);
      }
      // and the pod CIDRs of the others, from the snapshot (proto 17 too), not twice
      const r1 = sh("ip", ["-n", nodeNs[0]!, "route", "show", "proto", "17"]);
      assert.match(r1, /10\.244\.2\.0\/24 via 10\.99\.90\.12/);
      assert.match(r1, /10\.244\.3\.0\/24 via 10\.99\.90\.13/);
    });

    await t.test("when BIRD withdraws it, it leaves every node's kernel", async () => {
      const w0 = Date.now();
      birdc(bird!, ["disable", "ext_routes"]);
      for (const ns of nodeNs) {
        await waitFor(`${EXTERNAL} gone from ${ns}`, () => (sh("ip", ["-n", ns, "route", "show", EXTERNAL]).trim() === "" ? true : undefined), 30_000, 20);
      }
      t.diagnostic(`withdrawn from the 3 kernels in ${Date.now() - w0} ms`);
      birdc(bird!, ["enable", "ext_routes"]);
    });

    await t.test("BIRD's default route and its echo of a cluster VIP are rejected by our import policy (not in GoBGP, not in the kernel)", async () => {
      const c = new GobgpClient(`unix://${join(dir, "s1", "gobgpd.sock")}`);
      try {
        await waitFor("BIRD's prefix in node1's GoBGP", async () => (parseDestinations(await c.listPath(FAMILY_IPV4)).some((p) => p.prefix === EXTERNAL) ? true : undefined), 30_000, 50);
        const fromBird = parseDestinations(await c.listPath(FAMILY_IPV4)).filter((p) => p.neighbor === BIRD_IP).map((p) => p.prefix);
        assert.deepEqual(fromBird.sort(), [EXTERNAL]);
      } finally {
        c.close();
      }
      for (const ns of nodeNs) {
        assert.equal(sh("ip", ["-n", ns, "route", "show", "default"]).trim(), "");
        assert.doesNotMatch(sh("ip", ["-n", ns, "route", "show", "proto", "17"]), new RegExp(VIP.replaceAll(".", "\\.")));
      }
    });

    await t.test("the Service deleted from the watched file (replaced by rename) ⇒ its VIP leaves BIRD; added back ⇒ back in BIRD", async () => {
      const fromNode1 = () => { try { return birdc(bird!, ["show", "route", `${VIP}/32`, "protocol", "node1"]).includes("[node1"); } catch { return false; } };
      await waitFor("the VIP from node1 in BIRD", () => (fromNode1() ? true : undefined), 15_000, 20);
      const s0 = Date.now();
      writeFileSync(`${snapshot}.tmp`, clusterYaml({ service: false }));
      renameSync(`${snapshot}.tmp`, snapshot);
      await waitFor(`${VIP}/32 from node1 gone from BIRD`, () => (fromNode1() ? undefined : true), 15_000, 20);
      t.diagnostic(`VIP withdrawn from BIRD ${Date.now() - s0} ms after the file was replaced`);
      // and when the Service is added back, its VIP is in BIRD again soon
      const a0 = Date.now();
      writeFileSync(`${snapshot}.tmp`, clusterYaml());
      renameSync(`${snapshot}.tmp`, snapshot);
      await waitFor(`${VIP}/32 from node1 back in BIRD`, () => (fromNode1() ? true : undefined), 15_000, 10);
      t.diagnostic(`Service added → its VIP in BIRD in ${Date.now() - a0} ms (file watch, debounce, render, AddPathStream, BGP UPDATE)`);
    });

    await t.test("node3 removed from the file ⇒ node1 and node2 drop their peer and route to it", async () => {
      writeFileSync(`${snapshot}.tmp`, clusterYaml({ nodes: [1, 2] }));
      renameSync(`${snapshot}.tmp`, snapshot);
      for (const n of [1, 2]) {
        const c = new GobgpClient(`unix://${join(dir, `s${n}`, "gobgpd.sock")}`);
        try {
          await waitFor(`node${n} drops peer node3`, async () => ((await c.listPeer()).some((p) => p.conf?.neighborAddress === ip(3)) ? undefined : true), 15_000, 50);
        } finally {
          c.close();
        }
        await waitFor(`node${n} drops the route to node3's pods`, () => (sh("ip", ["-n", nodeNs[n - 1]!, "route", "show", "10.244.3.0/24"]).trim() === "" ? true : undefined), 15_000, 50);
      }
    });

    await t.test("gobgpd killed on node1 ⇒ restarted and replayed: node1's routes back in BIRD", async () => {
      const pids = sh("ip", ["netns", "pids", nodeNs[0]!]).split("\n").filter((p) => p !== "");
      const gobgpd = pids.find((p) => { try { return sh("cat", [`/proc/${p}/comm`]).trim() === "gobgpd"; } catch { return false; } });
      assert.ok(gobgpd, "node1 runs its own gobgpd");
      const k0 = Date.now();
      process.kill(Number(gobgpd), "SIGKILL");
      await waitBirdNoRoute(bird!, "10.244.1.0/24", 15_000).catch(() => true); // BIRD may see the session drop (or not, if quick)
      await waitBirdRoute(bird!, "10.244.1.0/24", (b) => b.includes(`via ${ip(1)}`), 30_000);
      t.diagnostic(`node1's pod CIDR back in BIRD ${Date.now() - k0} ms after kill -9 of its gobgpd`);
    });

    await t.test("SIGTERM: every agent exits 0 and leaves no gobgpd behind", async () => {
      for (const a of agents) a.proc.kill("SIGTERM");
      const codes = await Promise.all(agents.map((a) => a.exited));
      assert.deepEqual(codes, [0, 0, 0], agentTails(agents, 5));
      for (const ns of nodeNs) assert.equal(sh("ip", ["netns", "pids", ns]).trim(), "", `processes left in ${ns}`);
    });
  } finally {
    await teardownBgpE2e({ agents, bird, namespaces: all, dir });
  }
});
