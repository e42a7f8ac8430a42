/**
 * Parsers of iproute2's JSON dumps into the model (pure). Every object returned is canonical
 * (canon.ts) and owned (names.ts):
 *
 * - `ip -d -j addr show` → owned links (`ownsLink`), owned addresses (links in
 *   OWNED_ADDRESS_LINKS; IPv6 link-local fe80::/10 skipped, the kernel makes those), and every
 *   interface as a HostInterface;
 * - `ip -4|-6 -j route show table all proto 17` → routes (that dump is already filtered to our
 *   protocol, and `ip` then omits the `protocol` field, so `proto` is always ROUTE_PROTO);
 * - `ip -4|-6 -j rule show` → rules whose table is in OWNED_RULE_TABLES.
 *
 * Failure: text that is not a JSON array of objects throws Error with a one-line message
 * naming the dump. Unknown fields are ignored; entries without the fields a parser needs are
 * skipped.
 *
 * @category apply
 */
import type { HostInterface } from "../../model/host.ts";
import { EXTENDER_VXLAN, KUBE_VXLAN, KUBE_VXLAN6, OWNED_ADDRESS_LINKS, OWNED_RULE_TABLES, ROUTE_PROTO, ownsLink } from "../../model/names.ts";
import type { Address, Family, Link, LinkKind, PolicyRule, Route } from "../../model/state.ts";
import { addressKey, linkKey, policyRuleKey, routeKey } from "../../model/state.ts";
import { type Table, sortedTable } from "../../model/table.ts";
import type { OverlayLink } from "../../model/overlay.ts";
import { canonicalAddress, canonicalLink, canonicalRoute } from "./canon.ts";
import { canonicalPrefix, formatIp, formatPrefix, isLinkLocal, isUnspecified, parseIp, parsePrefix } from "../../model/ip.ts";
import { formatSelector, type Selector, canonicalFwmark } from "./selector.ts";

type Json = Record<string, unknown>;

/** Parses a dump that must be a JSON array of objects; `what` names it in the error. */
export function jsonArray(text: string, what: string): Json[] {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() === "" ? "[]" : text);
  } catch (e) {
    throw new Error(`${what}: malformed JSON: ${(e as Error).message.split("\n")[0] ?? ""}`);
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null || Array.isArray(x))) {
    throw new Error(`${what}: malformed JSON: expected an array of objects`);
  }
  return v as Json[];
}

const str = (o: Json, k: string): string | undefined => (typeof o[k] === "string" ? (o[k] as string) : undefined);
const num = (o: Json, k: string): number | undefined => (typeof o[k] === "number" ? (o[k] as number) : undefined);
const obj = (o: Json, k: string): Json | undefined => {
  const v = o[k];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
};

const SCOPES: ReadonlySet<string> = new Set(["global", "link", "host"]);
type Scope = "global" | "link" | "host";

/** A tunnel endpoint as printed (`any`, `0.0.0.0`, `::` mean unset). */
function endpoint(v: string | undefined): string | undefined {
  if (v === undefined || v === "any") return undefined;
  const a = parseIp(v);
  return a === undefined || isUnspecified(a) ? undefined : formatIp(a);
}

