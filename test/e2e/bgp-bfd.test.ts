/**
 * End to end, BFD: one netns node running the agent (`--enable-bfd`, 100 ms intervals) with its
 * own gobgpd, BIRD 2 with BFD in a second netns as the external peer. The session comes up with
 * BFD Up on both sides; the node's BGP state converges (no repeated plan); when the node's link
 * is cut (every packet between them dropped, carrier up), BIRD's BGP session goes down in under
 * 1 s (hold time alone: 9 s).
 *
 * Namespaces `kbg-<tag>-<pid>`, always deleted; only pids this test started are signalled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GobgpClient } from "../../src/apply/gobgp/client.ts";
import { peerFromWire } from "../../src/apply/gobgp/peers.ts";
import { gobgpSkip, waitFor } from "../support/gobgp.ts";
import { type Bird, birdBgpConfig, birdEstablished, birdSkip, birdc, startBird, stopBird } from "../support/bird.ts";

const ROOT = join(import.meta.dirname, "../..");
const MAIN = join(ROOT, "src/agent/main.ts");
const NODE_IP = "10.99.91.11";
const BIRD_IP = "10.99.91.254";

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("BFD end to end: the agent's gobgpd runs BFD with BIRD; a cut link drops BIRD's session in under 1 s", { skip: gobgpSkip() || birdSkip(), timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kbg-bfd-"));
  const nodeNs = `kbg-bfdn-${process.pid}`;
  const birdNs = `kbg-bfdb-${process.pid}`;
  let agent: { proc: ChildProcess; out: string[]; exited: Promise<number | null> } | undefined;
  let bird: Bird | undefined;
  try {
    for (const n of [nodeNs, birdNs]) { sh("ip", ["netns", "add", n]); sh("ip", ["-n", n, "link", "set", "lo", "up"]); }
    const a = `kbg${process.pid % 100000}f`;
    sh("ip", ["link", "add", a, "netns", nodeNs, "type", "veth", "peer", "name", `${a}b`, "netns", birdNs]);
    sh("ip", ["-n", nodeNs, "link", "set", a, "name", "eth0"]);
    sh("ip", ["-n", nodeNs, "addr", "add", `${NODE_IP}/24`, "dev", "eth0"]);
    sh("ip", ["-n", nodeNs, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", birdNs, "addr", "add", `${BIRD_IP}/24`, "dev", `${a}b`]);
    sh("ip", ["-n", birdNs, "link", "set", `${a}b`, "up"]);
    bird = await startBird(birdNs, birdBgpConfig({ local: BIRD_IP, localAs: 65099, neighbor: NODE_IP, neighborAs: 64512, protocol: "node1", bfdMs: 100, holdTime: 9 }));
    const snapshot = join(dir, "cluster.yaml");
    writeFileSync(snapshot, `apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: ${NODE_IP}}]}
`);
    const proc = spawn("ip", ["netns", "exec", nodeNs, process.execPath, "--import", "tsx", MAIN,
      "--snapshot", snapshot, "--hostname-override", "node1", "--run-service-proxy=false", "--run-firewall=false",
      "--state-dir", join(dir, "s"), "--health-port=0", `--peer-router-ips=${BIRD_IP}`, "--peer-router-asns=65099", "--bgp-holdtime=9s",
      "--enable-bfd", "--bfd-desired-min-tx-interval=100", "--bfd-required-min-rx-interval=100", "--bfd-detection-multiplier=3",
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni.conf") } });
    const out: string[] = [];
    proc.stdout?.on("data", (b: Buffer) => out.push(...b.toString().split("\n").filter((l) => l !== "")));
    proc.stderr?.on("data", (b: Buffer) => out.push(...b.toString().split("\n").filter((l) => l !== "")));
    agent = { proc, out, exited: new Promise((r) => proc.on("exit", (code) => r(code))) };

    // Then the session is up with BFD on both sides
    await birdEstablished(bird, "node1", 60_000);
    await waitFor("BIRD BFD session up", () => (new RegExp(`${NODE_IP.replaceAll(".", "\\.")}\\s+\\S+\\s+Up`).test(birdc(bird!, ["show", "bfd", "sessions"])) ? true : undefined), 15_000, 50);
    const c = new GobgpClient(`unix://${join(dir, "s", "gobgpd.sock")}`);
    try {
      const peer = peerFromWire((await c.listPeer(BIRD_IP))[0]!);
      assert.equal(peer.bfdState, "up");
      assert.deepEqual(peer.spec.bfd, { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMultiplier: 3, port: 3784 });
    } finally {
      c.close();
    }
    // And the agent's BGP state converged: no sync error, no verify failure
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!out.some((l) => /not converged|"level":50/.test(l)), out.filter((l) => /not converged|"level":50/.test(l)).join("\n"));

    // When the node's link is cut, silently (packets dropped, carrier still up: only BFD or the hold time can tell)
    const t0 = Date.now();
    sh("ip", ["netns", "exec", nodeNs, "iptables", "-I", "INPUT", "-s", BIRD_IP, "-j", "DROP"]);
    sh("ip", ["netns", "exec", nodeNs, "iptables", "-I", "OUTPUT", "-d", BIRD_IP, "-j", "DROP"]);
    // Then BIRD's session goes down within the BFD detection time, far below the 9 s hold time
    await waitFor("BIRD session down", () => (/Established/.test(birdc(bird!, ["show", "protocols", "node1"])) ? undefined : true), 5000, 10);
    const ms = Date.now() - t0;
    t.diagnostic(`BIRD's session to the cut node went down in ${ms} ms (BFD 100 ms x 3; hold time 9 s)`);
    assert.ok(ms < 1000, `${ms} ms`);

    // And SIGTERM exits 0 leaving nothing in the node's namespace
    proc.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
    assert.equal(sh("ip", ["netns", "pids", nodeNs]).trim(), "");
  } finally {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill("SIGKILL");
    if (agent) await Promise.race([agent.exited, new Promise((r) => setTimeout(r, 5000))]);
    await stopBird(bird);
    for (const ns of [nodeNs, birdNs]) {
      try { for (const p of sh("ip", ["netns", "pids", ns]).split("\n").filter((x) => x !== "")) process.kill(Number(p), "SIGKILL"); } catch { /* gone */ }
      try { sh("ip", ["netns", "del", ns]); } catch { /* gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
