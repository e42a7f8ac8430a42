/**
 * The scaling curve: for every metric, its cost per API object at each size (µs per object
 * for times, KiB per object for memory), and the growth of that per-object cost from the
 * second-largest to the largest size run. A linear cost keeps its per-object figure flat
 * (growth ≈ 1.00×); growth well above 1 at the large end means superlinear. Ratios (ours/bare)
 * are left out: they are already per-unit.
 */
import { type Metric, metricsOf, objectsOf } from "./metrics.ts";
import type { SizeResult } from "./run-size.ts";

const perObject = (m: Metric, objects: number): string =>
  m.unit === "ms" ? ((m.value * 1000) / objects).toFixed(2) : ((m.value * 1024) / objects).toFixed(2);

/** The per-object table for the sizes in `results` (in the given order), as text. */
export function scalingTable(results: readonly SizeResult[]): string {
  if (results.length === 0) return "";
  const objects = results.map(objectsOf);
  const per = results.map((r) => new Map(metricsOf(r).filter((m) => m.unit !== "x").map((m) => [m.metric, m])));
  const names = [...new Set(per.flatMap((p) => [...p.keys()]))];
  const head = ["per object", ...results.map((r, i) => `${r.size.name} (${objects[i]})`), "growth last/prev"];
  const rows = names.map((name) => {
    const unit = [...per].map((p) => p.get(name)).find((m) => m !== undefined)!.unit === "ms" ? "µs" : "KiB";
    const cells = per.map((p, i) => { const m = p.get(name); return m === undefined ? "" : perObject(m, objects[i]!); });
    const last = cells.length - 1;
    const a = Number(cells[last - 1]);
    const b = Number(cells[last]);
    const growth = last >= 1 && cells[last - 1] !== "" && cells[last] !== "" && a > 0 ? `${(b / a).toFixed(2)}x` : "";
    return [`${name} (${unit})`, ...cells, growth];
  });
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [fmt(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n") + "\n";
}
