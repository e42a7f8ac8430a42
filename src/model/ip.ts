/**
 * The one IP module: parsing, canonical text, CIDRs and prefixes, containment, family.
 * Every layer (config validation, the snapshot projection, renderers, drivers, fakes) uses
 * it; nothing else in src/ parses or prints addresses. Pure; no imports but a type.
 *
 * Parsing follows Go's `net.ParseIP` / `net.ParseCIDR` (what upstream kube-router uses) with
 * one deliberate difference: the family of an address is decided by its syntax, so the
 * IPv4-mapped `::ffff:1.2.3.4` is an IPv6 address here (Go reports it as IPv4).
 *
 * - IPv4: exactly four decimal parts 0–255, no leading zeros (`10.01.0.1` is rejected, as by
 *   Go; the kernel tools would read `010` as octal, so accepting it would misread it).
 * - IPv6: RFC 4291 text, hex groups of 1–4 digits (either case), at most one `::` standing for
 *   at least one zero group, an optional trailing dotted IPv4 part; zones (`%eth0`) and
 *   brackets are rejected.
 * - CIDR (`parseCidr`): `address/bits`, bits 1–3 decimal digits within 0..32 or 0..128; host
 *   bits may be set (as in Go). A prefix (`parsePrefix`) is the same but the `/bits` may be
 *   left out (a host prefix), as `ip` reads it.
 *
 * Canonical text is exactly what glibc's `inet_ntop` prints, so what `ip`, `iptables-save`,
 * `ipset save` and `ipvsadm` print (checked against `ip` and `ipset` on a 6.18 kernel):
 * IPv4 dotted decimal; IPv6 lowercase without leading zeros, the longest run of two or more
 * zero groups (the first on a tie) as `::`, a single zero group written `0`, and the last 32
 * bits in dotted form when the first 80 bits are zero and the next 16 are `ffff`
 * (`::ffff:10.0.0.1`) or all of the first 96 bits are zero and the next 16 are not
 * (`::10.0.0.2`, but `::1`, `::2:3` hex).
 *
 * Guarantees: a valid text's canonical form parses to the same bytes; canonicalising is
 * idempotent; a valid IPv4 text is already canonical.
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

/** A parsed CIDR or prefix: the address as written (host bits kept) and the prefix length. */
export interface Cidr {
  readonly family: Family;
  readonly bytes: readonly number[];
  readonly prefix: number;
}

/** The address width of a family: 32 or 128. */
export const addressBits = (family: Family): number => (family === "ipv4" ? 32 : 128);

const DOT = 46;
const COLON = 58;

/** Decimal IPv4 in text[from, to) into out[at..at+4); false unless exactly valid. */
/** Bytes a validity check scans into and throws away (single-threaded: never held across calls). */
const SCRATCH = [0, 0, 0, 0];

