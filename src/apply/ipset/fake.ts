/**
 * FakeIpset: an in-memory ipset that interprets `ipset save` and `ipset restore [-exist]`
 * with the real tool's semantics (ipset 7.17, checked on a 6.18 kernel):
 *
 * - restore is NOT atomic. Lines run in order; consecutive add/del lines of one set and
 *   command are buffered and sent together when the command or set changes (or at the end).
 *   At the first failing line the tool stops with exit 1 and `Error in line N: …`: a parse
 *   error (bad member, unknown set for add/del, bad create line) discards the buffered lines,
 *   a kernel error keeps everything that ran before the failing line. An unknown argument
 *   (e.g. `del S 10.0.0.0/8 nomatch`) is a usage error: exit 2, no line number, buffer lost.
 * - create of an existing set: an error unless `-exist` and the same type and timeout
 *   (hashsize and, as in the kernel, family are not compared);
 * - add of a present member / del of an absent one: an error unless `-exist`; `add -exist`
 *   rewrites the member's `nomatch` flag; `del` takes no flags;
 * - add/del/flush/swap on a missing set: an error (also with `-exist`); destroy of a missing
 *   set is fine with `-exist`;
 * - swap needs the same type and family; the names (and so the references) stay put;
 * - within one restore, add/del lines are parsed with the family of the set's last `create`
 *   line in that restore (the tool's header cache), even when `-exist` kept the kernel set's
 *   other family: an IPv4 member then fails to parse, an IPv6 one fails in the kernel;
 * - destroy of a set marked referenced (`reference`, as an iptables rule would) is an error.
 *
 * Members of modelled types are stored in canonical form (members.ts), so the fake accepts
 * and rewrites input as the tool does. Per-member timeouts are not kept.
 *
 * @category apply
 */
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import { IPSET_TYPE_PARTS, canonicalMember, isIpsetType, memberElement } from "../../model/ipset-members.ts";
import { splitIpsetLine } from "./parse.ts";

interface FakeSet {
  type: string;
  family: "inet" | "inet6";
  timeout?: number;
  initval: number;
  /** element → nomatch */
  members: Map<string, boolean>;
}

/** A line's kernel action: returns an error message or undefined. */
type Action = () => string | undefined;
/** A line's userspace outcome: an error (`usage`: the tool exits 2 without a line number) or a kernel action. */
type Parsed = { readonly error: string; readonly usage?: true } | { readonly batch?: string; readonly action: Action };

const CREATE_VALUE_OPTS: ReadonlySet<string> = new Set(["hashsize", "maxelem", "bucketsize", "initval"]);
const CREATE_FLAGS: ReadonlySet<string> = new Set(["counters", "comment", "skbinfo", "forceadd"]);
const KNOWN_TYPES: ReadonlySet<string> = new Set([
  "hash:ip", "hash:net", "hash:ip,port", "hash:ip,port,ip", "hash:ip,port,net", "hash:net,port", "hash:net,iface",
  "hash:mac", "hash:ip,mac", "hash:net,net", "hash:net,port,net", "hash:ip,mark", "bitmap:ip", "bitmap:port", "bitmap:ip,mac", "list:set",
]);

export class FakeIpset implements FakeTool {
  private sets = new Map<string, FakeSet>();
  private readonly refs = new Set<string>();
  private created = 0;

  handles(cmd: string, args: readonly string[]): boolean {
    return cmd === "ipset" && (args[0] === "save" || args[0] === "restore");
  }

  run(_cmd: string, args: readonly string[], stdin: string): ExecResult {
    if (args[0] === "save") {
      if (args.length > 2) return usage(`Unknown argument ${args[2]}`);
      const name = args[1];
      if (name !== undefined && !this.sets.has(name)) return { code: 1, stdout: "", stderr: "ipset v7.17: The set with the given name does not exist\n" };
      return { code: 0, stdout: this.saveText(name), stderr: "" };
    }
    const extra = args.slice(1).filter((a) => a !== "-exist");
    if (extra.length > 0) return usage(`Unknown argument ${extra[0]}`);
    return this.restore(stdin, args.includes("-exist"));
  }

  /** Adds the sets of an `ipset save` dump (any type; modelled types' members canonicalised). */
  seed(saveText: string): void {
    for (const [i, raw] of saveText.split("\n").entries()) {
      const line = raw.trim();
      if (line === "") continue;
      const [verb, name, arg, ...rest] = splitIpsetLine(line);
      const fail = (why: string): never => {
        throw new Error(`FakeIpset.seed line ${i + 1}: ${why}: ${line}`);
      };
      if (name === undefined || arg === undefined) fail("expected create/add NAME …");
      if (verb === "create") {
        if (this.sets.has(name!)) fail("set exists");
        const opt = (k: string): string | undefined => {
          const j = rest.indexOf(k);
          return j >= 0 ? rest[j + 1] : undefined;
        };
        const timeout = opt("timeout");
        this.sets.set(name!, {
          type: arg!, family: opt("family") === "inet6" ? "inet6" : "inet", initval: this.nextInitval(),
          ...(timeout !== undefined ? { timeout: Number(timeout) } : {}), members: new Map(),
        });
      } else if (verb === "add") {
        const set = this.sets.get(name!) ?? fail("add before create");
        const nomatch = rest.includes("nomatch");
        const el = isIpsetType(set.type) ? memberElement(canonicalMember(set.type, set.family, arg!)) : arg!;
        set.members.set(el, nomatch);
      } else fail(`unknown command ${verb ?? ""}`);
    }
  }

