/**
 * Neighbour entries (the overlay's `neighbors` table) in iproute2 form. Pure.
 *
 * Observe: one `ip -j neigh show` (both families, every device; each entry names its `dev`)
 * → the entries on devices we own (names.ts ownsOverlayEntries), canonical. Entries
 * elsewhere are never returned, so never deleted.
 *
 * Apply: lines for the ip driver's existing `ip -force -batch -` (the family follows from the
 * address, so IPv4 and IPv6 share the main batch; checked on the kernel):
 * - `remove` (for the ipRemove batch, BEFORE its `address del` lines: the kernel flushes a
 *   device's IPv4 neighbours, permanent ones included, when its last IPv4 address goes, and
 *   a later `neigh del` would then fail with "No such file or directory"; seen on 6.18):
 *   `neigh del <ip> dev <dev>` for deletes;
 * - `add` (for the ipAdd batch, after the links, since the device must exist):
 *   `neigh replace <ip> lladdr <mac> dev <dev> nud permanent` for creates and updates
 *   (replace overwrites whatever entry holds the address: a stale MAC, a FAILED or a learned
 *   entry).
 * A device re-created by the link section (or one that lost its last IPv4 address) loses its
 * neighbours: the next full sync observes that and re-adds them.
 *
 * Failure: parseNeighbors throws Error (one line) on malformed JSON (parse.ts jsonArray).
 *
 * @category apply
 */
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import { ownsOverlayEntries } from "../../model/names.ts";
import { type Neighbor, neighborKey } from "../../model/overlay.ts";
import { type Change, type Table, sortedTable } from "../../model/table.ts";
import { jsonArray } from "./parse.ts";

/** The read-only dump observe runs. */
export const NEIGH_DUMP: readonly string[] = ["-j", "neigh", "show"];

/**
 * Parses `ip -j neigh show` (or `… dev X`, whose entries carry no `dev`: pass `dev`).
 * Entries without an address or lladdr (INCOMPLETE, FAILED) keep lladdr "" so they differ
 * from a desired entry and are replaced.
 */
export function parseNeighbors(text: string, dev?: string): Table<Neighbor> {
  const out: [string, Neighbor][] = [];
  for (const e of jsonArray(text, `ip -j neigh show${dev !== undefined ? ` dev ${dev}` : ""}`)) {
    const d = typeof e["dev"] === "string" ? e["dev"] : dev;
    const ip = typeof e["dst"] === "string" ? canonicalIp(e["dst"]) : undefined;
    if (d === undefined || ip === undefined || !ownsOverlayEntries(d)) continue;
    const states = Array.isArray(e["state"]) ? (e["state"] as unknown[]).filter((s): s is string => typeof s === "string") : [];
    const n: Neighbor = {
      dev: d,
      ip,
      family: ipFamily(ip) ?? "ipv4",
      lladdr: typeof e["lladdr"] === "string" ? e["lladdr"].toLowerCase() : "",
      state: (states[0] ?? "none").toLowerCase(),
    };
    out.push([neighborKey(n), n]);
  }
  return sortedTable(out);
}

/** `neigh replace` line of one entry. */
export const neighReplaceLine = (n: Neighbor): string => `neigh replace ${n.ip} lladdr ${n.lladdr} dev ${n.dev} nud ${n.state}`;
/** `neigh del` line of one entry. */
export const neighDelLine = (n: Neighbor): string => `neigh del ${n.ip} dev ${n.dev}`;

/** The batch lines of a neighbour diff: `remove` for the ipRemove batch, `add` for ipAdd. */
export function compileNeighbors(changes: readonly Change<Neighbor>[]): { readonly remove: readonly string[]; readonly add: readonly string[] } {
  const remove: string[] = [];
  const add: string[] = [];
  for (const c of changes) {
    if (c.op === "delete") remove.push(neighDelLine(c.before));
    else add.push(neighReplaceLine(c.after));
  }
  return { remove, add };
}