function scanIPv4(text: string, from: number, to: number, out: number[], at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = from; i <= to; i++) {
    const c = i < to ? text.charCodeAt(i) : DOT;
    if (c >= 48 && c <= 57) {
      if (digits === 1 && lead0) return false;
      if (digits === 0) lead0 = c === 48;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (c === DOT) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/** IPv6 text into 8 16-bit words; undefined unless exactly valid (see the module comment). */
function scanIPv6(text: string): number[] | undefined {
  const len = text.length;
  if (len < 2 || len > 45) return undefined;
  const w: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined;
    gap = 0;
    i = 2;
    if (len === 2) return w;
  }
  for (;;) {
    const start = i;
    let value = 0;
    let h: number;
    while (i < len && i - start < 4 && (h = hexValue(text.charCodeAt(i))) >= 0) {
      value = value * 16 + h;
      i++;
    }
    if (i < len && text.charCodeAt(i) === DOT) {
      // the dotted IPv4 tail: the rest of the text, in place of two words
      if (n > 6) return undefined;
      const v4: number[] = [0, 0, 0, 0];
      if (!scanIPv4(text, start, len, v4, 0)) return undefined;
      w[n++] = (v4[0]! << 8) | v4[1]!;
      w[n++] = (v4[2]! << 8) | v4[3]!;
      break;
    }
    if (i === start || n === 8) return undefined;
    w[n++] = value;
    if (i === len) break;
    if (text.charCodeAt(i) !== COLON) return undefined;
    i++;
    if (i < len && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return undefined;
      gap = n;
      i++;
      if (i === len) break;
    }
  }
  if (gap < 0) return n === 8 ? w : undefined;
  if (n > 7) return undefined;
  // move the words after `::` to the end, zeros in between
  const tail = n - gap;
  for (let k = 1; k <= tail; k++) {
    w[8 - k] = w[n - k]!;
    w[n - k] = 0;
  }
  for (let k = gap; k < 8 - tail; k++) w[k] = 0;
  return w;
}

function wordsToBytes(w: readonly number[]): number[] {
  const b = new Array<number>(16);
  for (let i = 0; i < 8; i++) {
    b[2 * i] = w[i]! >> 8;
    b[2 * i + 1] = w[i]! & 0xff;
  }
  return b;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is not exactly one valid address. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const w = scanIPv6(text);
    return w ? { family: "ipv6", bytes: wordsToBytes(w) } : undefined;
  }
  const bytes = [0, 0, 0, 0];
  return scanIPv4(text, 0, text.length, bytes, 0) ? { family: "ipv4", bytes } : undefined;
}

/** The family of a valid address, else undefined. */
export function ipFamily(text: string): Family | undefined {
  if (text.includes(":")) return scanIPv6(text) ? "ipv6" : undefined;
  return scanIPv4(text, 0, text.length, SCRATCH, 0) ? "ipv4" : undefined;
}
/** True for a valid IPv4 or IPv6 address. */
export const isIp = (text: string): boolean => ipFamily(text) !== undefined;
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

