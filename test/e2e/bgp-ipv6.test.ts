/**
 * End to end, BGP over IPv6 (issue 10): two dual-stack netns "nodes" on one L2 segment, each
 * running the agent from a snapshot file with `--enable-ipv6` and its own gobgpd; BIRD 2 in a
 * third netns is the external router, peering with each node over an **IPv6 session**
 * (`--peer-router-ips=<BIRD's IPv6 address>`, BIRD offers IPv6 unicast only).
 *
 * Checks: the sessions come up over IPv6 transport; BIRD learns each node's IPv6 pod CIDR with
 * the node's IPv6 address as next hop; the iBGP session between the nodes (over their primary,
 * IPv4, addresses) carries the IPv6 pod CIDRs with IPv6 next hops (MP-BGP); a prefix BIRD
 * exports lands in both kernels as an IPv6 proto-17 route via BIRD and leaves on withdraw;
 * SIGTERM exits 0 and leaves nothing running.
 *
 * Namespaces `kb6-<tag>-<pid>`, links `kb6<pid>…`; all deleted at the end. Only pids this test
 * started (and processes in its own namespaces) are signalled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GobgpClient } from "../../src/apply/gobgp/client.ts";
import { FAMILY_IPV6, parseDestinations } from "../../src/apply/gobgp/paths.ts";
import { gobgpSkip, waitFor } from "../support/gobgp.ts";
import { type Bird, birdEstablished, birdSkip, birdc, startBird, waitBirdRoute } from "../support/bird.ts";
import { type SrcAgent, agentTails, bgpNamespaces, l2Segment, sh, spawnSrcAgent, teardownBgpE2e } from "../support/bgp-e2e.ts";

const skip = gobgpSkip() || birdSkip();
const tag = process.pid % 100000;
const NODES = [1, 2] as const;
const ip4 = (n: number) => `10.99.91.${10 + n}`;
const ip6 = (n: number) => `fd99:91::${10 + n}`;
const pod6 = (n: number) => `fd00:244:${n}::/64`;
const BIRD4 = "10.99.91.254";
const BIRD6 = "fd99:91::fe";
const EXTERNAL6 = "2001:db8:77::/48";

const nsName = (t: string) => `kb6-${t}-${process.pid}`;

function clusterYaml(): string {
  return NODES.map((n) => `apiVersion: v1
kind: Node
metadata: {name: node${n}}
spec: {podCIDR: 10.244.${n}.0/24, podCIDRs: [10.244.${n}.0/24, "${pod6(n)}"]}
status: {addresses: [{type: InternalIP, address: ${ip4(n)}}, {type: InternalIP, address: "${ip6(n)}"}]}
`).join("---\n");
}

function birdConfig(): string {
  const peers = NODES.map((n) => `protocol bgp node${n} {
  local ${BIRD6} as 65099;
  neighbor ${ip6(n)} as 64512;
  hold time 9; keepalive time 3;
  connect delay time 1; connect retry time 2; error wait time 1, 5;
  ipv6 { import all; export where proto = "ext6"; };
}`).join("\n");
  return `router id ${BIRD4};
log stderr all;
protocol device { scan time 10; }
protocol static ext6 {
  ipv6;
  route ${EXTERNAL6} blackhole;
}
${peers}
`;
}

test("BGP over IPv6: dual-stack agents, BIRD peering over an IPv6 session", { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb6-e2e-"));
  const { sw, nodeNs, birdNs, all } = bgpNamespaces(nsName, NODES);
  const agents: SrcAgent[] = [];
  let bird: Bird | undefined;
  try {
    // given one L2 segment (a bridge in a switch netns) with both families on every member
    l2Segment({
      all, sw, prefix: `kb6${tag}`,
      members: [...NODES.map((n, i) => ({ ns: nodeNs[i]!, i: n, addrs: [`${ip4(n)}/24`, `${ip6(n)}/64`] })), { ns: birdNs, i: 9, addrs: [`${BIRD4}/24`, `${BIRD6}/64`] }],
    });
    bird = await startBird(birdNs, birdConfig());
    const snapshot = join(dir, "cluster.yaml");
    writeFileSync(snapshot, clusterYaml());

    // when each node runs the agent, dual-stack, with BIRD's IPv6 address as its external peer
    const t0 = Date.now();
    for (const [i, n] of NODES.entries()) {
      agents.push(spawnSrcAgent(nodeNs[i]!, [
        "--snapshot", snapshot, "--hostname-override", `node${n}`, "--run-service-proxy=false", "--run-firewall=false",
        "--enable-ipv6=true", "--state-dir", join(dir, `s${n}`), "--health-port=0",
        `--peer-router-ips=${BIRD6}`, "--peer-router-asns=65099",
      ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni${n}.conf`) }));
    }
    const tail = () => agentTails(agents);

    await t.test("then BIRD's sessions to both nodes are established over IPv6", async () => {
      for (const n of NODES) {
        await birdEstablished(bird!, `node${n}`, 60_000).catch((e: unknown) => { throw new Error(`${String(e)}\n${tail()}`); });
        assert.match(birdc(bird!, ["show", "protocols", "all", `node${n}`]), new RegExp(`Neighbor address:\\s+${ip6(n)}\\b`));
      }
      t.diagnostic(`both IPv6 sessions established ${Date.now() - t0} ms after the agents started`);
    });

    await t.test("then BIRD learns each node's IPv6 pod CIDR with the node's IPv6 address as next hop", async () => {
      for (const n of NODES) {
        const block = await waitBirdRoute(bird!, pod6(n), (b) => b.includes(`via ${ip6(n)}`), 30_000);
        assert.match(block, new RegExp(`BGP\\.next_hop: ${ip6(n)}\\b`));
        assert.match(block, /BGP\.as_path: 64512\b/);
      }
    });

    await t.test("then the iBGP session between the nodes (IPv4 transport) carries the IPv6 pod CIDRs with IPv6 next hops", async () => {
      const c = new GobgpClient(`unix://${join(dir, "s1", "gobgpd.sock")}`);
      try {
        const fromNode2 = await waitFor("node2's IPv6 pod CIDR in node1's GoBGP", async () =>
          parseDestinations(await c.listPath(FAMILY_IPV6)).find((p) => p.prefix === pod6(2) && p.neighbor === ip4(2)), 30_000, 50);
        assert.equal(fromNode2.nextHop, ip6(2));
        assert.equal(fromNode2.family, "ipv6");
      } finally {
        c.close();
      }
      // and node1's kernel routes node2's IPv6 pods via node2's IPv6 address (from the snapshot)
      assert.match(sh("ip", ["-n", nodeNs[0]!, "-6", "route", "show", pod6(2)]), new RegExp(`via ${ip6(2)} .*proto 17`));
    });

    await t.test("when BIRD exports an IPv6 prefix, then it lands in both kernels via BIRD with proto 17; withdrawn, it leaves", async () => {
      for (const ns of nodeNs) {
        await waitFor(`${EXTERNAL6} in ${ns}`, () => (sh("ip", ["-n", ns, "-6", "route", "show", EXTERNAL6]).includes(`via ${BIRD6}`) ? true : undefined), 30_000, 50);
        assert.match(sh("ip", ["-n", ns, "-6", "route", "show", EXTERNAL6]), /proto 17/);
      }
      const w0 = Date.now();
      birdc(bird!, ["disable", "ext6"]);
      for (const ns of nodeNs) {
        await waitFor(`${EXTERNAL6} gone from ${ns}`, () => (sh("ip", ["-n", ns, "-6", "route", "show", EXTERNAL6]).trim() === "" ? true : undefined), 30_000, 20);
      }
      t.diagnostic(`IPv6 prefix withdrawn from both kernels in ${Date.now() - w0} ms`);
    });

    await t.test("when SIGTERM, then both agents exit 0 and leave no gobgpd behind", async () => {
      for (const a of agents) a.proc.kill("SIGTERM");
      const codes = await Promise.all(agents.map((a) => a.exited));
      assert.deepEqual(codes, [0, 0], tail());
      for (const ns of nodeNs) assert.equal(sh("ip", ["netns", "pids", ns]).trim(), "", `processes left in ${ns}`);
    });
  } finally {
    await teardownBgpE2e({ agents, bird, namespaces: all, dir });
  }
});
