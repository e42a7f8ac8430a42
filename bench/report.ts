/**
 * The results table printed to stdout: one row per size and operation, with wall ms (median),
 * the bare kernel-tool time and our ratio to it where there is one, peak RSS and kernel writes.
 */
import type { SizeResult } from "./run-size.ts";

type Row = readonly [size: string, op: string, wall: string, bare: string, ratio: string, rss: string, writes: string, note: string];

const HEAD: Row = ["size", "op", "wall ms", "bare ms", "ours/bare", "RSS MiB", "writes", "notes"];
const RIGHT = [false, false, true, true, true, true, true, false];

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (x: number): string => `${x.toFixed(2)}x`;

/** The rows of one size. */
export function sizeRows(r: SizeResult): Row[] {
  const s = r.size.name;
  const p = r.pure;
  const d = p.desired;
  const rows: Row[] = [
    [s, "gen", ms(r.genMs), "", "", "", "", `${r.snapshot["pods"]} pods, ${r.snapshot["endpoints"]} eps, digest ${r.snapshotDigest}`],
    [s, "render", ms(p.renderMs.median), "", "", "", "", `${d.routes} routes, ${d.ipsetMembers} set members, ${d.jumps} jumps`],
    [s, "diff cold", ms(p.diffColdMs.median), "", "", "", "", p.coldPlan],
    [s, "diff no-op", ms(p.diffNoopMs.median), "", "", "", "", "plan empty"],
    [s, "compile", ms(p.compileMs.median), "", "", "", "", `${p.scripts} scripts, ${p.scriptBytes} bytes`],
    [s, "peak RSS", "", "", "", r.rss.pureMiB.toFixed(1), "", `base ${r.rss.baseMiB.toFixed(1)}, loaded ${r.rss.loadedMiB.toFixed(1)}`],
  ];
  const k = r.kernel;
  if ("skipped" in k) {
    rows.push([s, "kernel rows", "", "", "", "", "", `skipped: ${k.skipped}`]);
  } else {
    const n = k.runs.length;
    rows.push([s, "cold (kernel)", ms(k.oursColdMs.median), ms(k.bareColdMs.median), ratio(k.coldRatio), "", String(k.coldWrites), `median of ${n}; ${k.runs[0]?.coldCalls ?? 0} tool calls${k.bareMatchesOurs ? "" : "; BARE CONTENT DIFFERS"}`]);
    rows.push([s, "no-op (kernel)", ms(k.oursNoopMs.median), ms(k.bareNoopMs.median), ratio(k.noopRatio), "", String(k.noopWrites), `median of ${n}; ${k.runs[0]?.noopCalls ?? 0} tool calls${k.noopWrites === 0 ? "" : "; WRITES ON NO-OP"}`]);
  }
  rows.push([s, "peak RSS (end)", "", "", "", r.rss.endMiB.toFixed(1), "", ""]);
  return rows;
}

/** The whole table as text (a header, a rule, the rows). */
export function formatTable(rows: readonly Row[]): string {
  const all = [HEAD, ...rows];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const fmt = (r: Row) => r.map((c, i) => (i === r.length - 1 ? c : RIGHT[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w, i) => (i === widths.length - 1 ? "-----" : "-".repeat(w))).join("  ");
  return [fmt(HEAD), rule, ...rows.map(fmt)].join("\n") + "\n";
}
