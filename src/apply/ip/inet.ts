/**
 * IP address and prefix arithmetic for the iproute2 driver: parsing, the canonical text the
 * kernel prints (dotted quad; IPv6 like glibc's inet_ntop: lowercase, longest run of two or
 * more zero groups compressed, first run on ties), prefix containment and host-bit checks.
 * Pure; no `node:*` imports.
 *
 * @category apply
 */
import type { Family } from "../../model/state.ts";

/** A parsed address: family and its value as an unsigned integer (32 or 128 bits). */
export interface Inet {
  readonly family: Family;
  readonly value: bigint;
}

/** A parsed prefix `addr/len`. */
export interface Prefix {
  readonly addr: Inet;
  readonly len: number;
}

const bits = (f: Family): number => (f === "ipv4" ? 32 : 128);

/** Parses an IPv4 or IPv6 address (no prefix); undefined when it is neither. */
export function parseInet(text: string): Inet | undefined {
  if (text.includes(":")) return parseV6(text);
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return { family: "ipv4", value };
}

function parseV6(text: string): Inet | undefined {
  let s = text;
  let tail: bigint[] = [];
  const lastColon = s.lastIndexOf(":");
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseInet(maybeV4);
    if (v4 === undefined || v4.family !== "ipv4") return undefined;
    tail = [v4.value >> 16n, v4.value & 0xffffn];
    s = s.slice(0, lastColon + 1) + "0:0"; // placeholder groups, replaced below
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const group = (g: string): bigint | undefined => (/^[0-9a-fA-F]{1,4}$/.test(g) ? BigInt(`0x${g}`) : undefined);
  const side = (h: string | undefined): bigint[] | undefined => {
    if (h === undefined || h === "") return [];
    const out: bigint[] = [];
    for (const g of h.split(":")) {
      const v = group(g);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  };
  const head = side(halves[0]);
  const rest = side(halves[1]);
  if (head === undefined || rest === undefined) return undefined;
  let groups: bigint[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<bigint>(fill).fill(0n), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  if (tail.length === 2) groups = [...groups.slice(0, 6), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return { family: "ipv6", value };
}

/** The canonical text of an address, as the kernel tools print it. */
export function formatInet(a: Inet): string {
  if (a.family === "ipv4") {
    return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(":");
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** Parses `addr[/len]` (len defaults to the full length); undefined when malformed. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf("/");
  const addr = parseInet(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) return undefined;
  if (slash < 0) return { addr, len: bits(addr.family) };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > bits(addr.family)) return undefined;
  return { addr, len };
}

/** `addr/len` in canonical text; the address keeps any host bits it has. */
export function formatPrefix(p: Prefix): string {
  return `${formatInet(p.addr)}/${p.len}`;
}

/** Canonical `addr/len` for a prefix text (a bare address gets /32 or /128); undefined when malformed. */
export function canonicalCidr(text: string): string | undefined {
  const p = parsePrefix(text);
  return p === undefined ? undefined : formatPrefix(p);
}

const mask = (f: Family, len: number): bigint => {
  const b = BigInt(bits(f));
  return ((1n << b) - 1n) ^ ((1n << (b - BigInt(len))) - 1n);
};

/** True when the prefix has bits set beyond its length (`10.0.0.5/24`). */
export function hasHostBits(p: Prefix): boolean {
  return (p.addr.value & ~mask(p.addr.family, p.len)) !== 0n;
}

/** True when `a` lies inside prefix `p` (same family). */
export function prefixContains(p: Prefix, a: Inet): boolean {
  if (p.addr.family !== a.family) return false;
  const m = mask(a.family, p.len);
  return (p.addr.value & m) === (a.value & m);
}

/** The address family of an address or prefix text; undefined when it is neither. */
export function familyOf(text: string): Family | undefined {
  return parsePrefix(text)?.addr.family;
}
