/**
 * `sysctl` output (`name = value` lines) → sysctls keyed by `/proc/sys` path. Pure.
 * Values are whitespace-normalised (keys.ts). A line that is not `name = value` (or
 * `name =` for an empty value) throws `Error("sysctl output line N: …")`.
 *
 * @category apply
 */
import { type Sysctl, sysctlKey } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { normaliseSysctlValue, sysctlPath } from "./keys.ts";

export function parseSysctlOutput(text: string): Table<Sysctl> {
  const out: [string, Sysctl][] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const m = /^(\S+) =(?:[ \t](.*))?$/.exec(line);
    if (!m) throw new Error(`sysctl output line ${i + 1}: expected "name = value": ${line}`);
    const s: Sysctl = { path: sysctlPath(m[1]!), value: normaliseSysctlValue(m[2] ?? "") };
    out.push([sysctlKey(s), s]);
  }
  return sortedTable(out);
}
