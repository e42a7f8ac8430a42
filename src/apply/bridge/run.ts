/**
 * The effectful half of the FDB table, for whichever driver contract registers it: one
 * read-only dump to observe, one `bridge -force -batch -` per non-empty batch to apply.
 *
 * Failure: observe rejects with ExecError when `bridge` fails and Error on malformed JSON;
 * apply rejects with ExecError when any line failed (the others are applied: `-force`).
 *
 * @category apply
 */
import type { FdbEntry } from "../../model/overlay.ts";
import type { Table } from "../../model/table.ts";
import type { Exec } from "../exec.ts";
import { BRIDGE_BATCH_ARGS } from "./compile.ts";
import { FDB_DUMP, parseFdb } from "./parse.ts";

/** Owned FDB entries of every device, from one `bridge -j fdb show`. */
export async function observeFdb(exec: Exec): Promise<Table<FdbEntry>> {
  return parseFdb((await exec.run("bridge", FDB_DUMP)).stdout);
}

/** Runs one batch text from compileFdb; nothing runs for "". */
export async function applyFdbBatch(exec: Exec, text: string): Promise<void> {
  if (text !== "") await exec.run("bridge", BRIDGE_BATCH_ARGS, { stdin: text, write: true });
}
