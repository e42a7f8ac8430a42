/**
 * The firewall benchmark (issue 3 "Speed"), kernel rows in fresh namespaces, the firewall
 * alone (`--run-router=false --run-service-proxy=false`), sizes M and L of sizes.ts:
 *
 * - cold start: `syncNode` apply from an empty node namespace to converged (render + observe
 *   + diff + apply), against the bare replay of exactly the write commands it ran (one
 *   `ipset restore` and one `iptables-restore --noflush` of the same text) in a second fresh
 *   namespace; target ≤ 1.5×;
 * - no-op full resync: `syncNode` on the converged namespace: zero writes, wall against
 *   `ipset save` + `iptables-save` + `ip6tables-save` alone (what observe reads); target
 *   ≤ 1.5×. Two rows: the first one right after the cold start (the driver's parse cache is
 *   still empty) and the steady state of the periodic resync (median of the next 5), where
 *   unchanged sets are neither re-parsed nor re-compared (ipset/parse-cache.ts, plan.ts);
 * - pod added → kernel: one new local pod (a replica of a workload some policy selects),
 *   applied (a) as a partial sync (render, diff against the state last applied, apply: what
 *   the agent does on a cluster change, DESIGN.md §2) and (b) as a full sync (with observe);
 *   wall of render + diff + apply; target ≤ 1 s at M, ≤ 2 s at L. Convergence is checked
 *   after each (a plan-mode sync is empty).
 *
 *   node --import tsx bench/firewall.ts [M] [L] [--runs N]      (root; prints a table)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compilePlan, syncNode } from "../src/agent/engine.ts";
import { type Exec, type ExecCall, realExec, recordingExec } from "../src/apply/exec.ts";
import { ipsetDriver } from "../src/apply/ipset/driver.ts";
import { detectBackend } from "../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../src/apply/iptables/driver.ts";
import type { ClusterSnapshot, PodInfo } from "../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../src/model/config.ts";
import { diffNode, isEmptyPlan, planSummary } from "../src/model/plan.ts";
import type { NodeState } from "../src/model/state.ts";
import { assemble } from "../src/render/assemble.ts";
import { renderNode } from "../src/render/index.ts";
import { nsSh } from "../test/support/netns.ts";
import { podIp } from "./addressing.ts";
import { dropAllFixtures, dropFixture, makeFixture } from "./fixture.ts";
import { type GeneratedCluster, generateCluster } from "./gen.ts";
import { formatTable } from "./report.ts";
import { benchHost } from "./setup.ts";
import { median, timed, timedAsync } from "./stats.ts";

const q = (w: string): string => (/^[A-Za-z0-9_./=:,+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);

/** A local pod added to the workload of the first policy that selects a local pod. */
function withNewPod(g: GeneratedCluster): { snapshot: ClusterSnapshot; pod: PodInfo } {
  const local = [...g.snapshot.pods.values()].filter((p) => p.nodeName === g.selfNode);
  const selected = local.find((p) => [...g.snapshot.networkPolicies.values()].some((np) => np.namespace === p.namespace && Object.entries(np.podSelector.matchLabels).every(([k, v]) => p.labels[k] === v)));
  const model = selected ?? local[0]!;
  const pod: PodInfo = { ...model, name: `${model.name}-new`, podIPs: [podIp(0, 250)] };
  const pods = new Map(g.snapshot.pods);
  pods.set(`${pod.namespace}/${pod.name}`, pod);
  return { snapshot: { ...g.snapshot, pods }, pod };
}

interface Run { cold: number; bareCold: number; firstNoop: number; noop: number; noopWrites: number; bareNoop: number; partial: number; full: number; partialPlan: string; coldBytes: number }

