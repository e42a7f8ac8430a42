/**
 * Canonical forms of the iproute2 tables. Observe produces only canonical objects; desired
 * objects must be canonical too, or a diff never settles (renderers call these, and the
 * property tests generate canonical desired states). Canonical means: addresses in the
 * kernel's own text (model/ip.ts); attributes equal to what the kernel does when they are left
 * out are left out:
 *
 * - link: vxlan `port` 8472 (the kernel's default dstport) and `learning: true` omitted;
 * - address: `scope: "global"` omitted, and any scope of an IPv6 address;
 * - route: `dst` `0.0.0.0/0`/`::/0` written `default`, a host dst gets `/32`/`/128`;
 *   `type: "unicast"` omitted; `scope` omitted when it is what `ip route add` picks
 *   (IPv4: `host` for local routes, `link` without a gateway, else `global`; IPv6 routes
 *   carry no scope at all);
 * - rule: selector in canonical text (selector.ts).
 *
 * Pure; never throws except `canonicalRule` on a malformed selector.
 *
 * @category apply
 */
import type { Address, Link, PolicyRule, Route } from "../../model/state.ts";
import { canonicalIp, canonicalPrefix, formatIp, parsePrefix } from "../../model/ip.ts";
import type { OverlayLink, OverlayRoute } from "../../model/overlay.ts";
import { canonicalSelector } from "./selector.ts";

/** The kernel's vxlan dstport when none is given (not IANA's 4789). */
export const VXLAN_DEFAULT_PORT = 8472;

const ip = (text: string): string => canonicalIp(text) ?? text;

/** Canonical link. */
export function canonicalLink(l: Link): Link {
  const out: { -readonly [K in keyof Link]: Link[K] } = { name: l.name, kind: l.kind, up: l.up };
  if (l.mtu !== undefined) out.mtu = l.mtu;
  if (l.vxlan !== undefined) {
    const v = l.vxlan;
    out.vxlan = {
      id: v.id,
      ...(v.local !== undefined ? { local: ip(v.local) } : {}),
      ...(v.dev !== undefined ? { dev: v.dev } : {}),
      ...(v.port !== undefined && v.port !== VXLAN_DEFAULT_PORT ? { port: v.port } : {}),
      ...(v.learning === false ? { learning: false } : {}),
    };
  }
  if (l.tunnel !== undefined) {
    out.tunnel = { ...(l.tunnel.local !== undefined ? { local: ip(l.tunnel.local) } : {}), remote: ip(l.tunnel.remote) };
  }
  return withOverlayLinkFields(l as OverlayLink, out);
}

/**
 * Canonical address. IPv6 addresses carry no scope: the kernel derives it from the address
 * (it ignores `scope link` on a global IPv6 address), and link-local ones are never ours.
 */
export function canonicalAddress(a: Address): Address {
  const cidr = canonicalPrefix(a.cidr) ?? a.cidr;
  const v6 = cidr.includes(":");
  return { dev: a.dev, cidr, ...(!v6 && a.scope !== undefined && a.scope !== "global" ? { scope: a.scope } : {}) };
}

/** The scope `ip route add` gives a route when none is written. */
export function defaultRouteScope(r: Pick<Route, "family" | "via" | "type">): "global" | "link" | "host" {
  if (r.family === "ipv6") return "global";
  if (r.type === "local") return "host";
  return r.via === undefined ? "link" : "global";
}

/** Canonical route destination: `default` for a /0, else `addr/len`. */
export function canonicalDst(dst: string): string {
  if (dst === "default") return dst;
  const p = parsePrefix(dst);
  if (p === undefined) return dst;
  return p.prefix === 0 ? "default" : `${formatIp(p)}/${p.prefix}`;
}

/** Canonical route. */
export function canonicalRoute(r: Route): Route {
  const scope = r.family === "ipv6" || r.scope === undefined || r.scope === defaultRouteScope(r) ? undefined : r.scope;
  return {
    family: r.family,
    table: r.table,
    dst: canonicalDst(r.dst),
    ...(r.via !== undefined ? { via: ip(r.via) } : {}),
    ...(r.dev !== undefined ? { dev: r.dev } : {}),
    ...(r.src !== undefined ? { src: ip(r.src) } : {}),
    proto: r.proto,
    ...(r.type === "local" ? { type: "local" as const } : {}),
    ...(scope !== undefined ? { scope } : {}),
    // overlay: the onlink next-hop flag (model/overlay.ts OverlayRoute)
    ...((r as OverlayRoute).onlink === true ? { onlink: true } : {}),
  } as Route;
}

/** Canonical policy rule. Throws Error on a malformed selector. */
export function canonicalRule(r: PolicyRule): PolicyRule {
  return { family: r.family, priority: r.priority, selector: canonicalSelector(r.selector, r.family), table: r.table };
}

/**
 * Overlay extras (rows.ts Link) carried onto a canonical link: the MAC (lower case), a
 * tunnel's non-zero `ttl` and its GUE `encap`.
 */
function withOverlayLinkFields(l: OverlayLink, out: Link): Link {
  const t = l.tunnel;
  const tunnel = out.tunnel === undefined || t === undefined ? out.tunnel : {
    ...out.tunnel,
    ...(t.ttl !== undefined && t.ttl !== 0 ? { ttl: t.ttl } : {}),
    ...(t.encap !== undefined ? { encap: { type: t.encap.type, dport: t.encap.dport } } : {}),
  };
  const res: OverlayLink = { ...out, ...(l.address !== undefined ? { address: l.address.toLowerCase() } : {}), ...(tunnel !== undefined ? { tunnel } : {}) };
  return res;
}
