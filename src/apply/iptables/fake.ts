/**
 * FakeIptables: an in-memory iptables (both families, all tables, foreign chains and rules
 * too) that interprets `*-save` and `*-restore` exactly as the driver runs them, with the real
 * tools' semantics (verified against iptables 1.8.9 nft and legacy):
 *
 * - restore input is applied per `*table … COMMIT` block, each atomically: on the first
 *   error nothing of that block changes, earlier committed blocks stay, later ones are not
 *   read; exit 1 with `<tool>: line N failed: <reason>` (`COMMIT expected at line N` when a
 *   block is not closed);
 * - `--noflush` keeps the table; without it a block starts from empty builtin chains;
 * - `:CHAIN - [0:0]` creates a user chain or flushes an existing one; `:BUILTIN POLICY`
 *   sets the policy (unless `-`) and keeps the rules;
 * - `-A`, `-I chain [pos]` (pos > length+1: "Index of insertion too big."), `-D chain rule`
 *   (first identical rule; none: "Bad rule …"), `-D chain N`, `-F [chain]`, `-N` (exists:
 *   "Chain already exists."), `-X [chain]` (builtin, non-empty or referenced: refused),
 *   `-P builtin policy`;
 * - a `-j`/`-g` target must be a user chain of the table or a known target extension;
 * - rules are stored as iptables-save would print them (fake-rule.ts), and saved with
 *   iptables-save's quoting.
 *
 * One instance answers `iptables-save`, `iptables-nft-save`, `iptables-legacy-save`, the
 * `ip6tables-*` forms and the matching restores; `variants` limits it to some of them, so
 * two instances can play the nft and the legacy backend of one host.
 *
 * @category apply
 */
import { ruleText, ruleTokens } from "../../model/iptables-rule.ts";
import type { Family } from "../../model/state.ts";
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import { BUILTIN_CHAINS, ruleCommentAndTarget } from "./save-format.ts";
import { savedRule } from "./fake-rule.ts";

export type FakeVariant = "nft" | "legacy" | "plain";

interface FakeChain {
  policy: string; // "-" for user chains
  rules: string[][]; // saved-form tokens
}
/** One table: chain name → chain, builtin chains first, in iptables' order. */
type FakeTable = Map<string, FakeChain>;
type FamilyState = Map<string, FakeTable>; // table name → table, in creation order

/** Target extensions the fake accepts besides user chains. */
const TARGETS: ReadonlySet<string> = new Set([
  "ACCEPT", "DROP", "RETURN", "QUEUE", "REJECT", "MASQUERADE", "SNAT", "DNAT", "REDIRECT", "MARK", "CONNMARK",
  "NFLOG", "LOG", "TCPMSS", "NOTRACK", "CT", "TPROXY", "CHECKSUM", "TRACE", "AUDIT", "CLASSIFY", "DSCP", "TOS",
  "TTL", "HL", "SET", "NFQUEUE", "NETMAP",
]);
const POLICIES: ReadonlySet<string> = new Set(["ACCEPT", "DROP"]);
const TOOL = /^(ip6?tables)(?:-(nft|legacy))?-(save|restore)$/;

class BlockError extends Error {}

const cloneTable = (t: FakeTable): FakeTable =>
  new Map([...t].map(([n, c]) => [n, { policy: c.policy, rules: c.rules.map((r) => [...r]) }]));

function emptyTable(name: string): FakeTable {
  const builtins = BUILTIN_CHAINS[name];
  if (!builtins) throw new BlockError(`Table '${name}' does not exist`);
  return new Map(builtins.map((c) => [c, { policy: "ACCEPT", rules: [] }]));
}

