/**
 * The IPVS apply benchmark, guest half: runs INSIDE the qemu VM (bench/ipvs-vm.ts boots it).
 * Per size (S, M of bench/sizes.ts: services × endpoints per service, masq real servers):
 *
 * - cold start: the driver's full sync of an empty IPVS (observe `ipvsadm -Sn` + diff +
 *   compile + one `ipvsadm --restore`) vs ONE bare `ipvsadm --restore` of the same text;
 * - one endpoint change: the driver's partial sync (diff against the last applied state +
 *   compile + run) vs a bare `ipvsadm --restore` of the same two lines (`-d` old, `-a` new);
 *   median of N alternating runs;
 * - no-op full resync: observe + diff + compile, counting kernel writes (must be 0).
 *
 * Prints one JSON object per size on stdout. Every run starts from `ipvsadm -C`.
 */
import { execFileSync } from "node:child_process";
import { compilePlan, observeAll } from "../src/agent/engine.ts";
import { realExec, recordingExec } from "../src/apply/exec.ts";
import { ipvsDriver } from "../src/apply/ipvs/driver.ts";
import { diffNode, isEmptyPlan } from "../src/model/plan.ts";
import { type IpvsReal, type IpvsService, type NodeState, emptyNodeState, ipvsRealKey, ipvsServiceKey } from "../src/model/state.ts";
import { sortedTable } from "../src/model/table.ts";
import { SIZES, type SizeName } from "./sizes.ts";

const exec = realExec();
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bareRestore = (text: string) => {
  const t0 = process.hrtime.bigint();
  execFileSync("ipvsadm", ["--restore"], { input: text, stdio: ["pipe", "ignore", "inherit"] });
  return ms(t0);
};

/** The synthetic desired IPVS state of a size: VIPs in 10.96/12, reals in 10.244/16 (masq). */
function state(services: number, perService: number, shift = ""): NodeState {
  const svcs: IpvsService[] = [];
  const reals: IpvsReal[] = [];
  for (let i = 0; i < services; i++) {
    const s: IpvsService = { family: "ipv4", protocol: "tcp", address: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80, scheduler: "rr", flags: [] };
    svcs.push(s);
    for (let e = 0; e < perService; e++) {
      const n = i * perService + e;
      reals.push({ service: ipvsServiceKey(s), address: `10.244.${(n >> 8) & 255}.${n & 255}${n === 0 ? shift : ""}`, port: 8080, weight: 1, forward: "masq" });
    }
  }
  return { ...emptyNodeState(), ipvsServices: sortedTable(svcs.map((s) => [ipvsServiceKey(s), s] as const)), ipvsReals: sortedTable(reals.map((r) => [ipvsRealKey(r), r] as const)) };
}

async function bench(size: SizeName, runs: number) {
  const spec = SIZES[size];
  const desired = state(spec.services, spec.endpointsPerService);
  const drv = ipvsDriver({ serviceCidrs: ["10.96.0.0/12"] });
  const lines = spec.services * (1 + spec.endpointsPerService);

  // cold start: ours (full sync from empty) vs one bare restore of the same text
  const cold = { ours: [] as number[], bare: [] as number[] };
  let text = "";
  for (let i = 0; i < 3; i++) {
    execFileSync("ipvsadm", ["-C"]);
    let t0 = process.hrtime.bigint();
    const plan = diffNode(desired, await observeAll(exec, [drv], desired));
    const scripts = compilePlan([drv], plan);
    for (const s of scripts) await s.run(exec);
    cold.ours.push(ms(t0));
    text = scripts[0]!.text.replace(/^[^\n]*\n/, "").replace(/EOF\n$/, "");
    execFileSync("ipvsadm", ["-C"]);
    t0 = process.hrtime.bigint();
    cold.bare.push(bareRestore(text));
  }
  // leave the table loaded (ours) for the next steps
  execFileSync("ipvsadm", ["-C"]);
  for (const s of compilePlan([drv], diffNode(desired, emptyNodeState()))) await s.run(exec);

  // one endpoint change: partial sync (plan against the last applied state) vs bare restore of the same lines
  const moved = state(spec.services, spec.endpointsPerService, "");
  const a = desired;
  const b = (() => {
    const r0 = [...moved.ipvsReals.values()][0]!;
    const reals = new Map(moved.ipvsReals);
    reals.delete(ipvsRealKey(r0));
    const nr = { ...r0, address: "10.245.0.1" };
    reals.set(ipvsRealKey(nr), nr);
    return { ...moved, ipvsReals: sortedTable(reals) };
  })();
  const change = { ours: [] as number[], bare: [] as number[], lines: 0 };
  let last = a;
  for (let i = 0; i < runs; i++) {
    const next = last === a ? b : a;
    const rec = recordingExec(exec);
    const t0 = process.hrtime.bigint();
    const scripts = compilePlan([drv], diffNode(next, last));
    for (const s of scripts) await s.run(rec);
    change.ours.push(ms(t0));
    const stdin = rec.calls.find((c) => c.write)?.stdin ?? "";
    change.lines = stdin.split("\n").filter(Boolean).length;
    // the same lines back and forth with bare ipvsadm (restores `next` → `last` → `next`)
    const back = compilePlan([drv], diffNode(last, next))[0]!.text.replace(/^[^\n]*\n/, "").replace(/EOF\n$/, "");
    bareRestore(back);
    change.bare.push(bareRestore(stdin));
    last = next;
  }

  // no-op full resync: observe + diff + compile; zero writes
  const rec = recordingExec(exec);
  const t0 = process.hrtime.bigint();
  const plan = diffNode(last, await observeAll(rec, [drv], last));
  for (const s of compilePlan([drv], plan)) await s.run(rec);
  const noop = { ms: ms(t0), writes: rec.writes(), empty: isEmptyPlan(plan) };
  execFileSync("ipvsadm", ["-C"]);

  const c = { ours: median(cold.ours), bare: median(cold.bare) };
  const e = { ours: median(change.ours), bare: median(change.bare) };
  return {
    size, services: spec.services, reals: spec.services * spec.endpointsPerService, restoreLines: lines,
    coldStart: { oursMs: c.ours, bareMs: c.bare, ratio: c.ours / c.bare, limit: 1.5 },
    endpointChange: { oursMs: e.ours, bareMs: e.bare, ratio: e.ours / e.bare, limit: 3, lines: change.lines, runs },
    noopResync: { ms: noop.ms, writes: noop.writes, emptyPlan: noop.empty },
  };
}

const sizes = process.argv.slice(2).filter((a) => a === "S" || a === "M") as SizeName[];
for (const size of sizes.length > 0 ? sizes : (["S", "M"] as SizeName[])) {
  console.log(JSON.stringify(await bench(size, Number(process.env["IVM_BENCH_RUNS"] ?? 7))));
}
