/**
 * `ipset save` text → the owned ipsets (ownsIpset), normalised to the model. Pure.
 *
 * Kept: name, type, family, `timeout` of the create line, members as saved plus ` nomatch`.
 * Dropped (noise or defaults we never set): hashsize, maxelem, bucketsize, initval (random per
 * set on 6.18 kernels), the counters/comment/skbinfo/forceadd flags; per member `timeout N`
 * (a member with a running timeout reads as a permanent one), packets/bytes counters,
 * comments and skb* values.
 *
 * Failure modes: throws `Error("ipset save line N: …")` for a line that is not a create or add,
 * an add before its set's create, a duplicate create, and, for owned sets only, a type the
 * model does not know or a create option/member flag that changes semantics we cannot model
 * (e.g. `netmask`), so such a set is reported instead of silently mis-modelled.
 * Foreign sets are skipped without looking at their options.
 *
 * @category apply
 */
import { ownsIpset } from "../../model/names.ts";
import type { Ipset, IpsetType } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { isIpsetType } from "../../model/ipset-members.ts";

/** Create options whose value we drop. */
const DROP_VALUE_OPTS: ReadonlySet<string> = new Set(["hashsize", "maxelem", "bucketsize", "initval"]);
/** Create flags we drop. */
const DROP_FLAGS: ReadonlySet<string> = new Set(["counters", "comment", "skbinfo", "forceadd"]);
/** Member options whose value we drop. */
const DROP_MEMBER_OPTS: ReadonlySet<string> = new Set(["timeout", "packets", "bytes", "comment", "skbmark", "skbprio", "skbqueue"]);

interface Building {
  readonly name: string;
  readonly type: IpsetType;
  readonly family: "inet" | "inet6";
  readonly timeout?: number;
  readonly members: Set<string>;
}

/** Parses a whole `ipset save` dump; see the module comment for guarantees and errors. */
export function parseIpsetSave(text: string): Table<Ipset> {
  const owned = new Map<string, Building>();
  const seen = new Set<string>();
  const lines = text.split("\n");
  // one closure per parse (not per line: tens of thousands of lines at scale)
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`ipset save line ${at + 1}: ${why}: ${lines[at]!.trim()}`);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    at = i;
    let tokens: string[] = [];
    // fast path for the common line (single spaces, no quoted comment): tens of thousands of
    // `add` lines per sync at scale
    if (!line.includes('"') && !line.includes("  ") && !line.includes("\t")) tokens = line.split(" ");
    else {
      try {
        tokens = splitIpsetLine(line);
      } catch (e) {
        fail((e as Error).message);
      }
    }
    const [verb, name, arg, ...rest] = tokens;
    if (name === undefined || arg === undefined) fail("expected `create NAME TYPE …` or `add NAME MEMBER …`");
    if (verb === "create") {
      if (seen.has(name!)) fail(`set ${name} created twice`);
      seen.add(name!);
      if (ownsIpset(name!)) owned.set(name!, parseCreate(name!, arg!, rest, fail));
    } else if (verb === "add") {
      if (!seen.has(name!)) fail(`add to set ${name} before its create line`);
      const set = owned.get(name!);
      if (set) set.members.add(parseMember(arg!, rest, fail));
    } else fail(`unknown command ${verb ?? ""}`);
  }
  return sortedTable([...owned].map(([name, s]) => [name, s as Ipset] as const));
}

function parseCreate(name: string, type: string, opts: readonly string[], fail: (why: string) => never): Building {
  if (!isIpsetType(type)) fail(`owned set ${name} has type ${type}, which the model does not know`);
  let family: "inet" | "inet6" = "inet";
  let timeout: number | undefined;
  for (let j = 0; j < opts.length; j++) {
    const o = opts[j]!;
    if (DROP_FLAGS.has(o)) continue;
    const v = opts[j + 1];
    if (v === undefined) fail(`option ${o} without a value`);
    j++;
    if (DROP_VALUE_OPTS.has(o)) continue;
    if (o === "family") {
      if (v !== "inet" && v !== "inet6") fail(`family ${v} unknown`);
      family = v as "inet" | "inet6";
    } else if (o === "timeout") timeout = nonNegativeInt(v!, fail);
    else fail(`create option ${o} is not modelled`);
  }
  return { name, type: type as IpsetType, family, ...(timeout !== undefined ? { timeout } : {}), members: new Set() };
}

function parseMember(element: string, opts: readonly string[], fail: (why: string) => never): string {
  let nomatch = false;
  for (let j = 0; j < opts.length; j++) {
    const o = opts[j]!;
    if (o === "nomatch") nomatch = true;
    else if (DROP_MEMBER_OPTS.has(o) && opts[j + 1] !== undefined) j++;
    else fail(`member option ${o} is not modelled`);
  }
  return nomatch ? `${element} nomatch` : element;
}

function nonNegativeInt(v: string, fail: (why: string) => never): number {
  if (!/^\d+$/.test(v)) fail(`"${v}" is not a non-negative integer`);
  return Number(v);
}

/**
 * Splits one ipset line into tokens on whitespace; a double-quoted token (a comment) is one
 * token without its quotes. Throws `Error("unterminated quote")`.
 */
export function splitIpsetLine(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(")|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (m[2] !== undefined) throw new Error("unterminated quote");
    out.push(m[1] ?? m[3] ?? "");
  }
  return out;
}
