/**
 * Paths: plain unicast routes ↔ GoBGP v4 `Path` messages (pure).
 *
 * A v4 path carries its NLRI and attributes as typed oneofs (3.x packed them in
 * google.protobuf.Any). IPv4 paths get ORIGIN + NEXT_HOP; IPv6 paths get ORIGIN + MP_REACH_NLRI
 * with the IPv6 next hop and the same NLRI (what GoBGP and kube-router expect). Communities
 * travel as `"high:low"` strings here and as 32-bit numbers on the wire; an AS path is a list of
 * ASNs (one AS_SEQUENCE when built; every segment flattened in order when parsed).
 *
 * Failure: builders throw a one-line Error for a malformed prefix, next hop of the wrong family,
 * a community or ASN out of range.
 *
 * @category apply
 */
import { isIP } from "node:net";
import type { WAttribute, WDestination, WFamily, WPath } from "./wire.ts";

export type IpFamily = "ipv4" | "ipv6";

/** A unicast route as the agent thinks of it. */
export interface UnicastPath {
  /** `addr/len`, canonical as GoBGP prints it (`10.244.1.0/24`, `fd00::/64`). */
  readonly prefix: string;
  readonly nextHop: string;
  /** `"65000:100"` each, in the order given / received. */
  readonly communities?: readonly string[];
  /** ASNs to put in (build) or found in (parse) the AS_PATH. */
  readonly asPath?: readonly number[];
}

/** A path read back from GoBGP. */
export interface ObservedPath {
  readonly prefix: string;
  readonly nextHop: string;
  readonly communities: string[];
  readonly asPath: number[];
  readonly family: IpFamily;
  /** Address of the peer it was learned from; "" for a path this gobgpd originated. */
  readonly neighbor: string;
  readonly best: boolean;
  readonly stale: boolean;
  readonly localPref?: number;
}

export const FAMILY_IPV4: WFamily = { afi: "AFI_IP", safi: "SAFI_UNICAST" };
export const FAMILY_IPV6: WFamily = { afi: "AFI_IP6", safi: "SAFI_UNICAST" };

export function wireFamily(f: IpFamily): WFamily {
  return f === "ipv4" ? FAMILY_IPV4 : FAMILY_IPV6;
}

/** Splits and checks `addr/len`; throws one line when malformed. */
export function parsePrefix(prefix: string): { addr: string; len: number; family: IpFamily } {
  const [addr = "", lenText, extra] = prefix.split("/");
  const v = isIP(addr);
  const len = Number(lenText);
  if (v === 0 || extra !== undefined || lenText === undefined || !/^\d+$/.test(lenText) || len > (v === 4 ? 32 : 128)) {
    throw new Error(`bad prefix ${JSON.stringify(prefix)}: want addr/len`);
  }
  return { addr, len, family: v === 4 ? "ipv4" : "ipv6" };
}

/** `"65000:100"` → 65000·2¹⁶ + 100; throws one line when malformed or out of range. */
export function communityToNumber(c: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(c);
  const hi = Number(m?.[1]);
  const lo = Number(m?.[2]);
  if (m === null || hi > 0xffff || lo > 0xffff) throw new Error(`bad community ${JSON.stringify(c)}: want N:M with both 0..65535`);
  return hi * 0x10000 + lo;
}

export function communityToString(n: number): string {
  return `${Math.floor(n / 0x10000)}:${n % 0x10000}`;
}

function checkAsn(a: number): number {
  if (!Number.isInteger(a) || a < 1 || a > 0xffffffff) throw new Error(`bad ASN ${a}: want 1..4294967295`);
  return a;
}

/** Builds the GoBGP path for a unicast route (origin IGP). */
export function buildPath(p: UnicastPath): WPath {
  const { addr, len, family } = parsePrefix(p.prefix);
  if (isIP(p.nextHop) !== (family === "ipv4" ? 4 : 6)) throw new Error(`next hop ${JSON.stringify(p.nextHop)} is not ${family} (prefix ${p.prefix})`);
  const nlri = { prefix: { prefix: addr, prefixLen: len } };
  const pattrs: WAttribute[] = [{ origin: { origin: 0 } }];
  if (family === "ipv4") pattrs.push({ nextHop: { nextHop: p.nextHop } });
  else pattrs.push({ mpReach: { family: FAMILY_IPV6, nextHops: [p.nextHop], nlris: [nlri] } });
  if (p.asPath !== undefined && p.asPath.length > 0) pattrs.push({ asPath: { segments: [{ type: "TYPE_AS_SEQUENCE", numbers: p.asPath.map(checkAsn) }] } });
  if (p.communities !== undefined && p.communities.length > 0) pattrs.push({ communities: { communities: p.communities.map(communityToNumber) } });
  return { family: wireFamily(family), nlri, pattrs };
}

/** Reads one GoBGP path back into a plain object; undefined for a non-unicast path. */
export function parsePath(w: WPath): ObservedPath | undefined {
  const pfx = w.nlri?.prefix;
  const afi = w.family?.afi;
  if (pfx == null || (afi !== "AFI_IP" && afi !== "AFI_IP6")) return undefined;
  let nextHop = "";
  let communities: string[] = [];
  let asPath: number[] = [];
  let localPref: number | undefined;
  for (const a of w.pattrs) {
    if (a.nextHop) nextHop = a.nextHop.nextHop;
    else if (a.mpReach && nextHop === "") nextHop = a.mpReach.nextHops[0] ?? "";
    else if (a.communities) communities = a.communities.communities.map(communityToString);
    else if (a.asPath) asPath = a.asPath.segments.flatMap((s) => s.numbers);
    else if (a.localPref) localPref = a.localPref.localPref;
  }
  const neighbor = w.neighborIp === undefined || w.neighborIp === "<nil>" ? "" : w.neighborIp;
  return {
    prefix: `${pfx.prefix}/${pfx.prefixLen}`,
    nextHop,
    communities,
    asPath,
    family: afi === "AFI_IP" ? "ipv4" : "ipv6",
    neighbor,
    best: w.best === true,
    stale: w.stale === true,
    ...(localPref !== undefined ? { localPref } : {}),
  };
}

/** Flattens ListPath destinations into plain paths (every path of every destination, unicast only). */
export function parseDestinations(ds: readonly WDestination[]): ObservedPath[] {
  return ds.flatMap((d) => d.paths.flatMap((p) => parsePath(p) ?? []));
}
