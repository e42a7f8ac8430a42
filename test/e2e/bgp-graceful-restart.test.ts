/**
 * End to end, BGP graceful restart (issue 10, `--bgp-graceful-restart`): one netns "node" runs
 * the agent with its own gobgpd; BIRD 2 in another netns is its external peer with graceful
 * restart on (the helper side of RFC 4724).
 *
 * With graceful restart on, the agent's SIGTERM kills gobgpd without a NOTIFICATION (upstream
 * keeps gobgpd's routes alive across an agent restart the same way): BIRD keeps the node's pod
 * CIDR as stale while the session is down, and the restarted agent's session refreshes it —
 * sampled every few ms from the SIGTERM until the new session is up, BIRD never lacked the
 * route. With graceful restart off, SIGTERM stops gobgpd cleanly (Cease) and BIRD drops the
 * route at once: the contrast that shows the first half is not just a slow BIRD.
 *
 * Namespaces `kgr-<tag>-<pid>`, links `kgr<pid>…`; all deleted at the end. Only pids this test
 * started (and processes in its own namespaces) are signalled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gobgpSkip, waitFor } from "../support/gobgp.ts";
import { type Bird, birdEstablished, birdRoute, birdSkip, birdc, startBird, waitBirdNoRoute, waitBirdRoute } from "../support/bird.ts";
import { type SrcAgent, sh, spawnSrcAgent, teardownBgpE2e } from "../support/bgp-e2e.ts";

const skip = gobgpSkip() || birdSkip();
const NODE_IP = "10.99.92.11";
const BIRD_IP = "10.99.92.254";
const POD_CIDR = "10.244.1.0/24";

const nsName = (t: string) => `kgr-${t}-${process.pid}`;

const CLUSTER = `apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: ${POD_CIDR}}
status: {addresses: [{type: InternalIP, address: ${NODE_IP}}]}
`;

const BIRD_CONFIG = `router id ${BIRD_IP};
log stderr all;
protocol device { scan time 10; }
protocol bgp node1 {
  local ${BIRD_IP} as 65099;
  neighbor ${NODE_IP} as 64512;
  hold time 9; keepalive time 3;
  connect delay time 1; connect retry time 1; error wait time 1, 5;
  graceful restart on;
  ipv4 { import all; export none; };
}
`;

test("BGP graceful restart: BIRD keeps the node's routes across an agent restart", { skip, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kgr-e2e-"));
  const nodeNs = nsName("n1");
  const birdNs = nsName("bird");
  const link = `kgr${process.pid % 100000}`;
  const agents: SrcAgent[] = [];
  let bird: Bird | undefined;
  const startAgent = (gracefulRestart: boolean): SrcAgent => {
    const a = spawnSrcAgent(nodeNs, [
      "--snapshot", join(dir, "cluster.yaml"), "--hostname-override", "node1", "--run-service-proxy=false", "--run-firewall=false",
      "--state-dir", join(dir, "state"), "--health-port=0", `--peer-router-ips=${BIRD_IP}`, "--peer-router-asns=65099",
      `--bgp-graceful-restart=${gracefulRestart}`,
    ], { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni.conf") });
    agents.push(a);
    return a;
  };
  const stopAgent = async (a: SrcAgent): Promise<void> => {
    a.proc.kill("SIGTERM");
    assert.equal(await a.exited, 0, a.out.slice(-8).join("\n"));
    assert.equal(sh("ip", ["netns", "pids", nodeNs]).trim(), "", "nothing left running in the node's namespace");
  };
  const established = (): boolean => /Established/.test(birdc(bird!, ["show", "protocols", "node1"]));
  try {
    // given a node and BIRD (graceful restart on) on one link, and the agent with graceful restart on
    for (const n of [nodeNs, birdNs]) { sh("ip", ["netns", "add", n]); sh("ip", ["-n", n, "link", "set", "lo", "up"]); }
    sh("ip", ["link", "add", `${link}a`, "netns", nodeNs, "type", "veth", "peer", "name", `${link}b`, "netns", birdNs]);
    for (const [ns, dev, addr] of [[nodeNs, `${link}a`, NODE_IP], [birdNs, `${link}b`, BIRD_IP]] as const) {
      sh("ip", ["-n", ns, "link", "set", dev, "name", "eth0"]);
      sh("ip", ["-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0"]);
      sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    }
    writeFileSync(join(dir, "cluster.yaml"), CLUSTER);
    bird = await startBird(birdNs, BIRD_CONFIG);
    const first = startAgent(true);
    await birdEstablished(bird, "node1", 60_000);
    await waitBirdRoute(bird, POD_CIDR, (b) => b.includes(`via ${NODE_IP}`), 30_000);
    const caps = birdc(bird, ["show", "protocols", "all", "node1"]);
    assert.match(caps.split("Neighbor capabilities")[1] ?? "", /Graceful restart\s+Restart time: 90\b[^]*?AF preserved: ipv4/, `our OPEN carries the graceful-restart capability:\n${caps}`);

    await t.test("when the agent is restarted, then BIRD keeps the pod CIDR all along: stale while the session is down, refreshed by the new one", async () => {
      // sample BIRD from the SIGTERM until the restarted agent's session is up again
      let samples = 0;
      let missing = 0;
      let sawDown = false;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples++;
          if (birdRoute(bird!, POD_CIDR) === undefined) missing++;
          if (!established()) sawDown = true;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const r0 = Date.now();
      await stopAgent(first);
      await waitFor("BIRD to see the session down", () => (established() ? undefined : true), 15_000, 10);
      startAgent(true);
      await birdEstablished(bird!, "node1", 60_000);
      const upAfter = Date.now() - r0;
      await new Promise((r) => setTimeout(r, 1000)); // past the new session's End-of-RIB
      sampling = false;
      await sampler;
      t.diagnostic(`restart: session back ${upAfter} ms after SIGTERM; ${samples} samples of BIRD, ${missing} without the route`);
      assert.ok(sawDown, "the session did go down");
      assert.ok(samples > 20, `sampled ${samples} times`);
      assert.equal(missing, 0, "BIRD never lacked the pod CIDR");
      assert.match(birdRoute(bird!, POD_CIDR) ?? "", new RegExp(`via ${NODE_IP.replaceAll(".", "\\.")}`));
    });

    await t.test("when graceful restart is off and the agent stops, then BIRD drops the pod CIDR at once (the contrast)", async () => {
      await stopAgent(agents.at(-1)!);
      const plain = startAgent(false);
      await birdEstablished(bird!, "node1", 60_000);
      await waitBirdRoute(bird!, POD_CIDR, (b) => b.includes(`via ${NODE_IP}`), 30_000);
      const s0 = Date.now();
      await stopAgent(plain);
      await waitBirdNoRoute(bird!, POD_CIDR, 5_000);
      t.diagnostic(`graceful restart off: the route left BIRD ${Date.now() - s0} ms after SIGTERM`);
    });
  } finally {
    await teardownBgpE2e({ agents, bird, namespaces: [nodeNs, birdNs], dir });
  }
});
