/**
 * Owned iptables state from one family's iptables-save text. Pure.
 *
 * Backend differences: none found for the rule shapes we use (see canonical.ts, verified on
 * nft and legacy by the kernel test); both backends' output goes through the same
 * `ruleText(ruleTokens(…))` normalisation, which also erases iptables-save's quoting style
 * (it quotes any comment with a character outside `[A-Za-z0-9_-]` and writes `'` as `\'`).
 *
 * @category apply
 */
import { ruleTokens } from "../../model/iptables-rule.ts";
import { ownsBuiltinRule, ownsChain } from "../../model/names.ts";
import { type Chain, type Family, type IptTableName, type Jump, chainKey, jumpKey } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import { isBuiltinChainName, parseSaveText, ruleCommentAndTarget } from "./save-format.ts";

export interface OwnedIptables {
  readonly chains: Table<Chain>;
  readonly jumps: Table<Jump>;
}

const TABLES: ReadonlySet<string> = new Set<IptTableName>(["filter", "nat", "mangle", "raw"]);

/**
 * Parses one family's iptables-save output (all tables) into the objects we own:
 *
 * - every custom chain with `ownsChain(name)`, with all its rules (canonical text);
 * - every rule in a builtin chain for which `ownsBuiltinRule(comment, -j target)` holds, as a
 *   Jump keyed by its comment (a comment-less owned rule uses its rule text as comment).
 *   When several owned rules of one builtin chain share a key, the 2nd, 3rd, … get the
 *   comment (and so the key) suffixed `#2`, `#3`, … — no renderer emits those, so a diff
 *   deletes the extras.
 *
 * Jump `position` is the rule's 1-based index in its builtin chain counting every rule,
 * foreign ones too — when the rule is "in place": every rule above it is an owned rule and
 * its text occurs once in the chain. Otherwise it is reported as the negative index
 * ("displaced": below a foreign rule, or one of several identical copies). Renderers emit
 * positions 1..n, so a displaced jump always diffs as an update (or delete), which compile
 * re-places; an in-place unchanged jump is then guaranteed to stay where it is (see
 * compile.ts for the proof). With plain indices, a jump that happens to sit at its desired
 * index below a foreign rule would be left there while a new jump is inserted above the
 * foreign rule, so a sync would not converge in one step.
 *
 * Tables other than filter/nat/mangle/raw (`security`) are ignored. Foreign chains and
 * foreign rules are never returned. Output tables are sorted by key.
 * `displacedBy`, when given, receives for every displaced jump (by key) the first foreign rule
 * above it as `-A <chain> <rule>` ("" when it is displaced by a copy of itself only).
 * Throws an Error (SaveFormatError) whose one-line message names the line, on malformed input.
 */
export function parseOwned(family: Family, saveText: string, displacedBy?: Map<string, string>): OwnedIptables {
  const chains: [string, Chain][] = [];
  const jumps: [string, Jump][] = [];
  const wanted = (table: string, chain: string, policy: string): boolean =>
    TABLES.has(table) && (policy !== "-" || isBuiltinChainName(chain) || ownsChain(chain));
  for (const t of parseSaveText(saveText, wanted)) {
    if (!TABLES.has(t.name)) continue;
    const table = t.name as IptTableName;
    for (const [name, rules] of t.rules) {
      const builtin = t.policies.get(name) !== "-" || isBuiltinChainName(name);
      if (!builtin) {
        if (ownsChain(name)) {
          const c: Chain = { family, table, name, rules: [...rules] };
          chains.push([chainKey(c), c]);
        }
        continue;
      }
      jumps.push(...builtinJumps(family, table, name, rules, displacedBy));
    }
  }
  return { chains: sortedTable(chains), jumps: sortedTable(jumps) };
}

/** The owned rules of one builtin chain as Jumps (see parseOwned for keys and positions). */
function builtinJumps(family: Family, table: IptTableName, chain: string, rules: readonly string[], displacedBy?: Map<string, string>): [string, Jump][] {
  const copies = new Map<string, number>();
  for (const r of rules) copies.set(r, (copies.get(r) ?? 0) + 1);
  const seen = new Map<string, number>();
  const out: [string, Jump][] = [];
  let inPlace = true;
  let foreign = "";
  rules.forEach((rule, i) => {
    const { comment, target } = ruleCommentAndTarget(ruleTokens(rule));
    if (!ownsBuiltinRule(comment, target)) {
      if (inPlace) foreign = `-A ${chain} ${rule}`;
      inPlace = false;
      return;
    }
    const base = comment ?? rule;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const unique = copies.get(rule) === 1;
    const j: Jump = {
      family, table, chain,
      comment: n === 1 ? base : `${base}#${n}`,
      rule,
      position: inPlace && unique ? i + 1 : -(i + 1),
    };
    out.push([jumpKey(j), j]);
    if (j.position < 0) displacedBy?.set(jumpKey(j), foreign);
  });
  return out;
}
