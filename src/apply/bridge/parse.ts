/**
 * Parser of `bridge -j fdb show` into the overlay's `fdb` table. Pure.
 *
 * One dump of every device (`bridge -j fdb show`: each entry names its device in `ifname`),
 * or of one device (`bridge -j fdb show dev X`: entries carry no `ifname`; pass `dev`).
 * Only entries we own (names.ts ownsFdbEntry: any on kube-vxlan, kube-vxlan6; the permanent ones on routervxlan0) with a `dst` are returned — kube-bridge's learned pod MACs and every other
 * device's entries are never seen by the differ, so never touched.
 *
 * Failure: text that is not a JSON array of objects throws Error (one line) naming the dump.
 *
 * @category apply
 */
import { canonicalIp } from "../../model/ip.ts";
import { ownsFdbEntry } from "../../model/names.ts";
import { type FdbEntry, fdbKey } from "../../model/overlay.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { jsonArray } from "../ip/parse.ts";

/** The read-only dump observe runs (all devices in one call). */
export const FDB_DUMP: readonly string[] = ["-j", "fdb", "show"];

/** Parses a `bridge -j fdb show [dev X]` dump into owned FDB entries. */
export function parseFdb(text: string, dev?: string): Table<FdbEntry> {
  const out: [string, FdbEntry][] = [];
  for (const e of jsonArray(text, `bridge -j fdb show${dev !== undefined ? ` dev ${dev}` : ""}`)) {
    const d = typeof e["ifname"] === "string" ? e["ifname"] : dev;
    const mac = typeof e["mac"] === "string" ? e["mac"].toLowerCase() : undefined;
    const dst = typeof e["dst"] === "string" ? canonicalIp(e["dst"]) : undefined;
    const state = typeof e["state"] === "string" ? e["state"] : "";
    if (d === undefined || mac === undefined || dst === undefined || !ownsFdbEntry(d, state)) continue;
    const flags = Array.isArray(e["flags"]) ? (e["flags"] as unknown[]) : [];
    const f: FdbEntry = { dev: d, mac, dst, self: flags.includes("self"), state };
    out.push([fdbKey(f), f]);
  }
  return sortedTable(out);
}
