/**
 * FoU receive ports for the fou overlay (render/overlay.ts FouPort): what to run and how to
 * read them back. Pure. A FoU port is a kernel UDP socket that strips GUE and hands the inner
 * packet to ipip / ip6tnl; without it, GUE packets from peers are dropped.
 *
 * - add: `ip fou add port P gue` (IPv4) / `ip -6 fou add port P gue` (IPv6); needs the `fou`
 *   (and `fou6`) module — upstream loads them when `--overlay-encap=fou` (§5.1 step 5);
 *   "File exists" when the port is already there;
 * - delete: `ip [-6] fou del port P`;
 * - observe: `ip -j fou show` / `ip -6 -j fou show`, entries like
 *   `{"port":5555,"gue":null,"family":"inet"}` (iproute2 6.1 ipfou.c print_fou_mapping).
 *   Verified on Debian's 6.1 kernel in the qemu VM tier (test/fixtures/ip/fou-show*-6.1.json,
 *   test/vm-guest/overlay-tunnels.test.ts): either dump lists the ports of BOTH families, so
 *   the entry's `family` decides, never the dump's flag.
 *
 * @category apply
 */
import { type FouPort, fouPortKey } from "../../model/overlay.ts";
import type { Family } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { jsonArray } from "./parse.ts";

export type FouPortEntry = FouPort;
export { fouPortKey };

/** Batch line adding one port (IPv6 ones go in the `ip -6` batch). */
export const fouAddLine = (p: FouPort): string => `fou add port ${p.port} gue`;

/** The desired ports that `dumps` (per family; undefined = not read) list, as a table. */
export function observedFouPorts(desired: Table<FouPort>, dumps: Partial<Record<Family, string>>): Table<FouPort> {
  const have = new Set(Object.entries(dumps).flatMap(([f, text]) => (text === undefined ? [] : parseFouPorts(text, f as Family).map(fouPortKey))));
  return sortedTable([...desired].filter(([k]) => have.has(k)));
}

/** Argument vector of `ip [-6] fou add port P gue`. */
export const fouAddArgs = (p: FouPortEntry): string[] => [...(p.family === "ipv6" ? ["-6"] : []), "fou", "add", "port", String(p.port), "gue"];
/** Argument vector of `ip [-6] fou del port P`. */
export const fouDelArgs = (p: FouPortEntry): string[] => [...(p.family === "ipv6" ? ["-6"] : []), "fou", "del", "port", String(p.port)];
/** The dumps of both families. */
export const FOU_DUMPS = { ipv4: ["-j", "fou", "show"], ipv6: ["-6", "-j", "fou", "show"] } as const;

/** GUE ports of one family's `ip [-6] -j fou show` (direct-FoU `ipproto` ports are not ours). */
export function parseFouPorts(text: string, family: Family): FouPortEntry[] {
  return jsonArray(text, `ip ${family === "ipv6" ? "-6 " : ""}-j fou show`).flatMap((e) => {
    const fam = e["family"] === "inet6" ? "ipv6" : e["family"] === "inet" ? "ipv4" : family;
    return typeof e["port"] === "number" && "gue" in e && fam === family ? [{ family, port: e["port"] }] : [];
  });
}
