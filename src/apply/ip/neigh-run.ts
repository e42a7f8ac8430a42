/**
 * The effectful half of the neighbour table until the ip driver merges its lines into its
 * own batches: one read-only dump to observe, one `ip -force -batch -` per non-empty list.
 *
 * Failure: observe rejects with ExecError when `ip` fails and Error on malformed JSON;
 * apply rejects with ExecError when any line failed (the others are applied: `-force`).
 *
 * @category apply
 */
import type { Neighbor } from "../../model/overlay.ts";
import type { Table } from "../../model/table.ts";
import type { Exec } from "../exec.ts";
import { IP_BATCH_ARGS } from "./compile.ts";
import { NEIGH_DUMP, parseNeighbors } from "./neigh.ts";

/** Owned neighbour entries of every device, from one `ip -j neigh show`. */
export async function observeNeighbors(exec: Exec): Promise<Table<Neighbor>> {
  return parseNeighbors((await exec.run("ip", NEIGH_DUMP)).stdout);
}

/** Runs batch lines from compileNeighbors; nothing runs for none. */
export async function applyNeighLines(exec: Exec, lines: readonly string[]): Promise<void> {
  if (lines.length > 0) await exec.run("ip", IP_BATCH_ARGS, { stdin: `${lines.join("\n")}\n`, write: true });
}
