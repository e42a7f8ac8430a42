/**
 * `--compare FILE`: every metric of a results file against the same (size, metric) of another,
 * as new/old ratios. A metric is a cost, so a ratio above 1 + REGRESSION is flagged as a
 * regression; metrics in only one file are listed as such. Reads both files whole; a file that
 * is not a bench results file fails with one line naming it.
 */
import { readFileSync } from "node:fs";
import { type Metric, metricsOf } from "./metrics.ts";
import type { SizeResult } from "./run-size.ts";

/** Flag ratios above 1.15 (issue 15). */
export const REGRESSION = 0.15;

/** Successful size results of a results.json file. */
export function readResults(file: string): SizeResult[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`compare: cannot read ${file}: ${(e as Error).message}`);
  }
  const results = (parsed as { results?: unknown }).results;
  if (!Array.isArray(results)) throw new Error(`compare: ${file} is not a bench results file (no "results" list)`);
  return (results as (SizeResult | { error: string })[]).filter((r): r is SizeResult => !("error" in r));
}

export interface Comparison {
  readonly text: string;
  readonly regressions: number;
}

/** The per-row ratios of `now` against `before`, and how many are regressions. */
export function compareResults(before: readonly SizeResult[], now: readonly SizeResult[]): Comparison {
  const key = (m: Metric) => `${m.size}\t${m.metric}`;
  const old = new Map(before.flatMap(metricsOf).map((m) => [key(m), m]));
  const rows: string[][] = [["size", "metric", "before", "now", "now/before", ""]];
  let regressions = 0;
  const seen = new Set<string>();
  for (const m of now.flatMap(metricsOf)) {
    seen.add(key(m));
    const o = old.get(key(m));
    if (o === undefined) { rows.push([m.size, m.metric, "", fmt(m), "", "new"]); continue; }
    const ratio = o.value > 0 ? m.value / o.value : Number.NaN;
    // tiny absolute values (under 1 ms / 1 MiB) are noise, not regressions
    const bad = ratio > 1 + REGRESSION && (m.unit === "x" || m.value - o.value >= 1);
    if (bad) regressions++;
    rows.push([m.size, m.metric, fmt(o), fmt(m), Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "", bad ? "REGRESSION" : ""]);
  }
  for (const [k, o] of old) if (!seen.has(k)) rows.push([o.size, o.metric, fmt(o), "", "", "gone"]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const text = rows.map((r) => r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
  return { text: `${text}\n${regressions} regression(s) over ${Math.round(REGRESSION * 100)}%\n`, regressions };
}

function fmt(m: Metric): string {
  return m.unit === "x" ? `${m.value.toFixed(2)}x` : `${m.value.toFixed(m.value >= 100 ? 0 : 1)} ${m.unit}`;
}