async function runOnce(g: GeneratedCluster, cfg: NodeConfig): Promise<Run> {
  const ours = makeFixture(g.selfIp, g.nodePrefix);
  const bare = makeFixture(g.selfIp, g.nodePrefix);
  try {
    const base = realExec({ netns: ours.node });
    const backend = await detectBackend(base, cfg.iptablesBackend);
    const drivers = [ipsetDriver(), iptablesDriver(backend)];
    const host = benchHost(g, "/nonexistent/10-kuberouter.conf");
    const depsWith = (exec: Exec) => ({ exec, drivers, readHost: async () => host });
    const sync = async (snapshot: ClusterSnapshot, mode: "apply" | "plan" = "apply") => {
      const rec = recordingExec(base);
      const { ms, value } = await timedAsync(() => syncNode(depsWith(rec), { mode, config: cfg, nodeName: g.selfNode, snapshot }));
      if (value.errors.length > 0) throw new Error(value.errors.join("; "));
      return { ms, outcome: value, calls: rec.calls };
    };
    // cold, and the bare replay of its writes
    const cold = await sync(g.snapshot);
    const writes: ExecCall[] = cold.calls.filter((c) => c.write);
    const dir = mkdtempSync(join(tmpdir(), "krt-bench-fw-"));
    const script = writes.map((c, i) => {
      const f = join(dir, `stdin-${i}`);
      writeFileSync(f, c.stdin ?? "");
      return `${[c.cmd, ...c.args].map(q).join(" ")} < ${q(f)}`;
    }).join(" && ");
    let bareCold: number;
    try { bareCold = timed(() => nsSh(bare.node, script)).ms; } finally { rmSync(dir, { recursive: true, force: true }); }
    // no-op full resync, and the bare saves
    // the first no-op after a cold start (observe parse cache still cold), then the steady
    // state the agent's periodic resync lives in (median of 5)
    const firstNoop = await sync(g.snapshot);
    if (!isEmptyPlan(firstNoop.outcome.plan)) throw new Error(`no-op not converged: ${planSummary(firstNoop.outcome.plan)}`);
    const steady: Awaited<ReturnType<typeof sync>>[] = [];
    for (let i = 0; i < 5; i++) steady.push(await sync(g.snapshot));
    const noop = steady.sort((a, b) => a.ms - b.ms)[2]!;
    if (steady.some((x) => !isEmptyPlan(x.outcome.plan))) throw new Error("steady no-op not converged");
    const bareNoop = timed(() => nsSh(ours.node, `ipset save >/dev/null && ${backend.save.ipv4} >/dev/null && ${backend.save.ipv6} >/dev/null`)).ms;
    // pod added, partial: render, assemble against the last applied state, diff against it, apply
    const added = withNewPod(g);
    let last: NodeState = noop.outcome.desired;
    const t = performance.now();
    const rendered = renderNode({ snapshot: added.snapshot, config: cfg, host, nodeName: g.selfNode }).map((r) => ({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) }));
    const { desired } = assemble(rendered, last);
    const plan = diffNode(desired, last);
    for (const s of compilePlan(drivers, plan)) await s.run(base);
    const partial = performance.now() - t;
    last = desired;
    const check = await sync(added.snapshot, "plan");
    if (!isEmptyPlan(check.outcome.plan)) throw new Error(`partial pod add not converged: ${planSummary(check.outcome.plan)}`);
    const partialPlan = `${planSummary(plan)} (${plan.chains.length} chains, ${plan.ipsetMembers.reduce((a, m) => a + m.add.length + m.del.length, 0)} members)`;
    // pod added, full (with observe): remove it again first (partial), then add with a full sync
    const back = diffNode({ ...last, ...assemble(renderNode({ snapshot: g.snapshot, config: cfg, host, nodeName: g.selfNode }).map((r) => ({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) })), last).desired }, last);
    for (const s of compilePlan(drivers, back)) await s.run(base);
    const full = await sync(added.snapshot);
    return {
      cold: cold.ms, bareCold, firstNoop: firstNoop.ms, noop: noop.ms, noopWrites: [firstNoop, ...steady].reduce((a, x) => a + x.calls.filter((c) => c.write).length, 0), bareNoop, partial, full: full.ms, partialPlan,
      coldBytes: writes.reduce((a, c) => a + Buffer.byteLength(c.stdin ?? ""), 0),
    };
  } finally {
    dropFixture(ours);
    dropFixture(bare);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "3" } } });
  const sizes = positionals.length > 0 ? positionals.map((s) => s.toUpperCase()) : ["M", "L"];
  const rows: (readonly [string, string, string, string, string, string, string, string])[] = [];
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  for (const size of sizes) {
    if (size !== "M" && size !== "L" && size !== "S" && size !== "XS") throw new Error(`unknown size ${size}`);
    const g = generateCluster(size);
    const cfg: NodeConfig = { ...DEFAULT_CONFIG, runRouter: false, runServiceProxy: false, hostnameOverride: g.selfNode };
    const runs: Run[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      process.stderr.write(`[bench firewall] ${size} run ${i + 1}/${values.runs}\n`);
      runs.push(await runOnce(g, cfg));
    }
    const m = (f: (r: Run) => number) => median(runs.map(f));
    const limit = size === "L" ? 2000 : 1000;
    const first = runs[0]!;
    rows.push([size, "fw cold (kernel)", ms(m((r) => r.cold)), ms(m((r) => r.bareCold)), `${(m((r) => r.cold) / m((r) => r.bareCold)).toFixed(2)}x`, "", "", `target ≤1.5x; ${first.coldBytes} bytes restored`]);
    rows.push([size, "fw first no-op resync", ms(m((r) => r.firstNoop)), ms(m((r) => r.bareNoop)), `${(m((r) => r.firstNoop) / m((r) => r.bareNoop)).toFixed(2)}x`, "", "", "right after cold start: parse caches cold"]);
    rows.push([size, "fw no-op resync", ms(m((r) => r.noop)), ms(m((r) => r.bareNoop)), `${(m((r) => r.noop) / m((r) => r.bareNoop)).toFixed(2)}x`, "", String(Math.max(...runs.map((r) => r.noopWrites))), "target ≤1.5x, 0 writes"]);
    rows.push([size, "fw pod added (partial)", ms(m((r) => r.partial)), "", "", "", "", `target ≤${limit} ms; ${first.partialPlan}`]);
    rows.push([size, "fw pod added (full)", ms(m((r) => r.full)), "", "", "", "", `target ≤${limit} ms; with observe`]);
  }
  process.stdout.write(formatTable(rows));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { dropAllFixtures(); process.exit(130); });
main().then(() => process.exit(0), (e: unknown) => {
  dropAllFixtures();
  process.stderr.write(`bench firewall: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