/** glibc `inet_ntop(AF_INET6)` of 8 words (see the module comment). */
function formatWords(w: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestAt = -1;
  const dotted = bestAt === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff));
  const hexEnd = dotted ? 6 : 8;
  let out = "";
  for (let i = 0; i < hexEnd; i++) {
    if (i === bestAt) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += w[i]!.toString(16);
  }
  if (dotted) out += `${out.endsWith(":") ? "" : ":"}${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
  return out;
}

function bytesToWords(b: readonly number[]): number[] {
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = (b[2 * i]! << 8) | b[2 * i + 1]!;
  return w;
}

/** Canonical text of a parsed address (see the module comment). */
export function formatIp(addr: IpAddress): string {
  const b = addr.bytes;
  return addr.family === "ipv4" ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : formatWords(bytesToWords(b));
}

/** Canonical text of an address given as text; undefined when invalid. A valid IPv4 text is returned as is. */
export function canonicalIp(text: string): string | undefined {
  if (!text.includes(":")) return scanIPv4(text, 0, text.length, SCRATCH, 0) ? text : undefined;
  const w = scanIPv6(text);
  return w ? formatWords(w) : undefined;
}

/** True when two addresses are the same (same family, same bytes). */
export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  if (a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** True for the unspecified address (`0.0.0.0`, `::`). */
export const isUnspecified = (a: IpAddress): boolean => a.bytes.every((b) => b === 0);
/** True for the IPv6 link-local block `fe80::/10` (never for IPv4). */
export const isLinkLocal = (a: IpAddress): boolean => a.family === "ipv6" && a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80;
/** True for a loopback address: `127.0.0.0/8` or `::1`. */
export const isLoopback = (a: IpAddress): boolean =>
  a.family === "ipv4" ? a.bytes[0] === 127 : a.bytes[15] === 1 && a.bytes.every((b, i) => i === 15 || b === 0);

/** `/bits` text (1–3 decimal digits) within `max`; -1 when invalid. */
function parseBits(text: string, from: number, max: number): number {
  const n = text.length - from;
  if (n < 1 || n > 3) return -1;
  let v = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= max ? v : -1;
}

/**
 * Parses `address/bits` like Go's `net.ParseCIDR`: a bare address (no `/`) is not a CIDR;
 * bits are decimal digits within the family's width. Undefined when invalid.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  return slash < 0 ? undefined : parseWithBits(text, slash);
}

/**
 * Parses a prefix as `ip` reads it: `address[/bits]`, a bare address being a host prefix
 * (/32 or /128); host bits are kept. Undefined when invalid.
 */
export function parsePrefix(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash >= 0) return parseWithBits(text, slash);
  const a = parseIp(text);
  return a ? { family: a.family, bytes: a.bytes, prefix: addressBits(a.family) } : undefined;
}

function parseWithBits(text: string, slash: number): Cidr | undefined {
  const addr = parseIp(text.slice(0, slash));
  if (!addr) return undefined;
  const prefix = parseBits(text, slash + 1, addressBits(addr.family));
  return prefix < 0 ? undefined : { family: addr.family, bytes: addr.bytes, prefix };
}

/** True for a valid `address/bits`. */
export const isCidr = (text: string): boolean => parseCidr(text) !== undefined;

/** The family of a valid CIDR, else undefined. */
export function cidrFamily(text: string): Family | undefined {
  return parseCidr(text)?.family;
}

/** The bits of byte `i` kept by a prefix of `prefix` bits. */
const byteMask = (prefix: number, i: number): number => {
  const bits = prefix - i * 8;
  return bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
};

/** The network (host bits cleared) of a parsed CIDR, as an address. */
export function cidrNetwork(c: Cidr): IpAddress {
  return { family: c.family, bytes: c.bytes.map((b, i) => b & byteMask(c.prefix, i)) };
}

/** True when the prefix has bits set beyond its length (`10.0.0.5/24`). */
export function hasHostBits(c: Cidr): boolean {
  return c.bytes.some((b, i) => (b & ~byteMask(c.prefix, i) & 0xff) !== 0);
}

/** Canonical `network/bits` text of a parsed CIDR (host bits cleared, like Go's `IPNet.String`). */
export function formatCidr(c: Cidr): string {
  return `${formatIp(cidrNetwork(c))}/${c.prefix}`;
}

/** Canonical `address/bits` text of a parsed prefix, host bits kept (as `ip` prints an address). */
export function formatPrefix(c: Cidr): string {
  return `${formatIp(c)}/${c.prefix}`;
}

/** Canonical `network/bits` text of a CIDR given as text; undefined when invalid. */
export function canonicalCidr(text: string): string | undefined {
  if (!text.includes(":")) {
    // IPv4 without allocating: an already canonical text (the common case) is returned as is
    const slash = text.indexOf("/");
    const b = SCRATCH;
    if (slash < 0 || !scanIPv4(text, 0, slash, b, 0)) return undefined;
    const bits = parseBits(text, slash + 1, 32);
    if (bits < 0) return undefined;
    let hostBits = false;
    for (let i = 0; i < 4; i++) if ((b[i]! & ~byteMask(bits, i) & 0xff) !== 0) hostBits = true;
    if (!hostBits && text.length - slash - 1 === (bits < 10 ? 1 : 2)) return text;
  }
  const c = parseCidr(text);
  return c ? formatCidr(c) : undefined;
}

/** Canonical `address/bits` of a prefix text (a bare address gets /32 or /128, host bits kept); undefined when invalid. */
export function canonicalPrefix(text: string): string | undefined {
  if (!text.includes(":")) {
    // IPv4 without allocating: an already canonical `a.b.c.d/n` (the common case) is returned as is
    const slash = text.indexOf("/");
    if (slash >= 0 && scanIPv4(text, 0, slash, SCRATCH, 0)) {
      const bits = parseBits(text, slash + 1, 32);
      if (bits >= 0 && text.length - slash - 1 === (bits < 10 ? 1 : 2)) return text;
    }
  }
  const p = parsePrefix(text);
  return p ? formatPrefix(p) : undefined;
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
  for (let i = 0; i < c.bytes.length; i++) {
    const m = byteMask(c.prefix, i);
    if (m === 0) return true;
    if (((c.bytes[i]! ^ a.bytes[i]!) & m) !== 0) return false;
  }
  return true;
}
