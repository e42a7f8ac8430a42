/**
 * Value parsers of the BGP renderer, shaped after what upstream kube-router accepts (Go's
 * `strconv.ParseUint`, `base64.StdEncoding`, GoBGP's community syntax). Pure; each returns
 * undefined for an unusable value and never throws, so callers turn that into one warning.
 *
 * @category render
 */
import { parseIp } from "../../model/ip.ts";

/**
 * An unsigned integer no larger than `max`, as Go's `strconv.ParseUint(text, base, …)`:
 * base 10, or with `autoBase` Go's base 0 (`0x…` hex, `0o…`/leading `0` octal, `0b…` binary,
 * `_` separators between digits).
 */
export function parseUint(text: string, max: number, autoBase = false): number | undefined {
  const t = text.trim();
  let digits = t;
  let base = 10;
  if (autoBase) {
    if (/^0[xX]/.test(t)) { base = 16; digits = t.slice(2); }
    else if (/^0[oO]/.test(t)) { base = 8; digits = t.slice(2); }
    else if (/^0[bB]/.test(t)) { base = 2; digits = t.slice(2); }
    else if (/^0[0-9_]/.test(t)) { base = 8; digits = t.slice(1); }
    if (/^_|__|_$/.test(digits)) return undefined;
    digits = digits.replace(/_/g, "");
  }
  const alphabet = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!alphabet.test(digits)) return undefined;
  const n = parseInt(digits, base);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

export const UINT32_MAX = 0xffffffff;

/** Upstream's non-reserved ASNs for external peers (0, 23456, 64000–64511, 65535, … rejected). */
export function isPeerAsn(asn: number): boolean {
  return Number.isInteger(asn) && (
    (asn >= 1 && asn <= 23455) ||
    (asn >= 23457 && asn <= 63999) ||
    (asn >= 64512 && asn <= 65534) ||
    (asn >= 131072 && asn <= 4199999999) ||
    (asn >= 4200000000 && asn <= 4294967294));
}

/** A usable ASN for this node (`node.asn`): any non-reserved ASN, as for peers. */
export const isNodeAsn = isPeerAsn;

/**
 * Decodes standard base64 with padding (Go's `base64.StdEncoding`) to a UTF-8 string;
 * undefined when `text` is not base64. The empty string decodes to "".
 */
export function decodeBase64(text: string): string | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  try {
    const bin = atob(text);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** GoBGP's well-known community names and their values. */
const WELL_KNOWN_COMMUNITIES: Readonly<Record<string, number>> = {
  "internet": 0x00000000,
  "planned-shut": 0xffff0000,
  "accept-own": 0xffff0001,
  "route-filter-translated-v4": 0xffff0002,
  "route-filter-v4": 0xffff0003,
  "route-filter-translated-v6": 0xffff0004,
  "route-filter-v6": 0xffff0005,
  "llgr-stale": 0xffff0006,
  "no-llgr": 0xffff0007,
  "blackhole": 0xffff029a,
  "no-export": 0xffffff01,
  "no-advertise": 0xffffff02,
  "no-export-subconfed": 0xffffff03,
  "no-peer": 0xffffff04,
};

/**
 * A BGP community in `a:b` form (16-bit halves), from a uint32, `a:b` (each ≤ 65535) or a
 * GoBGP well-known name (`no-export` → `65535:65281`), as upstream's `ValidateCommunity`
 * accepts them; undefined otherwise.
 */
export function parseCommunity(text: string): string | undefined {
  const t = text.trim();
  let value: number | undefined;
  if (/^[0-9]+$/.test(t)) value = parseUint(t, UINT32_MAX);
  else if (/^[0-9]+:[0-9]+$/.test(t)) {
    const [a, b] = t.split(":").map((x) => parseUint(x, 0xffff));
    if (a === undefined || b === undefined) return undefined;
    return `${a}:${b}`;
  } else value = WELL_KNOWN_COMMUNITIES[t];
  return value === undefined ? undefined : `${Math.floor(value / 0x10000)}:${value % 0x10000}`;
}

/** A uint32 as a dotted IPv4 address (how GoBGP shows cluster IDs and router IDs). */
export function uint32ToIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/**
 * A route-reflector cluster ID (`kube-router.io/rr.server`/`rr.client`): a uint32 (Go base 0)
 * or an IPv4 literal; returned in IPv4 form (what GoBGP stores); undefined otherwise.
 */
export function parseClusterId(text: string): string | undefined {
  const n = parseUint(text, UINT32_MAX, true);
  if (n !== undefined) return uint32ToIPv4(n);
  const ip = parseIp(text.trim());
  return ip?.family === "ipv4" ? ip.bytes.join(".") : undefined;
}

/** Go's `strconv.ParseBool`; undefined for anything else. */
export function parseBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/** Splits a comma list, trimming items; `keepBlank` keeps empty items (positional lists). */
export function commaList(text: string, keepBlank = false): string[] {
  const items = text.split(",").map((s) => s.trim());
  return keepBlank ? (text.trim() === "" ? [] : items) : items.filter((s) => s !== "");
}

/**
 * FNV-1a 32-bit of bytes: upstream's `--router-id generate` hashes the primary node IP with it.
 */
export function fnv32a(bytes: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
