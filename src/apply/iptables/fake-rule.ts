/**
 * The fake's model of how iptables rewrites a rule between `-A` and iptables-save, so the
 * fake saves what the kernel would (and a renderer that emits a non-canonical form fails to
 * converge over the fake as it would over the kernel). It covers the rewrites recorded in
 * canonical.ts (a unit test checks the whole catalog against it); anything it does not know
 * (an unknown match module or target option) passes through unchanged. Pure.
 *
 * Modelled rewrites: `-s -d -i -o -p` first in that order, matches in the order written,
 * the target last; `-p` by name (`6`→tcp, `icmpv6`→ipv6-icmp, `all` dropped); addresses get
 * their prefix length and are masked to the network; a port/type option after `-p` without
 * its `-m <proto>` gets one where the option first appears; tcp/udp/sctp print `--sport`
 * before `--dport`; ICMP type names become numbers; `--limit 10/minute`→`10/min`; MARK
 * `--set-mark v[/m]`→`--set-xmark v/m` (mask 0xffffffff when absent), values in hex;
 * REJECT gets its default `--reject-with`; NFLOG prints `--nflog-prefix` before `--nflog-group`.
 *
 * @category apply
 */
import { addressBits, formatCidr, parseIp } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";

/** A rule the fake rejects, as iptables would; `message` is the tool's reason. */
export class RuleError extends Error {}

const GENERIC: Readonly<Record<string, string>> = {
  "-s": "-s", "--source": "-s", "--src": "-s",
  "-d": "-d", "--destination": "-d", "--dst": "-d",
  "-i": "-i", "--in-interface": "-i",
  "-o": "-o", "--out-interface": "-o",
  "-p": "-p", "--protocol": "-p",
};
const GENERIC_ORDER = ["-s", "-d", "-i", "-o", "-p"];

const PROTO_NAMES: Readonly<Record<string, string>> = {
  "6": "tcp", "17": "udp", "132": "sctp", "1": "icmp", "58": "ipv6-icmp", "icmpv6": "ipv6-icmp", "47": "gre", "50": "esp", "4": "ipencap",
};
/** The implicit match module of a protocol, and the options that load it. */
const PROTO_MODULE: Readonly<Record<string, string>> = { tcp: "tcp", udp: "udp", sctp: "sctp", icmp: "icmp", "ipv6-icmp": "icmp6" };
const PROTO_OPTIONS: ReadonlySet<string> = new Set(["--dport", "--sport", "--destination-port", "--source-port", "--tcp-flags", "--syn", "--tcp-option", "--icmp-type", "--icmpv6-type", "--chunk-types"]);
/** Options whose value is one token even when it starts with `-`. */
const ONE_VALUE: ReadonlySet<string> = new Set(["--comment", "--log-prefix", "--nflog-prefix"]);

const ICMP4: Readonly<Record<string, string>> = {
  "echo-reply": "0", "pong": "0", "destination-unreachable": "3", "source-quench": "4", "redirect": "5",
  "echo-request": "8", "ping": "8", "time-exceeded": "11", "ttl-exceeded": "11", "parameter-problem": "12",
  "network-unreachable": "3/0", "host-unreachable": "3/1", "protocol-unreachable": "3/2", "port-unreachable": "3/3",
  "fragmentation-needed": "3/4",
};
const ICMP6: Readonly<Record<string, string>> = {
  "destination-unreachable": "1", "packet-too-big": "2", "time-exceeded": "3", "ttl-exceeded": "3", "parameter-problem": "4",
  "echo-request": "128", "ping": "128", "echo-reply": "129", "pong": "129", "router-solicitation": "133",
  "router-advertisement": "134", "neighbour-solicitation": "135", "neighbor-solicitation": "135",
  "neighbour-advertisement": "136", "neighbor-advertisement": "136", "redirect": "137",
};
const LIMIT_UNITS: Readonly<Record<string, string>> = {
  s: "sec", sec: "sec", second: "sec", m: "min", min: "min", minute: "min", h: "hour", hour: "hour", d: "day", day: "day",
};

interface Opt { neg: boolean; name: string; values: string[] }
interface Segment { kind: "match" | "target"; flag: string; module: string; opts: Opt[] }

const isOptionToken = (t: string): boolean => t === "!" || (t.startsWith("-") && t.length > 1 && !/^-\d/.test(t));

/**
 * The tokens iptables-save would print for a rule written as `tokens` in `family`.
 * Throws RuleError for rules iptables refuses outright (a dangling `!`, a missing value,
 * an option before any match when no `-p` loads one, a comment over 256 characters,
 * a bad address).
 */
