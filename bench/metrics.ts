/**
 * The flat metrics of one size's result — every row of the table as `(size, metric, value,
 * unit)` — from which the per-object scaling table (scaling.ts) and `--compare` (compare.ts)
 * are built. A metric is a cost: bigger is worse. Kernel metrics are present only when the
 * kernel rows ran.
 */
import type { SizeResult } from "./run-size.ts";

export type Unit = "ms" | "MiB" | "x";

export interface Metric {
  readonly size: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: Unit;
}

/** API objects of a size's snapshot (what the API double would serve): the per-object denominator. */
export function objectsOf(r: SizeResult): number {
  const s = r.snapshot;
  return (s["nodes"] ?? 0) + (s["namespaces"] ?? 0) + (s["pods"] ?? 0) + (s["services"] ?? 0) + (s["endpointSlices"] ?? 0) + (s["networkPolicies"] ?? 0);
}

/** Every metric of one size, in table order. */
export function metricsOf(r: SizeResult): Metric[] {
  const size = r.size.name;
  const m = (metric: string, value: number, unit: Unit): Metric => ({ size, metric, value, unit });
  const p = r.pure;
  const out: Metric[] = [
    m("gen", r.genMs, "ms"),
    m("render", p.renderMs.median, "ms"),
    m("diff cold", p.diffColdMs.median, "ms"),
    m("diff no-op", p.diffNoopMs.median, "ms"),
    m("compile", p.compileMs.median, "ms"),
    m("peak RSS above base", r.rss.pureMiB - r.rss.baseMiB, "MiB"),
  ];
  const k = r.kernel;
  if (!("skipped" in k)) {
    out.push(m("cold (kernel)", k.oursColdMs.median, "ms"), m("cold bare", k.bareColdMs.median, "ms"), m("cold ours/bare", k.coldRatio, "x"));
    out.push(m("no-op (kernel)", k.oursNoopMs.median, "ms"), m("no-op bare", k.bareNoopMs.median, "ms"), m("no-op ours/bare", k.noopRatio, "x"));
  }
  return out;
}
