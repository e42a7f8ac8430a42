/**
 * Canonical ipset member text: the exact form `ipset save` prints (ipset 7.17, kernel 6.18),
 * checked against the real tool by test/apply/ipset-kernel.test.ts.
 *
 * Observed members come straight from `ipset save`, so they are canonical; desired members
 * must be emitted in the same form by renderers, or every sync re-adds them. The rules:
 *
 * | part | canonical form | what the tool does with other input |
 * |---|---|---|
 * | IPv4 | dotted quad, no leading zeros | `010.0.0.1` is read as octal (8.0.0.1): rejected here |
 * | IPv6 | glibc `inet_ntop`: lower case, the longest run (first on a tie) of ≥ 2 zero groups as `::`, a single zero group kept as `0`, `::ffff:a.b.c.d` and `::a.b.c.d` (first 6 groups zero, not `::1`-style) in dotted form | any valid spelling accepted; zone ids (`%eth0`) rejected |
 * | net | `addr/len` with host bits cleared (`10.0.0.5/24` → `10.0.0.0/24`); a full-length prefix is dropped (`10.0.0.1/32` → `10.0.0.1`, `/128` likewise) | `/0` is invalid; ranges `a-b` expand to several members: rejected here |
 * | ip (hash:ip) | a single address | a CIDR or range expands to one member per address: rejected here |
 * | port | `proto:port` with proto `tcp`, `udp`, `sctp`, `udplite` (lower case); a bare port means `tcp:`; numeric 6/17/132/136 print as names (upstream writes SCTP as `132:`: it is saved as `sctp:`) | port ranges expand: rejected here; named services (`http`) and other protocols (icmp types, `gre:0`) are not supported here |
 * | iface | `name` or `physdev:name` as given | |
 * | flags | ` nomatch` after the element, only for types with a net part | `timeout N` per member is dropped by the parser, never part of a member |
 *
 * `del` takes the element without flags (`del S 10.1.0.0/16 nomatch` is a syntax error), and
 * `add -exist` of an existing element rewrites its `nomatch` flag.
 *
 * @category apply
 */
import { canonicalCidr, canonicalIp, cidrNetwork, formatIp, parseIp } from "./ip.ts";
import type { Family, IpsetType } from "./state.ts";

export type IpsetFamily = "inet" | "inet6";
type Part = "ip" | "net" | "port" | "iface";

/** The comma-separated parts of each modelled set type's elements. */
export const IPSET_TYPE_PARTS: Readonly<Record<IpsetType, readonly Part[]>> = {
  "hash:ip": ["ip"],
  "hash:net": ["net"],
  "hash:ip,port": ["ip", "port"],
  "hash:ip,port,ip": ["ip", "port", "ip"],
  "hash:ip,port,net": ["ip", "port", "net"],
  "hash:net,port": ["net", "port"],
  "hash:net,iface": ["net", "iface"],
};

/** True for the set types the model knows. */
export function isIpsetType(t: string): t is IpsetType {
  return Object.hasOwn(IPSET_TYPE_PARTS, t);
}

/** One example of the tool's canonicalisation: `input` as added, `saved` as `ipset save` prints it. */
export interface MemberForm {
  readonly type: IpsetType;
  readonly family: IpsetFamily;
  readonly input: string;
  readonly saved: string;
}

