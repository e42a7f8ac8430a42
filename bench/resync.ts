/**
 * The whole node's host side at one size (issue 15): router + firewall + proxy on the real
 * kernel of a fresh fixture namespace, the proxy's IPVS over the fake (hybrid-exec.ts: this
 * host has no IPVS), every row next to the bare tools in the same process tree:
 *
 * - cold start: `syncNode` apply from an empty namespace to converged, against one bare
 *   restore per tool of the same content (the write commands ours ran, replayed by one shell
 *   in a second fresh namespace; IPVS's restore replayed into a fresh fake in process);
 * - no-op full resync (steady: the run with the median ratio of `--runs` after the first, each
 *   run paired with a bare run just before it): zero writes; against the
 *   bare dumps our observe needs, each once (`ip -d -j addr show`, `ip -4|-6 -j route show
 *   table all proto 17`, `ip -4|-6 -j rule show`, `ip -j neigh show`, `ipset save`,
 *   `iptables-save`, `ip6tables-save`, `sysctl -e` of the desired keys) by one shell in the
 *   namespace, plus the fake's `ipvsadm -Sn` in process; and how many dumps ours read twice
 *   in one sync (must be 0).
 *
 *   node --import tsx bench/resync.ts [--size L] [--runs 5] [--repeat 3] [--json FILE]
 *
 * Needs root. Prints a table; `--json` writes the rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { realDrivers } from "../src/agent/cli.ts";
import { stopDrivers } from "../src/agent/drivers.ts";
import { type SyncOutcome, syncNode } from "../src/agent/engine.ts";
import { readHostFacts } from "../src/agent/host-facts.ts";
import { type Exec, type ExecCall, realExec, recordingExec } from "../src/apply/exec.ts";
import { ReadAhead } from "../src/apply/shared-reads.ts";
import { detectBackend } from "../src/apply/iptables/backend.ts";
import { FakeIpvsadm } from "../src/apply/ipvs/fake.ts";
import { isEmptyPlan, planSummary } from "../src/model/plan.ts";
import { ROUTE_PROTO } from "../src/model/names.ts";
import { nsSh } from "../test/support/netns.ts";
import { dropAllFixtures, dropFixture, makeFixture } from "./fixture.ts";
import { type GeneratedCluster, generateCluster } from "./gen.ts";
import { hybridExec } from "./hybrid-exec.ts";
import { formatTable } from "./report.ts";
import { benchConfig } from "./setup.ts";
import { type SizeName, sizeByName } from "./sizes.ts";
import { median, round3, timed, timedAsync } from "./stats.ts";

const q = (w: string): string => (/^[A-Za-z0-9_./=:,+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`);
const readKey = (c: ExecCall): string => [c.cmd, ...c.args].join(" ");

export interface ResyncRun {
  readonly coldMs: number;
  readonly bareColdMs: number;
  readonly firstNoopMs: number;
  readonly noopMs: number;
  readonly bareNoopMs: number;
  readonly noopWrites: number;
  readonly noopReads: number;
  readonly duplicateReads: readonly string[];
  readonly coldPlan: string;
}

function check(what: string, o: SyncOutcome): void {
  if (o.errors.length > 0) throw new Error(`${what}: ${o.errors.map(String).join("; ")}`);
}

async function runOnce(g: GeneratedCluster, runs: number): Promise<ResyncRun> {
  const ours = makeFixture(g.selfIp, g.nodePrefix);
  const bare = makeFixture(g.selfIp, g.nodePrefix);
  const scratch = mkdtempSync(join(tmpdir(), "krt-bench-resync-"));
  let drivers: Awaited<ReturnType<typeof realDrivers>> = [];
  try {
    // BGP off (`once`: the bgp controller runs only in the long-lived agent and needs gobgpd
    // listening on the node IP, i.e. inside this namespace; bench/bgp-driver.ts measures it)
    const cfg = { ...benchConfig(g, join(scratch, "cni", "10-kuberouter.conf")), once: true };
    const exec = hybridExec(realExec({ netns: ours.node }));
    const backend = await detectBackend(exec, cfg.iptablesBackend);
    drivers = await realDrivers(exec, cfg, { nodeName: g.selfNode });
    const readAhead = new ReadAhead(); // as the agent keeps one across its syncs
    const sync = async () => {
      const rec = recordingExec(exec);
      const deps = { exec: rec, drivers, readHost: (e: Exec) => readHostFacts(e, cfg.cniConfFile), readAhead };
      const { ms, value } = await timedAsync(() => syncNode(deps, { mode: "apply", config: cfg, nodeName: g.selfNode, snapshot: g.snapshot }));
      return { ms, outcome: value, calls: rec.calls };
    };
    const cold = await sync();
    check("cold", cold.outcome);
    if (cold.outcome.controllers["proxy"] !== "rendered") throw new Error(`proxy not rendered: ${cold.outcome.controllers["proxy"]}`);
    const first = await sync();
    check("first no-op", first.outcome);
    if (!isEmptyPlan(first.outcome.plan)) throw new Error(`not converged: ${planSummary(first.outcome.plan)}`);
    // bare no-op: the dumps once each, one shell; the fake's ipvsadm -Sn in process
    const sysctlKeys = [...first.outcome.desired.sysctls.keys()].filter((k) => !k.includes("/vs/")).map((k) => k.replaceAll("/", "."));
    const dumps = [
      "ip -d -j addr show", `ip -4 -j route show table all proto ${ROUTE_PROTO}`, `ip -6 -j route show table all proto ${ROUTE_PROTO}`,
      "ip -4 -j rule show", "ip -6 -j rule show", "ip -j neigh show", "ipset save", backend.save.ipv4, backend.save.ipv6,
      `sysctl -e ${sysctlKeys.join(" ")}`,
    ].map((c) => `${c} >/dev/null`).join(" && ");
    const bareNoop = async () => timed(() => nsSh(ours.node, dumps)).ms + (await timedAsync(() => exec.run("ipvsadm", ["-Sn"]))).ms;
    // steady no-ops, each right after one bare run (a loaded host drifts: pairs, not blocks)
    const steady: (Awaited<ReturnType<typeof sync>> & { bare: number })[] = [];
    for (let i = 0; i < runs; i++) {
      const bareMs = await bareNoop();
      steady.push({ ...(await sync()), bare: bareMs });
    }
    for (const s of steady) if (!isEmptyPlan(s.outcome.plan)) throw new Error(`steady no-op not converged: ${planSummary(s.outcome.plan)}`);
    const noop = [...steady].sort((a, b) => a.ms / a.bare - b.ms / b.bare)[steady.length >> 1]!;
    const phases = (o: SyncOutcome) => Object.entries(o.phaseMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
    process.stderr.write(`[bench resync] ${g.spec.name} cold phases (ms): ${phases(cold.outcome)}\n[bench resync] ${g.spec.name} median no-op phases (ms): ${phases(noop.outcome)}; bare dumps ${noop.bare.toFixed(0)}\n`);
    const reads = noop.calls.filter((c) => !c.write);
    const seen = new Map<string, number>();
    for (const c of reads) seen.set(readKey(c), (seen.get(readKey(c)) ?? 0) + 1);

    // bare cold: the same writes in a fresh namespace (IPVS into a fresh fake)
    const writes = cold.calls.filter((c) => c.write);
    const kernelWrites = writes.filter((c) => c.cmd !== "ipvsadm" && !(c.cmd === "sh" && c.args.join(" ").includes("conntrack")));
    const script = kernelWrites.map((c, i) => {
      const f = join(scratch, `stdin-${i}`);
      // the bare tools load what this kernel can: the same rewrites hybrid-exec makes
      const text = (c.stdin ?? "").replace(/ type dummy\b/g, " type bridge").replace(/-m ipvs ((?:--v\w+ \S+ ?)+)/g, (_m, a: string) => `-m comment --comment "ipvs:${a.trim()}" `);
      writeFileSync(f, text);
      const args = c.cmd === "sysctl" ? c.args.filter((a) => !/ipv4[./]vs[./]/.test(a)) : c.args;
      return `${[c.cmd, ...args].map(q).join(" ")} < ${q(f)}`;
    }).join(" && ");
    const bareShMs = timed(() => nsSh(bare.node, script)).ms;
    const fresh = new FakeIpvsadm();
    const ipvsRestoreMs = timed(() => { for (const c of writes.filter((w) => w.cmd === "ipvsadm")) fresh.run("ipvsadm", c.args, c.stdin ?? ""); }).ms;

    return {
      coldMs: round3(cold.ms), bareColdMs: round3(bareShMs + ipvsRestoreMs), firstNoopMs: round3(first.ms), noopMs: round3(noop.ms),
      bareNoopMs: round3(noop.bare), noopWrites: [first, ...steady].reduce((a, s) => a + s.calls.filter((c) => c.write).length, 0),
      noopReads: reads.length, duplicateReads: [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`),
      coldPlan: planSummary(cold.outcome.plan),
    };
  } finally {
    // the healthCheckNodePort listeners are in this process (host ports): close them
    await stopDrivers(drivers);
    dropFixture(ours);
    dropFixture(bare);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: "string", default: "L" }, runs: { type: "string", default: "5" }, repeat: { type: "string", default: "3" }, json: { type: "string" } } });
  const spec = sizeByName(values.size ?? "L");
  if (!spec) throw new Error(`unknown size ${values.size}`);
  const g = generateCluster(spec.name as SizeName);
  const all: ResyncRun[] = [];
  for (let i = 0; i < Number(values.repeat); i++) {
    process.stderr.write(`[bench resync] ${spec.name} run ${i + 1}/${values.repeat}\n`);
    all.push(await runOnce(g, Number(values.runs)));
  }
  const m = (f: (r: ResyncRun) => number) => median(all.map(f));
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const r0 = all[0]!;
  const rows = [
    [spec.name, "node cold (kernel+fake IPVS)", ms(m((r) => r.coldMs)), ms(m((r) => r.bareColdMs)), x(m((r) => r.coldMs), m((r) => r.bareColdMs)), "", "", `${r0.coldPlan}; runs ${all.map((r) => x(r.coldMs, r.bareColdMs)).join(" ")}`],
    [spec.name, "node first no-op", ms(m((r) => r.firstNoopMs)), ms(m((r) => r.bareNoopMs)), x(m((r) => r.firstNoopMs), m((r) => r.bareNoopMs)), "", "", "right after cold start"],
    [spec.name, "node no-op resync", ms(m((r) => r.noopMs)), ms(m((r) => r.bareNoopMs)), x(m((r) => r.noopMs), m((r) => r.bareNoopMs)), "", String(Math.max(...all.map((r) => r.noopWrites))),
      `${r0.noopReads} reads; dup: ${r0.duplicateReads.join(", ") || "none"}; runs ${all.map((r) => x(r.noopMs, r.bareNoopMs)).join(" ")}`],
  ] as const;
  process.stdout.write(formatTable(rows.map((r) => [...r] as unknown as Parameters<typeof formatTable>[0][number])));
  if (values.json) writeFileSync(values.json, JSON.stringify({ size: spec.name, runs: all }, null, 2));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => { dropAllFixtures(); process.exit(130); });
main().then(() => process.exit(0), (e: unknown) => {
  dropAllFixtures();
  process.stderr.write(`bench resync: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