  /** The whole state as `ipset save` prints it, sets and members sorted. */
  dump(): string {
    return this.saveText(undefined);
  }

  /** True if a set of this name exists. */
  has(name: string): boolean {
    return this.sets.has(name);
  }

  /** Marks a set as used by a kernel component (an iptables rule): destroy then fails. */
  reference(name: string): void {
    this.refs.add(name);
  }

  unreference(name: string): void {
    this.refs.delete(name);
  }

  private nextInitval(): number {
    // deterministic stand-in for the kernel's random initval
    return (Math.imul(++this.created, 0x9e3779b1) >>> 0);
  }

  private saveText(only: string | undefined): string {
    const names = [...this.sets.keys()].filter((n) => only === undefined || n === only).sort();
    let out = "";
    for (const name of names) {
      const s = this.sets.get(name)!;
      const timeout = s.timeout !== undefined ? ` timeout ${s.timeout}` : "";
      out += `create ${name} ${s.type} family ${s.family} hashsize 1024 maxelem 65536${timeout} bucketsize 12 initval 0x${s.initval.toString(16).padStart(8, "0")}\n`;
      for (const el of [...s.members.keys()].sort()) {
        out += `add ${name} ${el}${s.timeout !== undefined ? " timeout 0" : ""}${s.members.get(el) ? " nomatch" : ""}\n`;
      }
    }
    return out;
  }

