/**
 * The vxlan overlay benchmark (issue 11 "Speed"), kernel rows in fresh namespaces, the router
 * alone with `--overlay-encap=vxlan`, N peer nodes on another subnet (default 5,000):
 *
 * - cold start: `syncNode` apply (ip and bridge drivers) from an empty node namespace to
 *   converged (render + observe + diff + apply: kube-vxlan, 2N FDB entries, N neighbours,
 *   2N routes), against the bare replay of exactly the write commands it ran (one
 *   `ip -batch`, one `bridge -batch`) in a second fresh namespace; target ≤ 1.3×;
 * - no-op full resync: zero writes (wall printed);
 * - one node added: render + diff against the state last applied + apply (a partial sync,
 *   what the agent's router lane does on a Node event: the router alone — BGP has its own
 *   lane); its entries only; target ≤ 50 ms. Per-peer rows are memoised per Node object and
 *   kept in chunks (render/overlay-peer.ts, router-node.ts), so this costs O(nodes) cheap
 *   steps plus the changed peer's rows.
 *
 *   node --import tsx bench/overlay.ts [--nodes N] [--runs R]      (root; prints a table)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compilePlan, syncNode } from "../src/agent/engine.ts";
import { bridgeDriver } from "../src/apply/bridge/driver.ts";
import { type ExecCall, realExec, recordingExec } from "../src/apply/exec.ts";
import { ipDriver } from "../src/apply/ip/driver.ts";
import { type ClusterSnapshot, type NodeInfo, emptySnapshot } from "../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../src/model/config.ts";
import type { HostFacts } from "../src/model/host.ts";
import { type NodePlan, diffNode, planSummary } from "../src/model/plan.ts";
import { assemble } from "../src/render/assemble.ts";
import { renderNode } from "../src/render/index.ts";
import { routerController } from "../src/render/router.ts";
import { addNetns, delNetns, nsSh } from "../test/support/netns.ts";
import { formatTable } from "./report.ts";
import { median, timed, timedAsync } from "./stats.ts";

/** The tables the ip and bridge drivers apply (the router's ipsets, jumps, sysctls have no driver here). */
const TABLES = ["links", "addresses", "routes", "rules", "neighbors", "fdb", "fouPorts"] as const;
const pending = (p: NodePlan): number => TABLES.reduce((a, t) => a + p[t].length, 0);