/** The catalog of canonical forms, verified against the real tool by the kernel test. */
export const IPSET_MEMBER_FORMS: readonly MemberForm[] = [
  { type: "hash:ip", family: "inet", input: "10.0.0.1", saved: "10.0.0.1" },
  { type: "hash:net", family: "inet", input: "10.0.0.0/24", saved: "10.0.0.0/24" },
  { type: "hash:net", family: "inet", input: "10.0.1.5/24", saved: "10.0.1.0/24" },
  { type: "hash:net", family: "inet", input: "10.0.0.1/32", saved: "10.0.0.1" },
  { type: "hash:net", family: "inet", input: "10.1.0.0/16 nomatch", saved: "10.1.0.0/16 nomatch" },
  { type: "hash:net", family: "inet", input: "10.2.0.1/32 nomatch", saved: "10.2.0.1 nomatch" },
  { type: "hash:ip", family: "inet6", input: "2001:DB8:0:0::1", saved: "2001:db8::1" },
  { type: "hash:ip", family: "inet6", input: "2001:db8:0:0:1:0:0:1", saved: "2001:db8::1:0:0:1" },
  { type: "hash:ip", family: "inet6", input: "2001:db8::a:0:0:0", saved: "2001:db8:0:0:a::" },
  { type: "hash:ip", family: "inet6", input: "::1:2:3:4:5:6:7", saved: "0:1:2:3:4:5:6:7" },
  { type: "hash:ip", family: "inet6", input: "::ffff:a00:1", saved: "::ffff:10.0.0.1" },
  { type: "hash:ip", family: "inet6", input: "::a00:2", saved: "::10.0.0.2" },
  { type: "hash:ip", family: "inet6", input: "::1", saved: "::1" },
  { type: "hash:ip", family: "inet6", input: "fe80:0::1", saved: "fe80::1" },
  { type: "hash:net", family: "inet6", input: "2001:db8:1:0::/64", saved: "2001:db8:1::/64" },
  { type: "hash:net", family: "inet6", input: "2001:db8::ff/120", saved: "2001:db8::/120" },
  { type: "hash:net", family: "inet6", input: "2001:db8::2/128", saved: "2001:db8::2" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.10,tcp:53", saved: "10.96.0.10,tcp:53" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.10,UDP:53", saved: "10.96.0.10,udp:53" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.11,8080", saved: "10.96.0.11,tcp:8080" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.12,132:80", saved: "10.96.0.12,sctp:80" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.13,6:81", saved: "10.96.0.13,tcp:81" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.14,17:82", saved: "10.96.0.14,udp:82" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.15,136:9", saved: "10.96.0.15,udplite:9" },
  { type: "hash:ip,port", family: "inet", input: "10.96.0.16,sctp:0", saved: "10.96.0.16,sctp:0" },
  { type: "hash:ip,port", family: "inet6", input: "2001:db8::1,sctp:80", saved: "2001:db8::1,sctp:80" },
  { type: "hash:ip,port,ip", family: "inet", input: "10.0.0.1,tcp:80,10.0.0.2", saved: "10.0.0.1,tcp:80,10.0.0.2" },
  { type: "hash:ip,port,net", family: "inet", input: "10.0.0.1,tcp:80,10.0.0.0/8", saved: "10.0.0.1,tcp:80,10.0.0.0/8" },
  { type: "hash:ip,port,net", family: "inet", input: "10.0.0.1,tcp:81,10.0.0.3/32", saved: "10.0.0.1,tcp:81,10.0.0.3" },
  { type: "hash:net,port", family: "inet", input: "10.0.0.7/24,udp:53", saved: "10.0.0.0/24,udp:53" },
  { type: "hash:net,port", family: "inet", input: "10.0.1.1/32,tcp:1", saved: "10.0.1.1,tcp:1" },
  { type: "hash:net,iface", family: "inet", input: "10.0.0.0/24,eth0", saved: "10.0.0.0/24,eth0" },
  { type: "hash:net,iface", family: "inet", input: "10.0.1.0/24,physdev:eth1", saved: "10.0.1.0/24,physdev:eth1" },
];

/**
 * The canonical (`ipset save`) text of a member of a set of `type` and `family`.
 * Pure. Throws `Error` naming the member and the reason when the tool would reject it,
 * expand it into several members, or read it differently than written (see the table above).
 */
export function canonicalMember(type: IpsetType, family: IpsetFamily, member: string): string {
  const fast = family === "inet" ? canonicalIPv4Member(type, member) : undefined;
  if (fast !== undefined) return fast;
  const [element = "", ...flags] = member.trim().split(/\s+/);
  const parts = IPSET_TYPE_PARTS[type];
  const fields = element.split(",");
  const fail = (why: string): never => {
    throw new Error(`ipset member "${member}" of ${type} family ${family}: ${why}`);
  };
  if (fields.length !== parts.length) fail(`expected ${parts.length} comma-separated part(s)`);
  for (const f of flags) if (f !== "nomatch") fail(`unsupported flag "${f}"`);
  if (flags.length > 1) fail("nomatch given twice");
  if (flags.length === 1 && !parts.includes("net")) fail("nomatch needs a type with a net part");
  try {
    const out = parts.map((p, i) => canonicalPart(p, family, fields[i] ?? ""));
    return out.join(",") + (flags.length === 1 ? " nomatch" : "");
  } catch (e) {
    return fail((e as Error).message);
  }
}

/**
 * The common case without the general parser: an IPv4 `hash:ip` address or `hash:net` CIDR
 * (prefix 1–31) already in canonical form is its own canonical member. Undefined for anything
 * else (the general path decides, and throws where it must).
 */
function canonicalIPv4Member(type: IpsetType, member: string): string | undefined {
  if (type === "hash:ip") return member !== "0.0.0.0" && canonicalIp(member) === member && !member.includes(":") ? member : undefined;
  if (type !== "hash:net") return undefined;
  const slash = member.indexOf("/");
  if (slash < 0 || member.includes(":")) return undefined;
  const len = Number(member.slice(slash + 1));
  return len >= 1 && len <= 31 && canonicalCidr(member) === member ? member : undefined;
}

/** The element of a canonical member: the member without its ` nomatch` flag (what `del` takes). */
export function memberElement(member: string): string {
  return member.endsWith(" nomatch") ? member.slice(0, -" nomatch".length) : member;
}

function canonicalPart(part: Part, family: IpsetFamily, text: string): string {
  switch (part) {
    case "ip":
      if (text.includes("/") || text.includes("-")) throw new Error(`"${text}" is a range; one address per member`);
      return formatAddrBytes(family, nonZero(parseBytes(family, text), text));
    case "net":
      return canonicalNet(family, text);
    case "port":
      return canonicalPort(text);
    case "iface":
      if (!/^(physdev:)?[^\s,/:]{1,15}$/.test(text)) throw new Error(`"${text}" is not an interface name`);
      return text;
  }
}

function nonZero(bytes: readonly number[], text: string): readonly number[] {
  if (bytes.every((b) => b === 0)) throw new Error(`"${text}" is the null address`);
  return bytes;
}

function canonicalNet(family: IpsetFamily, text: string): string {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (addr.includes("-")) throw new Error(`"${text}" is a range`);
  const bits = family === "inet" ? 32 : 128;
  let len = bits;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) < 1 || Number(l) > bits) throw new Error(`prefix length "${l}" not in 1-${bits}`);
    len = Number(l);
  }
  const net = cidrNetwork({ family: ipFamilyOf(family), bytes: parseBytes(family, addr), prefix: len });
  return len === bits ? formatAddrBytes(family, nonZero(net.bytes, text)) : `${formatIp(net)}/${len}`;
}

