/**
 * The iptables-save text format as plain data: tables, chains (with policy), rules per chain
 * in order. Shared by the owned-state parser (parse.ts) and the fake (fake.ts). Pure.
 *
 * @category apply
 */
import { ruleText, ruleTokens } from "../../model/iptables-rule.ts";

/** One table of a save dump: chains in declaration order; rule text canonical (`ruleText`). */
export interface SavedTable {
  readonly name: string;
  /** chain name → policy (`ACCEPT`, `DROP`, … for builtin chains; `-` for user chains) */
  readonly policies: Map<string, string>;
  /** chain name → rules in order (canonical text after `-A <chain> `) */
  readonly rules: Map<string, string[]>;
}

/** The chain names iptables creates itself, per table. */
export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

/** True for a builtin chain name (in any table). */
export function isBuiltinChainName(name: string): boolean {
  return name === "INPUT" || name === "FORWARD" || name === "OUTPUT" || name === "PREROUTING" || name === "POSTROUTING";
}

/** A malformed dump: `message` is one line naming the 1-based line number. */
export class SaveFormatError extends Error {
  constructor(readonly line: number, what: string) {
    super(`iptables-save line ${line}: ${what}`);
    this.name = "SaveFormatError";
  }
}

/**
 * Parses iptables-save output (any number of `*table … COMMIT` blocks) into tables.
 * Rule text is normalised with `ruleText(ruleTokens(…))`, so iptables-save's own quoting
 * (`"ns/pod"`, `"a\'b"`) compares equal to what renderers produce.
 * Blank lines and `#` comment lines are skipped.
 * `normalise(table, chain, policy)` (default: every chain) picks the chains whose rules are
 * tokenised and normalised; the rules of the others are kept as the raw text after
 * `-A <chain> ` (cheap: observe skips the bulk of foreign chains, e.g. kube-proxy's).
 * Throws SaveFormatError on: a line outside a table, a nested `*table`, a chain declared
 * twice, a rule for an undeclared chain, an unterminated quote (in a normalised chain), an
 * unknown line, or a missing final COMMIT.
 */
export function parseSaveText(
  text: string,
  normalise: (table: string, chain: string, policy: string) => boolean = () => true,
): SavedTable[] {
  const tables: SavedTable[] = [];
  let cur: SavedTable | undefined;
  let startLine = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      if (cur) throw new SaveFormatError(n, `table ${line} starts before COMMIT of *${cur.name}`);
      const name = line.slice(1);
      if (!/^[a-z]+$/.test(name)) throw new SaveFormatError(n, `bad table name "${name}"`);
      cur = { name, policies: new Map(), rules: new Map() };
      startLine = n;
      continue;
    }
    if (!cur) throw new SaveFormatError(n, `"${line}" outside a table`);
    if (line === "COMMIT") {
      tables.push(cur);
      cur = undefined;
    } else if (line.startsWith(":")) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/.exec(line);
      if (!m) throw new SaveFormatError(n, `bad chain declaration "${line}"`);
      const [, chain, policy] = m as unknown as [string, string, string];
      if (cur.policies.has(chain)) throw new SaveFormatError(n, `chain ${chain} declared twice`);
      cur.policies.set(chain, policy);
      cur.rules.set(chain, []);
    } else if (line.startsWith("-A ")) {
      const m = /^-A\s+(\S+)\s*(.*)$/.exec(line);
      const chain = m?.[1] ?? "";
      const rules = cur.rules.get(chain);
      if (!rules) throw new SaveFormatError(n, `rule for undeclared chain "${chain}"`);
      if (!normalise(cur.name, chain, cur.policies.get(chain) ?? "-")) {
        rules.push(m?.[2] ?? "");
        continue;
      }
      let tokens: string[];
      try {
        tokens = ruleTokens(m?.[2] ?? "");
      } catch (e) {
        throw new SaveFormatError(n, (e as Error).message);
      }
      rules.push(ruleText(tokens));
    } else {
      throw new SaveFormatError(n, `unexpected "${line}"`);
    }
  }
  if (cur) throw new SaveFormatError(startLine, `table *${cur.name} has no COMMIT`);
  return tables;
}

/** The comment (first `--comment` value) and the target (`-j`/`-g` value) of rule tokens. */
export function ruleCommentAndTarget(tokens: readonly string[]): { comment?: string; target?: string } {
  let comment: string | undefined;
  let target: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "--comment") {
      comment ??= tokens[i + 1];
      i++;
    } else if ((t === "-j" || t === "-g" || t === "--jump" || t === "--goto") && target === undefined) {
      target = tokens[i + 1];
      i++;
    }
  }
  return { ...(comment !== undefined ? { comment } : {}), ...(target !== undefined ? { target } : {}) };
}