const q = (w: string): string => (/^[A-Za-z0-9_./=:,+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);
const made: string[] = [];

const peer = (i: number): NodeInfo => ({
  name: `node${i}`, uid: `uid-${i}`, labels: {}, annotations: {},
  podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`, podCIDRs: [`10.${100 + (i >> 8)}.${i & 255}.0/24`],
  addresses: [{ type: "InternalIP", address: `10.251.${i >> 8}.${i & 255}` }],
});
const self: NodeInfo = { ...peer(0), name: "self", podCIDR: "10.99.0.0/24", podCIDRs: ["10.99.0.0/24"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }] };
const snapshotOf = (nodes: readonly NodeInfo[]): ClusterSnapshot => ({ ...emptySnapshot(), nodes: new Map(nodes.map((n) => [n.name, n])) });

/** A node namespace: eth0 (a veth, up) carrying the node IP. */
function nodeNs(): string {
  const ns = addNetns("bovl");
  made.push(ns);
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0p up && ip link set eth0 up");
  return ns;
}
function drop(ns: string): void {
  try { delNetns(ns); } catch { /* gone */ }
  made.splice(made.indexOf(ns), 1);
}

interface Run { cold: number; bareCold: number; noop: number; noopWrites: number; added: number; addedPlanned: number; addedPlan: string; coldLines: number }

async function runOnce(n: number): Promise<Run> {
  const ours = nodeNs();
  const bare = nodeNs();
  try {
    const base = realExec({ netns: ours });
    const drivers = [ipDriver(), bridgeDriver()];
    const host: HostFacts = { interfaces: [{ name: "lo", mtu: 65536, addrs: ["127.0.0.1/8"] }, { name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/nonexistent/10-kuberouter.conf" } };
    const config: NodeConfig = { ...DEFAULT_CONFIG, runFirewall: false, runServiceProxy: false, enableCni: false, enablePodEgress: false, overlayEncap: "vxlan", hostnameOverride: "self" };
    const nodes = [self, ...Array.from({ length: n }, (_, i) => peer(i + 1))];
    const snap = snapshotOf(nodes);
    const sync = async (snapshot: ClusterSnapshot, mode: "apply" | "plan" = "apply") => {
      const rec = recordingExec(base);
      const { ms, value } = await timedAsync(() => syncNode({ exec: rec, drivers, readHost: async () => host }, { mode, config, nodeName: "self", snapshot, controllers: ["router"] }));
      if (value.errors.length > 0) throw new Error(value.errors.join("; "));
      return { ms, outcome: value, calls: rec.calls };
    };
    const cold = await sync(snap);
    const writes: ExecCall[] = cold.calls.filter((c) => c.write);
    const dir = mkdtempSync(join(tmpdir(), "krt-bench-ovl-"));
    const script = writes.map((c, i) => {
      const f = join(dir, `stdin-${i}`);
      writeFileSync(f, c.stdin ?? "");
      return `${[c.cmd, ...c.args].map(q).join(" ")} < ${q(f)}`;
    }).join(" && ");
    let bareCold: number;
    try { bareCold = timed(() => nsSh(bare, script)).ms; } finally { rmSync(dir, { recursive: true, force: true }); }
    const noop = await sync(snap);
    if (pending(noop.outcome.plan) > 0) throw new Error(`no-op not converged: ${planSummary(noop.outcome.plan)}`);
    // one node added: partial sync against the state last applied
    const added = snapshotOf([...nodes, peer(n + 1)]);
    const last = noop.outcome.desired;
    const t = performance.now();
    const rendered = renderNode({ snapshot: added, config, host, nodeName: "self" }, [routerController]).map((r) => ({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) }));
    const { desired } = assemble(rendered, last);
    const plan = diffNode(desired, last);
    const planned = performance.now() - t;
    for (const s of compilePlan(drivers, plan)) await s.run(base);
    const addedMs = performance.now() - t;
    const check = await sync(added, "plan");
    if (pending(check.outcome.plan) > 0) throw new Error(`node add not converged: ${planSummary(check.outcome.plan)}`);
    return {
      cold: cold.ms, bareCold, noop: noop.ms, noopWrites: noop.calls.filter((c) => c.write).length, added: addedMs, addedPlanned: planned,
      addedPlan: `fdb +${plan.fdb.length}, neighbours +${plan.neighbors.length}, routes +${plan.routes.length}`,
      coldLines: writes.reduce((a, c) => a + (c.stdin ?? "").split("\n").length - 1, 0),
    };
  } finally {
    drop(ours);
    drop(bare);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { nodes: { type: "string", default: "5000" }, runs: { type: "string", default: "3" } } });
  const n = Number(values.nodes);
  const runs: Run[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    process.stderr.write(`[bench overlay] ${n} nodes, run ${i + 1}/${values.runs}\n`);
    runs.push(await runOnce(n));
  }
  const m = (f: (r: Run) => number) => median(runs.map(f));
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const size = `${n} nodes`;
  const first = runs[0]!;
  process.stdout.write(formatTable([
    [size, "vxlan cold (kernel)", ms(m((r) => r.cold)), ms(m((r) => r.bareCold)), `${(m((r) => r.cold) / m((r) => r.bareCold)).toFixed(2)}x`, "", "", `target ≤1.3x; ${first.coldLines} batch lines`],
    [size, "vxlan no-op resync", ms(m((r) => r.noop)), "", "", "", String(Math.max(...runs.map((r) => r.noopWrites))), "0 writes"],
    [size, "vxlan node added (partial)", ms(m((r) => r.added)), "", "", "", "", `target ≤50 ms; render+diff ${ms(m((r) => r.addedPlanned))} ms; ${first.addedPlan}`],
  ]));
}

const cleanup = (): void => { for (const ns of [...made]) drop(ns); };
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { cleanup(); process.exit(130); });
main().then(() => process.exit(0), (e: unknown) => {
  cleanup();
  process.stderr.write(`bench overlay: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