/** One owned link from one `ip -d -j addr show` entry; undefined for a foreign one. */
function linkOf(e: Json): Link | undefined {
  const name = str(e, "ifname");
  if (name === undefined || !ownsLink(name)) return undefined;
  const info = obj(e, "linkinfo");
  const kind = info === undefined ? undefined : str(info, "info_kind");
  const flags = Array.isArray(e["flags"]) ? (e["flags"] as unknown[]) : [];
  const mtu = num(e, "mtu");
  const data = (info && obj(info, "info_data")) ?? {};
  // An owned name of a kind we never create (a veth someone called kube-bridge) keeps the
  // kernel's kind string (`unknown` when there is none): it never equals a desired kind, so
  // compile deletes and re-creates the link.
  const link: { -readonly [K in keyof Link]: Link[K] } = { name, kind: (kind ?? "unknown") as LinkKind, up: flags.includes("UP") };
  if (mtu !== undefined) link.mtu = mtu;
  if (kind === "vxlan") {
    const local = str(data, "local") ?? str(data, "local6");
    const dev = str(data, "link");
    const port = num(data, "port");
    const learning = data["learning"];
    link.vxlan = {
      id: num(data, "id") ?? 0,
      ...(local !== undefined ? { local } : {}),
      ...(dev !== undefined ? { dev } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(typeof learning === "boolean" ? { learning } : {}),
    };
  } else if (kind === "ipip" || kind === "ip6tnl") {
    const local = endpoint(str(data, "local"));
    link.tunnel = { ...(local !== undefined ? { local } : {}), remote: endpoint(str(data, "remote")) ?? "any" };
  }
  return canonicalLink(withOverlayAttrs(link, e, kind, data));
}

const isLinkLocal6 = (local: string): boolean => {
  if (!local.includes(":")) return false;
  const a = parseIp(local);
  return a !== undefined && isLinkLocal(a); // fe80::/10
};

/** What `ip -d -j addr show` yields: owned links and addresses, and every interface. */
export interface AddrShow {
  readonly links: Table<Link>;
  readonly addresses: Table<Address>;
  readonly interfaces: readonly HostInterface[];
}

/** Parses `ip -d -j addr show`. Throws Error (one line) on malformed JSON. */
export function parseAddrShow(text: string): AddrShow {
  const links: [string, Link][] = [];
  const addresses: [string, Address][] = [];
  const interfaces: HostInterface[] = [];
  for (const e of jsonArray(text, "ip -d -j addr show")) {
    const name = str(e, "ifname");
    if (name === undefined) continue;
    const addrInfo = Array.isArray(e["addr_info"]) ? (e["addr_info"] as unknown[]) : [];
    const addrs: string[] = [];
    for (const a of addrInfo) {
      if (typeof a !== "object" || a === null) continue;
      const local = str(a as Json, "local");
      const len = num(a as Json, "prefixlen");
      if (local === undefined || len === undefined) continue;
      const cidr = canonicalPrefix(`${local}/${len}`);
      if (cidr === undefined) continue;
      addrs.push(cidr);
      if (!OWNED_ADDRESS_LINKS.has(name) || isLinkLocal6(local)) continue;
      const scope = str(a as Json, "scope");
      const addr = canonicalAddress({ dev: name, cidr, ...(scope !== undefined && SCOPES.has(scope) ? { scope: scope as Scope } : {}) });
      addresses.push([addressKey(addr), addr]);
    }
    interfaces.push({ name, mtu: num(e, "mtu") ?? 0, addrs });
    const link = linkOf(e);
    if (link !== undefined) links.push([linkKey(link), link]);
  }
  return { links: sortedTable(links), addresses: sortedTable(addresses), interfaces };
}

const ROUTE_TYPES: ReadonlySet<string> = new Set(["unicast", "local"]);

/** One route from one `ip -j route show` entry of a dump filtered to our protocol. */
function routeOf(e: Json, family: Family): Route | undefined {
  const dstText = str(e, "dst");
  if (dstText === undefined) return undefined;
  let dst = dstText;
  if (dst !== "default") {
    const p = parsePrefix(dst);
    if (p === undefined || p.family !== family) return undefined;
    dst = formatPrefix(p);
  }
  const type = str(e, "type") ?? "unicast";
  const scope = str(e, "scope") ?? "global";
  const via = str(e, "gateway");
  const dev = str(e, "dev");
  const src = str(e, "prefsrc");
  const r = canonicalRoute({
    family,
    table: str(e, "table") ?? "main",
    dst,
    ...(via !== undefined ? { via } : {}),
    ...(dev !== undefined ? { dev } : {}),
    ...(src !== undefined ? { src } : {}),
    proto: ROUTE_PROTO,
    ...(type === "local" ? { type: "local" as const } : {}),
    ...(SCOPES.has(scope) ? { scope: scope as Scope } : {}),
  }) as Route & { onlink?: boolean };
  if (Array.isArray(e["flags"]) && (e["flags"] as unknown[]).includes("onlink")) (r as { onlink?: boolean }).onlink = true; // overlay
  // A type we never install (blackhole, unreachable, …): spell out `unicast`, which canonical
  // desired routes never do, so the route is never equal to a desired one and gets replaced
  // or deleted.
  return ROUTE_TYPES.has(type) ? r : { ...r, type: "unicast" };
}

/**
 * Parses the route dumps of both families (`ip -4|-6 -j route show table all proto 17`).
 * A dump that mixes families is tolerated: entries whose dst is of the other family are
 * skipped. `default` dsts are kept as `default` (note: the IPv4 and IPv6 default routes of
 * one table share a key; the IPv4 one wins).
 */
export function parseRoutes(dumps: { readonly ipv4: string; readonly ipv6: string }): Table<Route> {
  const out = new Map<string, Route>();
  for (const family of ["ipv4", "ipv6"] as const) {
    const flag = family === "ipv4" ? "-4" : "-6";
    for (const e of jsonArray(dumps[family], `ip ${flag} -j route show table all proto ${ROUTE_PROTO}`)) {
      const r = routeOf(e, family);
      if (r !== undefined && !out.has(routeKey(r))) out.set(routeKey(r), r);
    }
  }
  return sortedTable(out);
}

function prefixField(e: Json, addrKey: string, lenKey: string, family: Family): string | undefined {
  const a = str(e, addrKey);
  if (a === undefined || a === "all") return undefined;
  const len = num(e, lenKey) ?? (family === "ipv4" ? 32 : 128);
  return canonicalPrefix(`${a}/${len}`);
}

/** The canonical selector of one `ip -j rule show` entry. */
export function selectorOf(e: Json, family: Family): string {
  const from = prefixField(e, "src", "srclen", family);
  const to = prefixField(e, "dst", "dstlen", family);
  const tos = str(e, "tos") ?? str(e, "dsfield");
  const fwmarkText = str(e, "fwmark");
  const fwmask = str(e, "fwmask");
  const fwmark = fwmarkText === undefined ? undefined : canonicalFwmark(fwmask === undefined ? fwmarkText : `${fwmarkText}/${fwmask}`);
  const iif = str(e, "iif");
  const oif = str(e, "oif");
  const s: Selector = {
    not: "not" in e,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(tos !== undefined ? { tos } : {}),
    ...(fwmark !== undefined ? { fwmark } : {}),
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
  };
  return formatSelector(s);
}

/** Parses the rule dumps of both families (`ip -4|-6 -j rule show`), keeping owned tables only. */
export function parseRules(dumps: { readonly ipv4: string; readonly ipv6: string }): Table<PolicyRule> {
  const out: [string, PolicyRule][] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    const flag = family === "ipv4" ? "-4" : "-6";
    for (const e of jsonArray(dumps[family], `ip ${flag} -j rule show`)) {
      const table = str(e, "table");
      const priority = num(e, "priority");
      if (table === undefined || priority === undefined || !OWNED_RULE_TABLES.has(table)) continue;
      const r: PolicyRule = { family, priority, selector: selectorOf(e, family), table };
      out.push([policyRuleKey(r), r]);
    }
  }
  return sortedTable(out);
}

