/**
 * Compiles an `fdb` diff into `bridge -force -batch -` input. Pure and deterministic.
 *
 * One batch per sync (compileFdbBatch, run after the ip batches): deletes first, then adds;
 * a delete on a device the same sync deletes or re-creates is left out (the device took its
 * entries with it, and `fdb del` on a missing device fails). Or two batches (compileFdb),
 * placed around the ip batches:
 * - `remove` (run before the ip batch deletes links; a deleted device takes its entries
 *   with it, so deletes must come first): `fdb del <mac> dev <dev> dst <ip> [self]` for
 *   deletes and for the `before` of updates;
 * - `add` (run after the ip batch creates links): for the all-zero (flood) MAC and other
 *   group MACs `fdb append … self permanent` — the kernel keeps one entry per MAC with a
 *   list of remotes, `fdb add` of a second dst is "File exists", `append` adds it (and a
 *   duplicate append is a no-op); for a unicast MAC `fdb replace … self permanent`, which
 *   sets its one dst (`append` to a unicast MAC that has another dst is silently ignored by
 *   the kernel, checked on 6.18).
 *
 * Kernel facts the order relies on (6.18): `fdb del` of a MAC that exists with another dst is
 * a silent no-op; of a missing MAC it fails ("No such file or directory"). `-force` keeps
 * the batch going after a failed line; `bridge` still exits 1, the run fails with ExecError
 * and the next sync is a full one, which re-observes.
 *
 * @category apply
 */
import type { FdbEntry } from "../../model/overlay.ts";
import type { Change } from "../../model/table.ts";

/** Argument vector of every batch run. */
export const BRIDGE_BATCH_ARGS: readonly string[] = ["-force", "-batch", "-"];

/** True for the all-zero MAC and group (multicast/broadcast) MACs, which hold several dsts. */
export function isGroupMac(mac: string): boolean {
  return mac === "00:00:00:00:00:00" || (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/** The `fdb append|replace` line creating one entry. */
export function fdbAddLine(f: FdbEntry): string {
  const verb = isGroupMac(f.mac) ? "append" : "replace";
  return `fdb ${verb} ${f.mac} dev ${f.dev} dst ${f.dst}${f.self ? " self" : ""} ${f.state === "" ? "permanent" : f.state}`;
}
/** The `fdb del` line removing one entry. */
export function fdbDelLine(f: FdbEntry): string {
  return `fdb del ${f.mac} dev ${f.dev} dst ${f.dst}${f.self ? " self" : ""}`;
}

/** stdin texts of the two batches; "" when a batch has nothing to do. */
export function compileFdb(changes: readonly Change<FdbEntry>[]): { readonly remove: string; readonly add: string } {
  const remove: string[] = [];
  const add: string[] = [];
  for (const c of changes) {
    if (c.op !== "create") remove.push(fdbDelLine(c.before));
    if (c.op !== "delete") add.push(fdbAddLine(c.after));
  }
  const text = (ls: readonly string[]) => (ls.length === 0 ? "" : `${ls.join("\n")}\n`);
  return { remove: text(remove), add: text(add) };
}

/**
 * The one `bridge -batch` of a sync, run after the ip batches: deletes (except on
 * `goneDevices`, the links this sync deletes or re-creates), then adds; "" when empty.
 */
export function compileFdbBatch(changes: readonly Change<FdbEntry>[], goneDevices: ReadonlySet<string>): string {
  const remove: string[] = [];
  const add: string[] = [];
  for (const c of changes) {
    if (c.op !== "create" && !goneDevices.has(c.before.dev)) remove.push(fdbDelLine(c.before));
    if (c.op !== "delete") add.push(fdbAddLine(c.after));
  }
  const lines = [...remove, ...add];
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