/** iptables-save's quoting of free-text values (xtables_save_string). */
function saveQuote(v: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(v)) return v;
  return `"${v.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
const QUOTED_OPTIONS: ReadonlySet<string> = new Set(["--comment", "--log-prefix", "--nflog-prefix"]);

/** A rule's tokens as iptables-save prints them after `-A <chain> `. */
function savedText(tokens: readonly string[]): string {
  return tokens.map((t, i) => (i > 0 && QUOTED_OPTIONS.has(tokens[i - 1]!) ? saveQuote(t) : ruleText([t]))).join(" ");
}

export class FakeIptables implements FakeTool {
  private readonly state: Record<Family, FamilyState> = { ipv4: new Map(), ipv6: new Map() };
  private readonly variants: ReadonlySet<FakeVariant>;

  constructor(opts: { readonly variants?: readonly FakeVariant[] } = {}) {
    this.variants = new Set(opts.variants ?? ["nft", "legacy", "plain"]);
  }

  handles(cmd: string): boolean {
    const m = TOOL.exec(cmd);
    return m !== null && this.variants.has((m[2] ?? "plain") as FakeVariant);
  }

  run(cmd: string, args: readonly string[], stdin: string): ExecResult {
    const m = TOOL.exec(cmd);
    if (!m) return { code: 127, stdout: "", stderr: `${cmd}: not found` };
    const family: Family = m[1] === "ip6tables" ? "ipv6" : "ipv4";
    return m[3] === "save" ? this.save(cmd, family, args) : this.restore(cmd, family, args, stdin);
  }

  /**
   * Preloads state, as `restore` without `--noflush` would: each table in `saveText` is
   * replaced by its content (foreign chains and rules included). Throws an Error naming the
   * line on bad input.
   */
  seed(family: Family, saveText: string): void {
    const r = this.apply(`${family} seed`, family, saveText, false);
    if (r.code !== 0) throw new Error(r.stderr.trim());
  }

  /** The whole family in iptables-save format (tables in creation order, no counters). */
  dump(family: Family): string {
    return this.render(family, undefined);
  }

  private save(cmd: string, family: Family, args: readonly string[]): ExecResult {
    let only: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === "-t" || a === "--table") only = args[++i];
      else if (a !== "-c" && a !== "--counters") return { code: 2, stdout: "", stderr: `${cmd}: unknown option "${a}"\n` };
    }
    return { code: 0, stdout: this.render(family, only), stderr: "" };
  }

  private render(family: Family, only: string | undefined): string {
    const out: string[] = [];
    for (const [name, table] of this.state[family]) {
      if (only !== undefined && name !== only) continue;
      out.push("# Generated by fake iptables-save", `*${name}`);
      const builtins = [...table].filter(([, c]) => c.policy !== "-");
      const users = [...table].filter(([, c]) => c.policy === "-").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const ordered = [...builtins, ...users];
      for (const [n, c] of ordered) out.push(`:${n} ${c.policy} [0:0]`);
      for (const [n, c] of ordered) for (const r of c.rules) out.push(r.length > 0 ? `-A ${n} ${savedText(r)}` : `-A ${n}`);
      out.push("COMMIT", "# Completed");
    }
    return out.length > 0 ? out.join("\n") + "\n" : "";
  }

  private restore(cmd: string, family: Family, args: readonly string[], stdin: string): ExecResult {
    let noflush = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === "--noflush" || a === "-n") noflush = true;
      else if (a === "--wait" || a === "-w") {
        if (/^\d+$/.test(args[i + 1] ?? "")) i++;
      } else if (a.startsWith("--wait=")) continue;
      else return { code: 2, stdout: "", stderr: `${cmd}: unknown option "${a}"\n` };
    }
    return this.apply(cmd, family, stdin, noflush);
  }

  private apply(cmd: string, family: Family, text: string, noflush: boolean): ExecResult {
    const tables = this.state[family];
    const lines = text.split("\n");
    let work: { name: string; table: FakeTable } | undefined;
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1;
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      try {
        if (line.startsWith("*")) {
          if (work) throw new BlockError(`table ${line} inside *${work.name}`);
          const name = line.slice(1);
          const have = tables.get(name);
          work = { name, table: have && noflush ? cloneTable(have) : emptyTable(name) };
          if (have && !noflush) for (const [c, ch] of have) if (ch.policy !== "-") work.table.get(c)!.policy = ch.policy;
        } else if (!work) {
          throw new BlockError(`"${line}" outside a table`);
        } else if (line === "COMMIT") {
          tables.set(work.name, work.table);
          work = undefined;
        } else {
          this.command(work.table, family, line);
        }
      } catch (e) {
        if (!(e instanceof Error)) throw e;
        return { code: 1, stdout: "", stderr: `${cmd}: line ${n} failed: ${e.message}\n` };
      }
    }
    if (work) return { code: 1, stdout: "", stderr: `${cmd}: COMMIT expected at line ${text.endsWith("\n") ? lines.length : lines.length + 1}\n` };
    return { code: 0, stdout: "", stderr: "" };
  }

  /** One restore line other than `*table`/`COMMIT`, applied to the working copy. */
  private command(t: FakeTable, family: Family, line: string): void {
    if (line.startsWith(":")) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/.exec(line);
      if (!m) throw new BlockError(`bad chain line "${line}"`);
      const [, name, policy] = m as unknown as [string, string, string];
      const c = t.get(name);
      if (c && c.policy !== "-") {
        if (policy !== "-") setPolicy(c, policy);
      } else if (policy !== "-") {
        throw new BlockError("Can't set policy on user-defined chain");
      } else if (c) {
        c.rules = [];
      } else {
        newChain(t, name);
      }
      return;
    }
    const tokens = ruleTokens(line);
    const [op, chainName] = tokens;
    const rest = tokens.slice(2);
    const chain = chainName !== undefined ? t.get(chainName) : undefined;
    const needChain = (): FakeChain => {
      if (!chain) throw new BlockError("No chain/target/match by that name.");
      return chain;
    };
    switch (op) {
      case "-A":
      case "--append":
        needChain().rules.push(this.rule(t, family, rest));
        return;
      case "-I":
      case "--insert": {
        const c = needChain();
        let pos = 1;
        let spec = rest;
        if (/^\d+$/.test(rest[0] ?? "")) {
          pos = Number(rest[0]);
          spec = rest.slice(1);
        }
        if (pos < 1) throw new BlockError("Invalid rule number");
        if (pos > c.rules.length + 1) throw new BlockError("Index of insertion too big.");
        c.rules.splice(pos - 1, 0, this.rule(t, family, spec));
        return;
      }
      case "-D":
      case "--delete": {
        const c = needChain();
        if (rest.length === 1 && /^\d+$/.test(rest[0]!)) {
          const pos = Number(rest[0]);
          if (pos < 1 || pos > c.rules.length) throw new BlockError("Index of deletion too big.");
          c.rules.splice(pos - 1, 1);
          return;
        }
        const want = savedRule(family, rest).join("\0");
        const idx = c.rules.findIndex((r) => r.join("\0") === want);
        if (idx < 0) throw new BlockError("Bad rule (does a matching rule exist in that chain?).");
        c.rules.splice(idx, 1);
        return;
      }
      case "-F":
      case "--flush":
        if (chainName === undefined) for (const c of t.values()) c.rules = [];
        else needChain().rules = [];
        return;
      case "-N":
      case "--new-chain":
        if (chainName === undefined) throw new BlockError("-N requires a chain name");
        if (chain) throw new BlockError("Chain already exists.");
        newChain(t, chainName);
        return;
      case "-X":
      case "--delete-chain": {
        const names = chainName === undefined ? [...t].filter(([, c]) => c.policy === "-").map(([n]) => n) : [chainName];
        for (const name of names) deleteChain(t, name);
        return;
      }
      case "-P":
      case "--policy":
        if (!chain || chain.policy === "-") throw new BlockError("Bad built-in chain name");
        setPolicy(chain, rest[0] ?? "");
        return;
      default:
        throw new BlockError(`unknown command "${op ?? ""}"`);
    }
  }

  /** A rule's saved tokens; its jump target must exist. */
  private rule(t: FakeTable, family: Family, spec: readonly string[]): string[] {
    const saved = savedRule(family, spec);
    const { target } = ruleCommentAndTarget(saved);
    if (target !== undefined && !TARGETS.has(target)) {
      const c = t.get(target);
      if (!c || c.policy !== "-") throw new BlockError(`Chain '${target}' does not exist`);
    }
    return saved;
  }
}

function setPolicy(c: FakeChain, policy: string): void {
  if (!POLICIES.has(policy)) throw new BlockError(`Bad policy name "${policy}"`);
  c.policy = policy;
}

function newChain(t: FakeTable, name: string): void {
  if (name.length > 28 || name.startsWith("-") || name === "") throw new BlockError(`Invalid chain name \`${name}'`);
  if (TARGETS.has(name)) throw new BlockError(`chain name may not clash with target name`);
  t.set(name, { policy: "-", rules: [] });
}

function deleteChain(t: FakeTable, name: string): void {
  const c = t.get(name);
  if (!c) throw new BlockError("No chain/target/match by that name.");
  if (c.policy !== "-") throw new BlockError(`CHAIN_DEL failed (Device or resource busy): chain ${name}`);
  if (c.rules.length > 0) throw new BlockError(`CHAIN_DEL failed (Device or resource busy): chain ${name}`);
  for (const [other, oc] of t) {
    if (other === name) continue;
    if (oc.rules.some((r) => ruleCommentAndTarget(r).target === name)) {
      throw new BlockError(`CHAIN_DEL failed (Device or resource busy): chain ${name}`);
    }
  }
  t.delete(name);
}
