/**
 * Incremental `ipset save` parsing for repeated observes: the dump is cut into one block per
 * set (its `create` line and the `add` lines that follow, as `ipset save` prints them), and an
 * owned set whose block text is byte-identical to the one parsed last time reuses that parse
 * (the same Ipset object). A no-op resync at scale then costs a string compare per set
 * instead of re-parsing every member, and the differ sees the same objects again.
 *
 * Guarantees: for a dump as `ipset save` prints it (each set's adds right after its create),
 * the result equals `parseIpsetSave(text)`: same sets, same members, same errors for owned
 * sets, line numbers counted in the whole dump. Foreign blocks are not parsed at all (their
 * lines are not validated). Failure modes: those of parseIpsetSave on owned blocks, a dump
 * that does not start with a create line, and a set created twice.
 *
 * @category apply
 */
import { ownsIpset } from "../../model/names.ts";
import type { Ipset } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { parseIpsetSave } from "./parse.ts";

/** One driver's memory of the blocks it parsed last (set name → block text and its parse). */
export type IpsetParseCache = Map<string, { readonly text: string; readonly set: Ipset }>;

/** Parses a whole dump, reusing unchanged blocks from `cache` and refreshing it. */
export function parseIpsetSaveCached(text: string, cache: IpsetParseCache): Table<Ipset> {
  const out: [string, Ipset][] = [];
  const seen = new Set<string>();
  let start = 0;
  let line = 0; // lines before `start`
  while (start < text.length) {
    let end = text.indexOf("\ncreate ", start);
    end = end === -1 ? text.length : end + 1;
    const block = text.slice(start, end);
    const first = block.slice(0, block.indexOf("\n") === -1 ? block.length : block.indexOf("\n")).trim();
    const name = first.startsWith("create ") ? first.split(/\s+/)[1] : undefined;
    if (name === undefined || !ownsIpset(name) || seen.has(name)) {
      // not a plain owned block (foreign set, stray line, duplicate): the full parser decides
      // (it validates everything and reports the exact line)
      if (name === undefined || seen.has(name)) parseIpsetSave(text);
    } else {
      seen.add(name);
      const hit = cache.get(name);
      let set: Ipset | undefined;
      if (hit !== undefined && hit.text === block) set = hit.set;
      else {
        try {
          set = parseIpsetSave(block).get(name);
        } catch (e) {
          throw new Error((e as Error).message.replace(/^ipset save line (\d+)/, (_, n: string) => `ipset save line ${Number(n) + line}`));
        }
        if (set !== undefined) cache.set(name, { text: block, set });
      }
      if (set !== undefined) out.push([name, set]);
    }
    line += countLines(block);
    start = end;
  }
  for (const name of [...cache.keys()]) if (!seen.has(name)) cache.delete(name);
  return sortedTable(out);
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
