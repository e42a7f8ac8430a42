/**
 * Benchmarks ONE size in its own process (so peak RSS is that size's), and writes a
 * SizeResult as JSON to `--out FILE`. Started by main.ts:
 *
 *   node --import tsx bench/run-size.ts --size M --pure-runs 7 --kernel-runs 3 [--no-kernel REASON] --out FILE
 *
 * Progress goes to stderr. On SIGINT/SIGTERM or an error every fixture namespace still alive
 * and the scratch directory are deleted before exiting.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dropAllFixtures } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { type KernelResult, runKernel } from "./kernel.ts";
import { type PureResult, runPure } from "./pure.ts";
import { sizeByName, type SizeSpec } from "./sizes.ts";
import { snapshotCounts, snapshotDigest } from "./snapshot-json.ts";
import { peakRssMiB, round3, timed } from "./stats.ts";

export interface SizeResult {
  readonly size: SizeSpec;
  /** Object counts of the generated snapshot and its digest (same digest ⇒ same cluster). */
  readonly snapshot: Readonly<Record<string, number>>;
  readonly snapshotDigest: string;
  readonly genMs: number;
  readonly rss: {
    /** Peak RSS of the process before generating (node + tsx + our modules). */
    readonly baseMiB: number;
    /** Peak RSS after generating the snapshot. */
    readonly loadedMiB: number;
    /** Peak RSS after the pure rows (load + render + diff + compile): the table's figure. */
    readonly pureMiB: number;
    /** Peak RSS at the end (kernel rows included). */
    readonly endMiB: number;
  };
  readonly pure: PureResult;
  readonly kernel: KernelResult | { readonly skipped: string };
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** The scratch directory of the kernel rows while they run (removed on every exit path). */
let scratch: string | undefined;

/** Deletes every namespace and the scratch directory this process still holds. */
function cleanup(): void {
  dropAllFixtures();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: "string" },
      "pure-runs": { type: "string", default: "7" },
      "kernel-runs": { type: "string", default: "3" },
      "no-kernel": { type: "string" },
      out: { type: "string" },
    },
  });
  const spec = sizeByName(values.size ?? "");
  if (!spec || !values.out) throw new Error("usage: run-size.ts --size XS|S|M|L --out FILE [--pure-runs N] [--kernel-runs N] [--no-kernel REASON]");
  const baseMiB = peakRssMiB();
  const gen = timed(() => generateCluster(spec));
  const g = gen.value;
  const loadedMiB = peakRssMiB();
  log(`${spec.name}: generated in ${gen.ms.toFixed(0)} ms; pure rows…`);
  const pure = runPure(g, Number(values["pure-runs"]));
  const pureMiB = peakRssMiB();
  let kernel: SizeResult["kernel"];
  if (values["no-kernel"] !== undefined) kernel = { skipped: values["no-kernel"] };
  else {
    log(`${spec.name}: kernel rows…`);
    scratch = mkdtempSync(join(tmpdir(), "krt-bench-"));
    try {
      kernel = await runKernel(g, Number(values["kernel-runs"]), scratch);
    } finally {
      cleanup();
    }
  }
  const result: SizeResult = {
    size: spec,
    snapshot: snapshotCounts(g.snapshot),
    snapshotDigest: snapshotDigest(g.snapshot),
    genMs: round3(gen.ms),
    rss: { baseMiB, loadedMiB, pureMiB, endMiB: peakRssMiB() },
    pure,
    kernel,
  };
  writeFileSync(values.out, JSON.stringify(result));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
main().catch((e: unknown) => {
  cleanup();
  process.stderr.write(`[bench] error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