const PROTO: Readonly<Record<string, string>> = {
  tcp: "tcp", udp: "udp", sctp: "sctp", udplite: "udplite", "6": "tcp", "17": "udp", "132": "sctp", "136": "udplite",
};

function canonicalPort(text: string): string {
  const m = /^(?:([A-Za-z0-9]+):)?(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`"${text}" is not [proto:]port (ranges and named services unsupported)`);
  const proto = m[1] === undefined ? "tcp" : PROTO[m[1].toLowerCase()];
  if (proto === undefined) throw new Error(`protocol "${m[1]}" unsupported (tcp, udp, sctp, udplite)`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port ${port} out of range 0-65535`);
  return `${proto}:${port}`;
}

const ipFamilyOf = (family: IpsetFamily): Family => (family === "inet" ? "ipv4" : "ipv6");

/** The bytes of an address of `family` (model/ip.ts parsing); throws naming the text otherwise. */
function parseBytes(family: IpsetFamily, text: string): readonly number[] {
  const a = parseIp(text);
  if (a === undefined || a.family !== ipFamilyOf(family)) throw new Error(`"${text}" is not an ${family === "inet" ? "IPv4" : "IPv6"} address`);
  return a.bytes;
}

const formatAddrBytes = (family: IpsetFamily, bytes: readonly number[]): string => formatIp({ family: ipFamilyOf(family), bytes });

/** Parses an address of `family` into words: 4 bytes (inet) or 8 16-bit groups (inet6). */
export function parseAddr(family: IpsetFamily, text: string): number[] {
  const b = parseBytes(family, text);
  if (family === "inet") return [...b];
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  return words;
}

/** Formats words from `parseAddr` in the tool's canonical text (model/ip.ts `formatIp`: glibc `inet_ntop`). */
export function formatAddr(family: IpsetFamily, words: readonly number[]): string {
  if (family === "inet") return formatAddrBytes(family, words);
  return formatAddrBytes(family, words.flatMap((w) => [w >> 8, w & 0xff]));
}
