/**
 * Issue 15: the agent's memory grows linearly with the cluster, at no more bytes per API object
 * than we measured. The probe (bench/memory-slope.ts) syncs a generated cluster through the real
 * Kubernetes client from the API double in a child process and renders node 0; it reports the
 * heap the source and the render retain after full GCs. Two sizes, M and M with every count
 * doubled, give the slope in bytes per object, for the source and the render separately. A slope
 * more than 20% above test/fixtures/memory-slope.json fails: something started to keep more per
 * object (a leak through a memo, a copied table) — re-measure and update the baseline only when
 * the growth is intended, and say why in the commit.
 *
 * Heap after GC does not depend on machine load, so the bound holds on a busy CI runner.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { SIZES, type SizeSpec } from "../../bench/sizes.ts";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const TOLERANCE = 1.2;

interface Probe { readonly objects: number; readonly sourceBytes: number; readonly renderBytes: number; readonly totalBytes: number }
interface Slopes { readonly source: number; readonly render: number; readonly total: number }

/** Runs the probe at `spec` in a fresh process; rejects with its stderr when it fails. */
async function probe(spec: SizeSpec): Promise<Probe> {
  const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", join(ROOT, "bench", "memory-slope.ts"), JSON.stringify(spec)], { cwd: ROOT, timeout: 180_000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Probe;
}

/** `spec` with every cluster-wide count doubled (node 0's own pods and endpoints per Service stay). */
function doubled(spec: SizeSpec): SizeSpec {
  return { ...spec, nodes: spec.nodes * 2, namespaces: spec.namespaces * 2, clusterPods: spec.clusterPods * 2, services: spec.services * 2, policies: spec.policies * 2 };
}

test("memory per API object stays within 20% of the measured baseline (M → 2×M)", { timeout: 400_000 }, async () => {
  // given the baseline slopes, in bytes per API object
  const baseline = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "memory-slope.json"), "utf8")) as { slopeBytesPerObject: Slopes };

  // when the source and the render of node 0 are measured at M and at M doubled
  const small = await probe(SIZES.M);
  const large = await probe(doubled(SIZES.M));

  // then the cluster really doubled, and each slope is within the tolerance of its baseline
  assert.ok(large.objects > 1.9 * small.objects, `objects ${small.objects} → ${large.objects}`);
  const per = (k: keyof Probe): number => (large[k] - small[k]) / (large.objects - small.objects);
  const measured: Slopes = { source: per("sourceBytes"), render: per("renderBytes"), total: per("totalBytes") };
  const report = `measured ${JSON.stringify(measured)} B/object vs baseline ${JSON.stringify(baseline.slopeBytesPerObject)} (M: ${JSON.stringify(small)}, 2×M: ${JSON.stringify(large)})`;
  for (const k of ["source", "render", "total"] as const) {
    assert.ok(measured[k] <= TOLERANCE * baseline.slopeBytesPerObject[k], `${k} slope over ${TOLERANCE}× its baseline: ${report}`);
  }
  // and memory does grow with the cluster (a probe that measured nothing would pass the bound)
  assert.ok(measured.total > 0.25 * baseline.slopeBytesPerObject.total, `total slope implausibly low: ${report}`);
});