/**
 * Overlay attributes (model/overlay.ts OverlayLink): the MAC (`address`) of our overlay vxlan
 * devices (kube-vxlan, kube-vxlan6; every other link's MAC is the kernel's), and on ipip /
 * ip6tnl a `ttl` other than the kind's default (ipip 0 = inherit, ip6tnl 64) and the FoU/GUE
 * `encap` object iproute2 prints
 * (`"encap":{"type":"gue","sport":0,"dport":5555,…}`; type `none` means no encap).
 */
function withOverlayAttrs(link: Link, e: Json, kind: string | undefined, data: Json): OverlayLink {
  if (kind === "vxlan" && (link.name === KUBE_VXLAN || link.name === KUBE_VXLAN6 || link.name === EXTENDER_VXLAN)) {
    const mac = str(e, "address");
    return mac === undefined ? link : { ...link, address: mac };
  }
  if ((kind !== "ipip" && kind !== "ip6tnl") || link.tunnel === undefined) return link;
  const ttl = num(data, "ttl");
  const encap = obj(data, "encap");
  const type = encap === undefined ? undefined : str(encap, "type");
  const dport = encap === undefined ? undefined : num(encap, "dport");
  return {
    ...link,
    tunnel: {
      ...link.tunnel,
      ...(ttl !== undefined && ttl !== (kind === "ip6tnl" ? 64 : 0) ? { ttl } : {}),
      ...(type === "gue" && dport !== undefined ? { encap: { type: "gue" as const, dport } } : {}),
    },
  };
}