export function savedRule(family: Family, tokens: readonly string[]): string[] {
  const generic = new Map<string, Opt>();
  const segments: Segment[] = [];
  let cur: Segment | undefined;
  let proto: string | undefined;
  for (let i = 0; i < tokens.length; ) {
    let neg = false;
    if (tokens[i] === "!") {
      neg = true;
      i++;
    }
    const t = tokens[i];
    if (t === undefined) throw new RuleError("dangling \"!\"");
    const g = GENERIC[t];
    if (g !== undefined) {
      const v = tokens[i + 1];
      if (v === undefined) throw new RuleError(`option "${t}" requires an argument`);
      generic.set(g, { neg, name: g, values: [v] });
      if (g === "-p") proto = normProto(v);
      cur = cur?.kind === "target" ? undefined : cur;
      i += 2;
      continue;
    }
    if (t === "-m" || t === "--match" || t === "-j" || t === "--jump" || t === "-g" || t === "--goto") {
      const v = tokens[i + 1];
      if (v === undefined) throw new RuleError(`option "${t}" requires an argument`);
      const kind = t === "-m" || t === "--match" ? "match" : "target";
      cur = { kind, flag: kind === "match" ? "-m" : t === "-g" || t === "--goto" ? "-g" : "-j", module: v, opts: [] };
      segments.push(cur);
      i += 2;
      continue;
    }
    if (!t.startsWith("--")) throw new RuleError(`Bad argument \`${t}'`);
    // an option of the current segment, or of the protocol's implicit match
    let values: string[];
    if (ONE_VALUE.has(t)) {
      const v = tokens[i + 1];
      if (v === undefined) throw new RuleError(`option "${t}" requires an argument`);
      values = [v];
    } else {
      values = [];
      for (let k = i + 1; k < tokens.length && !isOptionToken(tokens[k]!); k++) values.push(tokens[k]!);
    }
    const protoModule = proto !== undefined ? PROTO_MODULE[proto] : undefined;
    let seg = cur;
    if (PROTO_OPTIONS.has(t) && !(cur?.kind === "match" && cur.module === protoModule)) {
      if (protoModule === undefined) throw new RuleError(`unknown option "${t}"`);
      seg = segments.find((s) => s.kind === "match" && s.module === protoModule);
      if (!seg) {
        seg = { kind: "match", flag: "-m", module: protoModule, opts: [] };
        segments.push(seg);
      }
    }
    if (!seg) throw new RuleError(`unknown option "${t}"`);
    seg.opts.push({ neg, name: t, values });
    cur = seg;
    i += 1 + values.length;
  }
  const out: string[] = [];
  for (const g of GENERIC_ORDER) {
    const o = generic.get(g);
    if (!o) continue;
    const v = g === "-s" || g === "-d" ? normAddress(family, o.values[0]!) : g === "-p" ? normProto(o.values[0]!) : o.values[0]!;
    if (g === "-p" && v === "all" && !o.neg) continue;
    out.push(...(o.neg ? ["!"] : []), g, v);
  }
  const matches = segments.filter((s) => s.kind === "match");
  const targets = segments.filter((s) => s.kind === "target");
  if (targets.length > 1) throw new RuleError("multiple -j flags not allowed");
  for (const s of [...matches, ...targets]) {
    out.push(s.flag, s.module);
    for (const o of normSegment(family, s)) out.push(...(o.neg ? ["!"] : []), o.name, ...o.values);
  }
  return out;
}

function normProto(p: string): string {
  const l = p.toLowerCase();
  return PROTO_NAMES[l] ?? l;
}

const hex = (v: string): string => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RuleError(`Bad MARK value "${v}"`);
  return `0x${n.toString(16)}`;
};
const markPair = (v: string, defaultMask: string): string => {
  const [val, mask] = v.split("/");
  return `${hex(val ?? "")}/${hex(mask ?? defaultMask)}`;
};

function normSegment(family: Family, s: Segment): Opt[] {
  const opts = s.opts.map((o) => ({ ...o, values: [...o.values] }));
  const rename = (o: Opt, name: string): Opt => ({ ...o, name });
  switch (s.module) {
    case "tcp": case "udp": case "sctp": {
      const named = opts.map((o) => (o.name === "--source-port" ? rename(o, "--sport") : o.name === "--destination-port" ? rename(o, "--dport") : o));
      const rank = (o: Opt): number => (o.name === "--sport" ? 0 : o.name === "--dport" ? 1 : 2);
      return named.sort((a, b) => rank(a) - rank(b));
    }
    case "icmp": case "icmp6": {
      const names = s.module === "icmp" ? ICMP4 : ICMP6;
      return opts.map((o) => ({ ...o, values: o.values.map((v) => names[v] ?? v) }));
    }
    case "comment":
      for (const o of opts) if ((o.values[0] ?? "").length > 256) throw new RuleError("COMMENT: comment may not exceed 256 characters");
      return opts;
    case "limit":
      return opts.map((o) => {
        if (o.name !== "--limit") return o;
        const [n, unit] = (o.values[0] ?? "").split("/");
        return { ...o, values: [`${n}/${LIMIT_UNITS[unit ?? "sec"] ?? unit}`] };
      });
    case "mark":
      return opts.map((o) => (o.name === "--mark" ? { ...o, values: o.values.map((v) => v.split("/").map(hex).join("/")) } : o));
    case "MARK":
      return opts.map((o) =>
        o.name === "--set-mark" || o.name === "--set-xmark" ? { neg: false, name: "--set-xmark", values: [markPair(o.values[0] ?? "", "0xffffffff")] } : o);
    case "REJECT":
      return opts.some((o) => o.name === "--reject-with")
        ? opts
        : [...opts, { neg: false, name: "--reject-with", values: [family === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable"] }];
    case "NFLOG": {
      const rank = (o: Opt): number => (o.name === "--nflog-prefix" ? 0 : o.name === "--nflog-group" ? 1 : 2);
      return opts.sort((a, b) => rank(a) - rank(b));
    }
    default:
      return opts;
  }
}

/**
 * `a.b.c.d[/len]` or an IPv6 address `[/len]`, as iptables-save prints it: the network
 * address (model/ip.ts canonical text) and the prefix length. Throws RuleError for an address
 * that is not of `family` or a length out of range.
 */
export function normAddress(family: Family, text: string): string {
  const [addr = "", lenText] = text.split("/");
  const a = parseIp(addr);
  if (a === undefined || a.family !== family) throw new RuleError(`host/network \`${addr}' not found`);
  const bits = addressBits(family);
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits) throw new RuleError(`invalid mask \`${lenText}' specified`);
  return formatCidr({ family, bytes: a.bytes, prefix: len });
}