  private restore(stdin: string, exist: boolean): ExecResult {
    let pending: { key: string; ops: { line: number; action: Action }[] } | undefined;
    const cache = new Map<string, "inet" | "inet6">(); // the tool's per-restore header cache
    const failAt = (line: number, msg: string): ExecResult => ({ code: 1, stdout: "", stderr: `ipset v7.17: Error in line ${line}: ${msg}\n` });
    const send = (): ExecResult | undefined => {
      const ops = pending?.ops ?? [];
      pending = undefined;
      for (const op of ops) {
        const err = op.action();
        if (err !== undefined) return failAt(op.line, err);
      }
      return undefined;
    };
    const lines = stdin.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#") || line === "COMMIT") continue;
      const parsed = this.parseLine(line, exist, cache);
      if ("error" in parsed) return parsed.usage ? usage(parsed.error) : failAt(i + 1, parsed.error); // buffered lines are discarded
      if (parsed.batch !== undefined) {
        if (pending !== undefined && pending.key !== parsed.batch) {
          const r = send();
          if (r) return r;
        }
        pending ??= { key: parsed.batch, ops: [] };
        pending.ops.push({ line: i + 1, action: parsed.action });
        continue;
      }
      const r = send();
      if (r) return r;
      const err = parsed.action();
      if (err !== undefined) return failAt(i + 1, err);
    }
    return send() ?? { code: 0, stdout: "", stderr: "" };
  }

  /** Userspace part of one line: syntax and set lookups; the returned action is the kernel part. */
  private parseLine(line: string, exist: boolean, cache: Map<string, "inet" | "inet6">): Parsed {
    let tokens: string[];
    try {
      tokens = splitIpsetLine(line);
    } catch (e) {
      return { error: `Syntax error: ${(e as Error).message}` };
    }
    const [verb, ...args] = tokens;
    switch (verb) {
      case "create":
        return this.parseCreate(args, exist, cache);
      case "add":
      case "del":
        return this.parseMemberCmd(verb, args, exist, cache);
      case "flush":
        if (args.length > 1) return { error: `Syntax error: Unknown argument ${args[1]}` };
        return { action: () => this.flush(args[0]) };
      case "destroy":
        if (args.length > 1) return { error: `Syntax error: Unknown argument ${args[1]}` };
        return {
          action: () => {
            const err = this.destroy(args[0], exist);
            if (err === undefined) args[0] === undefined ? cache.clear() : cache.delete(args[0]);
            return err;
          },
        };
      case "swap": {
        if (args.length !== 2) return { error: "Syntax error: swap needs two set names" };
        const [a, b] = [args[0]!, args[1]!];
        return {
          action: () => {
            const err = this.swap(a, b);
            if (err === undefined) {
              const [ca, cb] = [cache.get(a), cache.get(b)];
              cache.delete(a);
              cache.delete(b);
              if (cb !== undefined) cache.set(a, cb);
              if (ca !== undefined) cache.set(b, ca);
            }
            return err;
          },
        };
      }
      default:
        return { error: `fake ipset: command ${verb ?? ""} not supported` };
    }
  }

  private parseCreate(args: readonly string[], exist: boolean, cache: Map<string, "inet" | "inet6">): Parsed {
    const [name, type, ...opts] = args;
    if (name === undefined || type === undefined) return { error: "Syntax error: create needs a set name and a type" };
    if (name.length > 31) return { error: `Syntax error: setname '${name}' is longer than 31 characters` };
    if (!KNOWN_TYPES.has(type)) return { error: `Syntax error: typename '${type}' is unknown` };
    let family: "inet" | "inet6" = "inet";
    let timeout: number | undefined;
    for (let j = 0; j < opts.length; j++) {
      const o = opts[j]!;
      if (CREATE_FLAGS.has(o)) continue;
      const v = opts[++j];
      if (v === undefined) return { error: `Syntax error: option ${o} needs a value` };
      if (o === "family") {
        if (v !== "inet" && v !== "inet6") return { error: `Syntax error: unknown family ${v}` };
        family = v;
      } else if (o === "timeout") {
        if (!/^\d+$/.test(v)) return { error: `Syntax error: '${v}' is invalid as number` };
        timeout = Number(v);
      } else if (!CREATE_VALUE_OPTS.has(o)) return { error: `fake ipset: create option ${o} not supported` };
    }
    return {
      action: () => {
        const have = this.sets.get(name);
        if (have !== undefined) {
          if (!exist || have.type !== type || have.timeout !== timeout) return "Set cannot be created: set with the same name already exists";
        } else this.sets.set(name, { type, family, ...(timeout !== undefined ? { timeout } : {}), initval: this.nextInitval(), members: new Map() });
        cache.set(name, family);
        return undefined;
      },
    };
  }

  private parseMemberCmd(verb: "add" | "del", args: readonly string[], exist: boolean, cache: ReadonlyMap<string, "inet" | "inet6">): Parsed {
    const [name, member, ...opts] = args;
    if (name === undefined || member === undefined) return { error: `Syntax error: ${verb} needs a set name and an element` };
    const set = this.sets.get(name);
    if (set === undefined) return { error: "The set with the given name does not exist" };
    let nomatch = false;
    let timed = false;
    for (let j = 0; j < opts.length; j++) {
      const o = opts[j]!;
      if (verb === "add" && o === "nomatch" && (!isIpsetType(set.type) || IPSET_TYPE_PARTS[set.type].includes("net"))) nomatch = true;
      else if (verb === "add" && o === "timeout") {
        if (!/^\d+$/.test(opts[++j] ?? "")) return { error: "Missing mandatory argument of option `timeout'", usage: true };
        timed = true;
      } else return { error: `Unknown argument: \`${o}'`, usage: true };
    }
    let element = member;
    const family = cache.get(name) ?? set.family;
    if (isIpsetType(set.type)) {
      try {
        element = memberElement(canonicalMember(set.type, family, nomatch ? `${member} nomatch` : member));
      } catch (e) {
        return { error: `Syntax error: ${(e as Error).message}` };
      }
    }
    const action: Action = () => {
      const s = this.sets.get(name);
      if (s === undefined) return "The set with the given name does not exist";
      if (s.family !== family) return "Kernel error received: ipset protocol error";
      if (timed && s.timeout === undefined) return "Timeout cannot be used: set was created without timeout support";
      if (verb === "add") {
        if (s.members.has(element) && !exist) return "Element cannot be added to the set: it's already added";
        s.members.set(element, nomatch);
      } else {
        if (!s.members.has(element) && !exist) return "Element cannot be deleted from the set: it's not added";
        s.members.delete(element);
      }
      return undefined;
    };
    return { batch: `${verb} ${name}`, action };
  }

  private flush(name: string | undefined): string | undefined {
    if (name === undefined) {
      for (const s of this.sets.values()) s.members.clear();
      return undefined;
    }
    const s = this.sets.get(name);
    if (s === undefined) return "The set with the given name does not exist";
    s.members.clear();
    return undefined;
  }

  private destroy(name: string | undefined, exist: boolean): string | undefined {
    const busy = "Set cannot be destroyed: it is in use by a kernel component";
    if (name === undefined) {
      if ([...this.sets.keys()].some((n) => this.refs.has(n))) return busy;
      this.sets.clear();
      return undefined;
    }
    if (!this.sets.has(name)) return exist ? undefined : "The set with the given name does not exist";
    if (this.refs.has(name)) return busy;
    this.sets.delete(name);
    return undefined;
  }

  private swap(from: string, to: string): string | undefined {
    const a = this.sets.get(from);
    if (a === undefined) return "The set with the given name does not exist";
    const b = this.sets.get(to);
    if (b === undefined) return "Sets cannot be swapped: the second set does not exist";
    if (a.type !== b.type || a.family !== b.family) return "The sets cannot be swapped: their type does not match";
    this.sets.set(from, b);
    this.sets.set(to, a);
    return undefined;
  }
}

function usage(msg: string): ExecResult {
  return { code: 2, stdout: "", stderr: `ipset v7.17: ${msg}\nTry \`ipset help' for more information.\n` };
}
