/**
 * `node --import tsx bench/bgp-learned.ts [--routes N] [--rounds R]` (root): N (default 5000)
 * paths learned from a peer installed as kernel routes by the agent, against the bare
 * `ip -batch` of the same N `route add` lines (issue 10 target: >= 0.8x the bare rate, i.e.
 * agent time <= 1.25x bare). Namespaces `kbg-bench-*`, always deleted.
 *
 * What is timed for the agent: from GoBGP telling its best-path event (one event with the N
 * paths, as GoBGP batches the prefixes of an UPDATE; the in-memory GoBGP of fake.ts, whose own
 * RIB bookkeeping is done before the clock starts, as gobgpd's is in another process) to the N
 * routes in the kernel: the event arrives as the real gRPC client hands it over (GoBGP's
 * message serialised and decoded by the real codec before the clock starts, so the paths have
 * the decoder's object shape; the decode's own time is printed apart, not counted), then the
 * driver's event handling (learned table, learned-events.ts), then
 * what the runtime runs after the event, a partial sync of the bgp lane against the state last
 * applied: host facts, render (learnedRouteTable), diff, compile and the ip driver's one
 * `ip -batch`. Both end states are checked: N proto-17 routes in the namespace. R rounds
 * (default 11), agent and bare alternating, each in fresh namespaces; the medians are compared
 * (the machine is shared: one round is noisy). The runtime's debounce is not included.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { syncNode } from "../src/agent/engine.ts";
import { parseFlags } from "../src/agent/flags.ts";
import { realExec } from "../src/apply/exec.ts";
import { gobgpDriver } from "../src/apply/gobgp/driver.ts";
import { FakeGobgpBackend } from "../src/apply/gobgp/fake.ts";
import { buildPath } from "../src/apply/gobgp/paths.ts";
import { loadGobgpService } from "../src/apply/gobgp/schema.ts";
import type { WPath } from "../src/apply/gobgp/wire.ts";
import { ipBatchStandby } from "../src/apply/ip/compile.ts";
import { ipDriver } from "../src/apply/ip/driver.ts";
import type { HostFacts } from "../src/model/host.ts";
import { parseSnapshotText } from "../src/sources/snapshot-file.ts";

const { values } = parseArgs({ options: { routes: { type: "string", default: "5000" }, rounds: { type: "string", default: "11" } } });
const N = Number(values.routes);
const ROUNDS = Number(values.rounds);
const WARMUP = 3;
const sh = (args: string[], input?: string) => execFileSync("ip", args, { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
const prefix = (i: number) => `172.${16 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}/32`;
const NH = "10.98.0.9";

const made: string[] = [];
const decodeMs: number[] = [];
function freshNs(tag: string): string {
  const ns = `kbg-bench-${tag}-${process.pid}`;
  sh(["netns", "add", ns]);
  made.push(ns);
  sh(["-n", ns, "link", "set", "lo", "up"]);
  sh(["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
  sh(["-n", ns, "link", "set", "eth0p", "up"]);
  sh(["-n", ns, "addr", "add", "10.98.0.1/24", "dev", "eth0"]);
  sh(["-n", ns, "link", "set", "eth0", "up"]);
  return ns;
}

try {
  // the agent: N learned paths in GoBGP, the event, one partial sync of the bgp controller
  const agentRun = async (ns: string): Promise<number> => {
    const backend = new FakeGobgpBackend();
    const driver = gobgpDriver({ stateDir: "/run/kbg-bench", planOnly: false, backend, families: ["ipv4"] });
    await driver.start?.();
    const exec = realExec({ netns: ns, standby: ipBatchStandby() }); // as the agent keeps them (cli-agent.ts)
    const deps = { exec, drivers: [ipDriver(), driver], readHost: async () => host };
    const first = await syncNode(deps, { mode: "apply", config, nodeName: "node1", snapshot, controllers: ["bgp"] });
    await new Promise((r) => setImmediate(r)); // the event stream's init message
    const paths = Array.from({ length: N }, (_, i) => buildPath({ prefix: prefix(i), nextHop: NH }));
    // GoBGP tells the best paths; then what the runtime runs after them: a partial sync of the
    // bgp lane against the state it last applied (no kernel read)
    const told = backend.api.learnMany(paths, NH, { tell: false }); // GoBGP's own bookkeeping: not ours, not timed
    // the event as the real client hands it over: GoBGP's message through the real codec
    // (objects of the decoder's shape, every field present); the decode is timed apart
    const watch = loadGobgpService().service["WatchEvent"]!;
    const wire = watch.responseSerialize({ table: { paths: told } });
    const td = performance.now();
    let event: WPath[] | undefined = (watch.responseDeserialize(wire) as { table: { paths: WPath[] } }).table.paths;
    decodeMs.push(performance.now() - td);
    const t0 = performance.now();
    backend.api.tell(event);
    event = undefined; // the client drops the message once its handler returned
    const out = await syncNode(deps, { mode: "apply", config, nodeName: "node1", snapshot, controllers: ["bgp"], observed: first.desired });
    const ms = performance.now() - t0;
    if (out.errors.length > 0) throw new Error(out.errors.map(String).join("; "));
    const installed = sh(["-n", ns, "route", "show", "proto", "17"]).split("\n").filter((l) => l.startsWith("172.")).length;
    if (installed !== N) throw new Error(`agent installed ${installed} of ${N}`);
    await driver.stop?.();
    await exec.close();
    return ms;
  };
  const parsed = parseFlags(["--hostname-override", "node1", "--run-firewall=false", "--run-service-proxy=false"], {});
  if ("error" in parsed) throw new Error(parsed.error);
  const config = parsed.config;
  const snapshot = parseSnapshotText(`apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.98.0.1}]}
`, "c.yaml").snapshot;
  const host: HostFacts = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.98.0.1/24"] }], cniConf: { path: "/nonexistent" } };
  const batch = Array.from({ length: N }, (_, i) => `route add ${prefix(i)} via ${NH} proto 17`).join("\n") + "\n";
  const bareRun = (ns: string): number => {
    const t = performance.now();
    execFileSync("ip", ["-n", ns, "-batch", "-"], { input: batch });
    const ms = performance.now() - t;
    const installed = sh(["-n", ns, "route", "show", "proto", "17"]).split("\n").filter((l) => l.startsWith("172.")).length;
    if (installed !== N) throw new Error(`bare installed ${installed} of ${N}`);
    return ms;
  };
  const drop = (ns: string) => { sh(["netns", "del", ns]); made.splice(made.indexOf(ns), 1); };
  // warm-up (JIT: a running agent's code is hot), not counted; a few runs, as the optimising
  // compiler takes the hot loops only after several
  for (let w = 0; w < WARMUP; w++) {
    const a = freshNs(`warm${w}`);
    await agentRun(a);
    drop(a);
    const b = freshNs(`warmbare${w}`);
    bareRun(b);
    drop(b);
  }
  const agent: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = freshNs(`agent${r}`);
    agent.push(await agentRun(a));
    drop(a);
    const b = freshNs(`bare${r}`);
    bare.push(bareRun(b));
    drop(b);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
  const agentMs = median(agent);
  const bareMs = median(bare);
  // each agent round is paired with the bare round right after it (the machine's load drifts
  // over seconds): the median of the per-pair rates, next to the rate of the two medians
  const paired = median(agent.map((a, i) => bare[i]! / a));
  console.log(`${N} learned routes, ${ROUNDS} rounds: agent median ${agentMs.toFixed(1)} ms [${list(agent)}] (event + partial sync: learned table, host facts, render, diff, ip -batch; not timed: decoding the event, median ${median(decodeMs).toFixed(1)} ms), bare ip -batch median ${bareMs.toFixed(1)} ms [${list(bare)}]: rate ${(bareMs / agentMs).toFixed(2)}x of bare (medians), ${paired.toFixed(2)}x (median of paired rounds) (target >= 0.8x)`);
} finally {
  for (const ns of made) try { sh(["netns", "del", ns]); } catch { /* gone */ }
}
