/**
 * Test support for the BGP end-to-end tests (test/e2e/bgp*.test.ts): the agent from source
 * (`node --import tsx src/agent/main.ts`) in a node namespace with its output collected, an L2
 * segment (a bridge in a switch namespace, one veth per member), and the teardown every such
 * test ends with. Namespaces and links are the caller's (named after its pid); only processes
 * the test started, or left inside its own namespaces, are killed.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Bird, stopBird } from "./bird.ts";

const ROOT = join(import.meta.dirname, "../..");
const MAIN = join(ROOT, "src/agent/main.ts");

export const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export interface SrcAgent { readonly proc: ChildProcess; readonly out: string[]; readonly exited: Promise<number | null> }

/** Starts the agent from source in `ns` with `args` and `env` added, with fast sync timing; every output line kept. */
export function spawnSrcAgent(ns: string, args: readonly string[], env: Readonly<Record<string, string>>): SrcAgent {
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", MAIN, ...args], {
    cwd: ROOT, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUBE_ROUTER_SYNC_DEBOUNCE: "20ms", KUBE_ROUTER_SYNC_MIN_INTERVAL: "100ms", ...env },
  });
  const out: string[] = [];
  const keep = (b: Buffer) => out.push(...b.toString().split("\n").filter((l) => l !== ""));
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  return { proc, out, exited: new Promise((r) => proc.on("exit", (code) => r(code))) };
}

/** The last lines of each agent's output, for an assertion message. */
export const agentTails = (agents: readonly SrcAgent[], lines = 8): string =>
  agents.map((a, i) => `agent ${i + 1}:\n${a.out.slice(-lines).join("\n")}`).join("\n---\n");

/** The namespaces of a BGP end-to-end topology, named by the test's `name`: the switch, one per node (`n<i>`), BIRD's, and `all` of them in that order. */
export function bgpNamespaces(name: (tag: string) => string, nodes: readonly number[]): { sw: string; nodeNs: string[]; birdNs: string; all: string[] } {
  const sw = name("sw");
  const nodeNs = nodes.map((n) => name(`n${n}`));
  const birdNs = name("bird");
  return { sw, nodeNs, birdNs, all: [sw, ...nodeNs, birdNs] };
}

/**
 * Creates the namespaces `all` (loopback up), a bridge `br0` in `sw`, and per member a veth
 * (`<prefix>a<i>` in the member, renamed eth0, with its addresses, IPv6 ones without DAD;
 * `<prefix>b<i>` on the bridge).
 */
export function l2Segment(o: { all: readonly string[]; sw: string; prefix: string; members: readonly { readonly ns: string; readonly i: number; readonly addrs: readonly string[] }[] }): void {
  for (const n of o.all) { sh("ip", ["netns", "add", n]); sh("ip", ["-n", n, "link", "set", "lo", "up"]); }
  sh("ip", ["-n", o.sw, "link", "add", "br0", "type", "bridge"]);
  sh("ip", ["-n", o.sw, "link", "set", "br0", "up"]);
  for (const m of o.members) {
    const a = `${o.prefix}a${m.i}`;
    const b = `${o.prefix}b${m.i}`;
    sh("ip", ["link", "add", a, "netns", m.ns, "type", "veth", "peer", "name", b, "netns", o.sw]);
    sh("ip", ["-n", m.ns, "link", "set", a, "name", "eth0"]);
    for (const addr of m.addrs) sh("ip", ["-n", m.ns, "addr", "add", addr, "dev", "eth0", ...(addr.includes(":") ? ["nodad"] : [])]);
    sh("ip", ["-n", m.ns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", o.sw, "link", "set", b, "master", "br0"]);
    sh("ip", ["-n", o.sw, "link", "set", b, "up"]);
  }
}

/** SIGKILLs agents still running, stops BIRD, kills what is left in `namespaces` (ours: gobgpd has pdeathsig), deletes them and `dir`. Never throws. */
export async function teardownBgpE2e(o: { agents: readonly SrcAgent[]; bird: Bird | undefined; namespaces: readonly string[]; dir: string }): Promise<void> {
  for (const a of o.agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill("SIGKILL");
  await Promise.all(o.agents.map((a) => Promise.race([a.exited, new Promise((r) => setTimeout(r, 5000))])));
  await stopBird(o.bird);
  for (const ns of o.namespaces) {
    try { for (const p of sh("ip", ["netns", "pids", ns]).split("\n").filter((x) => x !== "")) process.kill(Number(p), "SIGKILL"); } catch { /* gone */ }
    try { sh("ip", ["netns", "del", ns]); } catch { /* gone */ }
  }
  rmSync(o.dir, { recursive: true, force: true });
}
