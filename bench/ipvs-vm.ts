/**
 * `node --import tsx bench/ipvs-vm.ts [S] [M]` (or `npm run bench -- --ipvs-vm`): the IPVS
 * apply side of issue 4's speed goals, measured INSIDE the qemu VM (one boot; the guest half
 * is bench/ipvs-vm-guest.ts), always as ratios to bare `ipvsadm` in the same VM:
 *
 * - one endpoint change → kernel ≤ 3× the bare `ipvsadm --restore` of the same lines;
 * - cold start ≤ 1.5× one bare `ipvsadm --restore` of the same content;
 * - no-op full resync: zero kernel writes.
 *
 * Prints a table; exit 0 when every goal holds, 1 when one does not, 77 when the VM cannot
 * run here (qemu / guest kernel missing).
 */
// @ts-expect-error: plain ESM script without types
import { runGuestNode } from "../scripts/vm/run-guest-tests.mjs";

interface Row {
  size: string; services: number; reals: number; restoreLines: number;
  coldStart: { oursMs: number; bareMs: number; ratio: number; limit: number };
  endpointChange: { oursMs: number; bareMs: number; ratio: number; limit: number; lines: number; runs: number };
  noopResync: { ms: number; writes: number; emptyPlan: boolean };
}

/** Runs the guest half; resolves to rows, or a skip reason. */
export async function benchIpvsVm(sizes: readonly string[]): Promise<{ rows: Row[]; wallMs: number } | { skipped: string } | { error: string }> {
  const r = await runGuestNode(["bench/ipvs-vm-guest.ts", ...sizes], { timeoutS: 900 });
  if (r.skipped) return { skipped: r.skipped as string };
  if (r.code !== 0) return { error: `guest exit ${r.code}: ${String(r.stderr).split("\n").slice(-5).join(" ")}` };
  return { rows: String(r.tap).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Row), wallMs: r.wallMs as number };
}

export function formatIpvsVm(rows: readonly Row[]): string {
  const f = (n: number) => n.toFixed(n < 10 ? 1 : 0);
  const out = ["IPVS apply in the VM (TCG, 1 vCPU), ratios to bare ipvsadm in the same VM:",
    "size  services  reals  | cold start ours/bare ms  ratio (≤1.5) | 1 endpoint ours/bare ms  ratio (≤3) lines | no-op resync writes"];
  for (const r of rows) {
    out.push(`${r.size.padEnd(5)} ${String(r.services).padStart(8)} ${String(r.reals).padStart(6)}  | ${f(r.coldStart.oursMs).padStart(8)} / ${f(r.coldStart.bareMs).padEnd(8)} ${r.coldStart.ratio.toFixed(2).padStart(5)} ${r.coldStart.ratio <= 1.5 ? "ok " : "BAD"}   | ${f(r.endpointChange.oursMs).padStart(8)} / ${f(r.endpointChange.bareMs).padEnd(8)} ${r.endpointChange.ratio.toFixed(2).padStart(5)} ${r.endpointChange.ratio <= 3 ? "ok " : "BAD"} ${String(r.endpointChange.lines).padStart(4)} | ${r.noopResync.writes} ${r.noopResync.writes === 0 ? "ok" : "BAD"}`);
  }
  return `${out.join("\n")}\n`;
}

export const ipvsVmGoalsMet = (rows: readonly Row[]): boolean =>
  rows.length > 0 && rows.every((r) => r.coldStart.ratio <= 1.5 && r.endpointChange.ratio <= 3 && r.noopResync.writes === 0);

if (process.argv[1]?.endsWith("ipvs-vm.ts")) {
  const sizes = process.argv.slice(2).filter((a) => /^[SM]$/i.test(a)).map((a) => a.toUpperCase());
  const res = await benchIpvsVm(sizes.length > 0 ? sizes : ["S", "M"]);
  if ("skipped" in res) { process.stderr.write(`bench ipvs-vm: skipped: ${res.skipped}\n`); process.exit(77); }
  if ("error" in res) { process.stderr.write(`bench ipvs-vm: ${res.error}\n`); process.exit(1); }
  process.stdout.write(formatIpvsVm(res.rows));
  process.stdout.write(`(one VM boot, ${(res.wallMs / 1000).toFixed(1)} s wall)\n`);
  process.exit(ipvsVmGoalsMet(res.rows) ? 0 : 1);
}
