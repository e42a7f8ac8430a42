/**
 * IP address and CIDR helpers: strict parsing, family, canonical text, containment.
 * Pure; used by config validation, the snapshot projection and the renderers.
 *
 * Parsing follows Go's `net.ParseIP` / `net.ParseCIDR` (what upstream kube-router uses) with
 * one deliberate difference: the family of an address is decided by its syntax, so the
 * IPv4-mapped `::ffff:1.2.3.4` is an IPv6 address here (Go reports it as IPv4).
 *
 * - IPv4: exactly four decimal parts 0–255, no leading zeros (`10.01.0.1` is rejected, as by Go).
 * - IPv6: RFC 4291 text, hex groups of 1–4 digits, at most one `::` standing for at least one
 *   zero group, an optional trailing dotted IPv4 part; zones (`%eth0`) are rejected.
 * - CIDR: `address/bits`, bits decimal in 0..32 or 0..128; host bits may be set (as in Go).
 *
 * Canonical text: IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase, no leading zeros, the
 * longest run of two or more zero groups — the first on a tie — compressed to `::`), with
 * IPv4-mapped addresses written `::ffff:a.b.c.d` (RFC 5952 §5). This is also what glibc's
 * `inet_ntop` (so `ip`, `iptables-save`, `ipset`) prints, except for the deprecated
 * IPv4-compatible block `::/96`, which glibc prints in dotted form and we print in hex.
 *
 * @category models
 */
import type { Family } from "./state.ts";

export type { Family } from "./state.ts";

/** A parsed address: 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
export interface IpAddress {
  readonly family: Family;
  readonly bytes: readonly number[];
}

/** A parsed CIDR: the address as written (host bits kept) and the prefix length. */
export interface Cidr {
  readonly family: Family;
  readonly bytes: readonly number[];
  readonly prefix: number;
}

const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!IPV4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Parses one side of `::` into 16-bit words; the last group may be dotted IPv4 if `lastMayBeV4`. */
function parseGroups(text: string, lastMayBeV4: boolean): number[] | undefined {
  if (text === "") return [];
  const groups = text.split(":");
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? "";
    if (i === groups.length - 1 && lastMayBeV4 && g.includes(".")) {
      const v4 = parseIPv4Bytes(g);
      if (!v4) return undefined;
      words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!IPV6_GROUP.test(g)) return undefined;
    words.push(parseInt(g, 16));
  }
  return words;
}

function parseIPv6Bytes(text: string): number[] | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split("::");
  let words: number[];
  if (halves.length === 1) {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    words = all;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? "", false);
    const tail = parseGroups(halves[1] ?? "", true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    return undefined;
  }
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >> 8, w & 0xff);
  return bytes;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is not exactly one valid address. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const bytes = parseIPv6Bytes(text);
    return bytes ? { family: "ipv6", bytes } : undefined;
  }
  const bytes = parseIPv4Bytes(text);
  return bytes ? { family: "ipv4", bytes } : undefined;
}

/** The family of a valid address, else undefined. */
export function ipFamily(text: string): Family | undefined {
  return parseIp(text)?.family;
}
/** True for a valid IPv4 or IPv6 address. */
export const isIp = (text: string): boolean => parseIp(text) !== undefined;
/** True for a valid IPv4 address (dotted decimal). */
export const isIPv4 = (text: string): boolean => ipFamily(text) === "ipv4";
/** True for a valid IPv6 address (IPv4-mapped included). */
export const isIPv6 = (text: string): boolean => ipFamily(text) === "ipv6";

/** True for an IPv6 address in `::ffff:0:0/96`. */
export function isIPv4Mapped(addr: IpAddress): boolean {
  if (addr.family !== "ipv6") return false;
  for (let i = 0; i < 10; i++) if (addr.bytes[i] !== 0) return false;
  return addr.bytes[10] === 0xff && addr.bytes[11] === 0xff;
}

function formatIPv6(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  const mapped = isIPv4Mapped({ family: "ipv6", bytes });
  const hexWords = mapped ? 6 : 8;
  // Longest run (>= 2) of zero words, the first on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < hexWords; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < hexWords && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  const hex = (from: number, to: number): string => words.slice(from, to).map((w) => w.toString(16)).join(":");
  let out: string;
  if (bestStart < 0) out = hex(0, hexWords);
  else out = `${hex(0, bestStart)}::${hex(bestStart + bestLen, hexWords)}`;
  if (mapped) {
    const v4 = bytes.slice(12, 16).join(".");
    out = out.endsWith(":") ? `${out}${v4}` : `${out}:${v4}`;
  }
  return out;
}

/** Canonical text of a parsed address (see the module comment). */
export function formatIp(addr: IpAddress): string {
  return addr.family === "ipv4" ? addr.bytes.join(".") : formatIPv6(addr.bytes);
}

/** Canonical text of an address given as text; undefined when invalid. */
export function canonicalIp(text: string): string | undefined {
  const a = parseIp(text);
  return a ? formatIp(a) : undefined;
}

/**
 * Parses `address/bits` like Go's `net.ParseCIDR`: a bare address (no `/`) is not a CIDR;
 * bits are decimal digits within the family's width. Undefined when invalid.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!addr || !/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  const prefix = Number(bitsText);
  if (prefix > addr.bytes.length * 8) return undefined;
  return { family: addr.family, bytes: addr.bytes, prefix };
}

/** True for a valid `address/bits`. */
export const isCidr = (text: string): boolean => parseCidr(text) !== undefined;

/** The family of a valid CIDR, else undefined. */
export function cidrFamily(text: string): Family | undefined {
  return parseCidr(text)?.family;
}

function maskBytes(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/** The network (host bits cleared) of a parsed CIDR, as an address. */
export function cidrNetwork(c: Cidr): IpAddress {
  return { family: c.family, bytes: maskBytes(c.bytes, c.prefix) };
}

/** Canonical `network/bits` text of a parsed CIDR (host bits cleared, like Go's `IPNet.String`). */
export function formatCidr(c: Cidr): string {
  return `${formatIp(cidrNetwork(c))}/${c.prefix}`;
}

/** Canonical `network/bits` text of a CIDR given as text; undefined when invalid. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatCidr(c) : undefined;
}

/** Canonical text of the network address of a CIDR (`10.1.2.3/16` → `10.1.0.0`); undefined when invalid. */
export function networkAddress(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatIp(cidrNetwork(c)) : undefined;
}

/**
 * True when `ip` lies in `cidr`. False when either is invalid or their families differ
 * (an IPv4-mapped IPv6 address is not inside an IPv4 CIDR).
 */
export function cidrContains(cidr: string | Cidr, ip: string | IpAddress): boolean {
  const c = typeof cidr === "string" ? parseCidr(cidr) : cidr;
  const a = typeof ip === "string" ? parseIp(ip) : ip;
  if (!c || !a || c.family !== a.family) return false;
  const net = maskBytes(c.bytes, c.prefix);
  const masked = maskBytes(a.bytes, c.prefix);
  return net.every((b, i) => b === masked[i]);
}
