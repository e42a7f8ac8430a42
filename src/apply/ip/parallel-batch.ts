/**
 * Runs one `ip -batch` script whose middle block of lines is independent (route lines: each
 * adds or removes one route, none needs another) as several `ip -batch` processes at once when
 * the block is large. `ip` spends most of a big route batch in its own user space (parsing a
 * line, one netlink request, waiting for its ack), which runs in parallel on a multi-core node;
 * the kernel takes the lines in whatever order they come, and the end state is the same as one
 * process running the whole text (what the plan prints).
 *
 * Order kept: the lines before the block run first (one process), then the block's parts side
 * by side, then the lines after it (one process). Like `ip -force -batch`, a failed line stops
 * nothing: every stage runs, then the first failure is thrown (an ExecError naming the tool).
 *
 * @category apply
 */
import { availableParallelism } from "node:os";
import type { Exec } from "../exec.ts";

/** Fewest block lines per process: below it one process is faster (an `ip` start costs ~2 ms, ~300 route lines). */
export const PARALLEL_MIN_LINES = 1000;
/** Most processes for one block. */
export const PARALLEL_MAX = 4;

const text = (lines: readonly string[]): string => `${lines.join("\n")}\n`;

/** A script's stdin text (one line per command) and the [start, end) range of its lines that may run in any order, in parallel. */
export interface BatchLines {
  readonly stdin: string;
  readonly block?: { readonly start: number; readonly end: number };
}

/** BatchLines of `lines` (joined once). */
export const batchLines = (lines: readonly string[], block?: BatchLines["block"]): BatchLines =>
  ({ stdin: text(lines), ...(block !== undefined ? { block } : {}) });

/** How many processes a block of `n` independent lines runs as on a node with `cores` cores (1 = no split). */
export function blockParts(n: number, cores: number): number {
  return Math.max(1, Math.min(cores, PARALLEL_MAX, Math.floor(n / PARALLEL_MIN_LINES)));
}

/**
 * Runs `ip <args>` over the lines; a large independent block is split over up to
 * `blockParts(…)` concurrent processes. Rejects with the first failure after every stage ran.
 */
export async function runIpBatch(exec: Exec, args: readonly string[], batch: BatchLines, cores: number = availableParallelism()): Promise<void> {
  const { stdin, block } = batch;
  const parts = block === undefined ? 1 : blockParts(block.end - block.start, cores);
  if (block === undefined || parts === 1) {
    await exec.run("ip", args, { stdin, write: true });
    return;
  }
  // line i of the text starts at offset[i] (the text is cut, not joined again)
  const offset = [0];
  for (let at = stdin.indexOf("\n"); at !== -1; at = stdin.indexOf("\n", at + 1)) offset.push(at + 1);
  const lineCount = offset.length - 1;
  const failures: unknown[] = [];
  const one = async (from: number, to: number): Promise<void> => {
    if (from >= to) return;
    try { await exec.run("ip", args, { stdin: stdin.slice(offset[from], offset[to]), write: true }); } catch (e) { failures.push(e); }
  };
  await one(0, block.start);
  const size = Math.ceil((block.end - block.start) / parts);
  const slices: Promise<void>[] = [];
  for (let at = block.start; at < block.end; at += size) slices.push(one(at, Math.min(at + size, block.end)));
  await Promise.all(slices);
  await one(block.end, lineCount);
  if (failures.length > 0) throw failures[0];
}
