/**
 * The in-memory network stack behind FakeIp: links, addresses, routes and policy rules with
 * the kernel semantics the driver relies on (each checked against the real kernel here):
 *
 * - adding an existing link, address, route (`add`, not `replace`) or identical rule fails;
 *   deleting a missing one fails; messages are the ones `ip` prints;
 * - a route needs a device or a gateway; its device must exist and be up; a gateway must lie
 *   in a connected subnet (an address's prefix on an up link; on `dev` if given); a prefix
 *   with host bits is refused; `replace` overwrites whatever route has the same
 *   family/table/dst, whoever owns it;
 * - a link going down loses its routes and its IPv6 addresses; going up gains an fe80::/64
 *   link-local address; deleting a link removes its addresses, routes and the vxlan links on
 *   it; deleting an IPv4 address removes routes using it as `src` and gateway routes that no
 *   longer have a connected subnet on their device;
 * - a vxlan needs an id and a unique (id, dstport, dev, local);
 * - rule delete matches on the attributes given (like the kernel), add refuses an identical rule.
 *
 * Errors are thrown as IpError whose message is the stderr line `ip` would print.
 *
 * @category apply
 */
import type { Family } from "../../model/state.ts";
import { type Cidr, type IpAddress, cidrContains, formatIp, hasHostBits, ipEquals, isLinkLocal, isLoopback, parseIp } from "../../model/ip.ts";
import type { Selector } from "./selector.ts";

export class IpError extends Error {
  override name = "IpError";
}

export interface KLink {
  readonly ifindex: number;
  readonly name: string;
  /** `loopback`, `veth`, `bridge`, `dummy`, `vxlan`, `ipip`, `ip6tnl`, or any seeded kind. */
  readonly kind: string;
  up: boolean;
  mtu: number;
  /** overlay: a MAC given at creation or by `link set address` (else the dump makes one up) */
  address?: string;
  readonly vxlan?: { readonly id: number; readonly local?: string; readonly dev?: string; readonly port: number; readonly learning: boolean };
  readonly tunnel?: { readonly local?: string; readonly remote?: string; readonly ttl?: number; readonly encap?: { readonly type: string; readonly dport: number } };
}

export interface KAddr {
  readonly dev: string;
  readonly addr: IpAddress;
  readonly prefixlen: number;
  readonly scope: string;
}

export interface KRoute {
  readonly family: Family;
  /** `main`, `local`, `default` or a number. */
  readonly table: string;
  /** `default` or a canonical prefix. */
  readonly dst: string;
  readonly via?: string;
  readonly dev: string;
  readonly src?: string;
  /** Protocol number as text. */
  readonly proto: string;
  readonly type: string;
  readonly scope: string;
  /** overlay: the gateway is on the device without a connected subnet */
  readonly onlink?: boolean;
}

export interface KRule {
  readonly family: Family;
  readonly priority: number;
  readonly sel: Selector;
  readonly table: string;
}

export interface LinkSpec {
  readonly name: string;
  readonly kind: string;
  readonly up?: boolean;
  readonly mtu?: number;
  readonly address?: string;
  readonly vxlan?: { readonly id?: number; readonly local?: string; readonly dev?: string; readonly port?: number; readonly learning?: boolean };
  readonly tunnel?: { readonly local?: string; readonly remote?: string; readonly ttl?: number; readonly encap?: { readonly type: string; readonly dport: number } };
}

export interface RouteSpec {
  readonly family: Family;
  readonly table: string;
  /** `default` or a prefix. */
  readonly dst: Cidr | "default";
  readonly via?: IpAddress;
  readonly dev?: string;
  readonly src?: IpAddress;
  readonly proto: string;
  readonly type: string;
  readonly scope?: string;
  readonly onlink?: boolean;
}

/** Partial match for route delete: unset fields match anything. */
export interface RouteMatch {
  readonly family: Family;
  readonly table: string;
  readonly dst: Cidr | "default";
  readonly proto?: string;
  readonly via?: IpAddress;
  readonly dev?: string;
}

/** Partial match for rule delete: unset fields match anything. */
export interface RuleMatch {
  readonly family: Family;
  readonly priority?: number;
  readonly sel: Selector;
  readonly table?: string;
}

const BOOTSTRAP_RULES: readonly KRule[] = [
  { family: "ipv4", priority: 0, sel: { not: false }, table: "local" },
  { family: "ipv4", priority: 32766, sel: { not: false }, table: "main" },
  { family: "ipv4", priority: 32767, sel: { not: false }, table: "default" },
  { family: "ipv6", priority: 0, sel: { not: false }, table: "local" },
  { family: "ipv6", priority: 32766, sel: { not: false }, table: "main" },
];

const DEFAULT_MTU: Readonly<Record<string, number>> = { ipip: 1480, ip6tnl: 1452 };
const CREATABLE: ReadonlySet<string> = new Set(["bridge", "dummy", "vxlan", "ipip", "ip6tnl", "veth"]);

const dstText = (d: Cidr | "default"): string => (d === "default" || d.prefix === 0 ? "default" : `${formatIp(d)}/${d.prefix}`);
const sameSel = (a: Selector, b: Selector): boolean =>
  a.not === b.not && a.from === b.from && a.to === b.to && a.tos === b.tos && a.fwmark === b.fwmark && a.iif === b.iif && a.oif === b.oif;

/** The fake network stack of one namespace. */
export class FakeIpKernel {
  readonly links = new Map<string, KLink>();
  addrs: KAddr[] = [];
  routes: KRoute[] = [];
  rules: KRule[] = [...BOOTSTRAP_RULES];
  private nextIndex = 1;

  constructor() {
    this.addLink({ name: "lo", kind: "loopback", up: true, mtu: 65536 }, true);
    this.addrs.push({ dev: "lo", addr: parseIp("127.0.0.1") as IpAddress, prefixlen: 8, scope: "host" });
    this.addrs.push({ dev: "lo", addr: parseIp("::1") as IpAddress, prefixlen: 128, scope: "host" });
  }

  private link(name: string): KLink {
    const l = this.links.get(name);
    if (l === undefined) throw new IpError(`Cannot find device "${name}"`);
    return l;
  }

  // ----- links ---------------------------------------------------------------------------

  /** `ip link add`. `anyKind` lets seeds create kinds `ip -batch` may not (veth ends, …). */
  addLink(spec: LinkSpec, anyKind = false): void {
    if (this.links.has(spec.name)) throw new IpError("RTNETLINK answers: File exists");
    if (!anyKind && !CREATABLE.has(spec.kind)) throw new IpError("Error: Unknown device type.");
    let vxlan: KLink["vxlan"];
    let mtu = spec.mtu ?? DEFAULT_MTU[spec.kind] ?? 1500;
    if (spec.kind === "vxlan") {
      const v = spec.vxlan ?? {};
      if (v.id === undefined) throw new IpError("vxlan: missing virtual network identifier");
      if (v.dev !== undefined) {
        const lower = this.link(v.dev);
        if (spec.mtu === undefined) mtu = lower.mtu - (v.local?.includes(":") ? 70 : 50);
      }
      const port = v.port ?? 8472;
      for (const o of this.links.values()) {
        const ov = o.vxlan;
        if (ov && ov.id === v.id && ov.port === port && ov.dev === v.dev && ov.local === v.local) {
          throw new IpError("Error: A VXLAN device with the specified VNI already exists.");
        }
      }
      vxlan = { id: v.id, ...(v.local !== undefined ? { local: v.local } : {}), ...(v.dev !== undefined ? { dev: v.dev } : {}), port, learning: v.learning ?? true };
    }
    const link: KLink = {
      ifindex: this.nextIndex++,
      name: spec.name,
      kind: spec.kind,
      up: false,
      mtu,
      ...(spec.address !== undefined ? { address: spec.address } : {}),
      ...(vxlan !== undefined ? { vxlan } : {}),
      ...(spec.tunnel !== undefined ? { tunnel: spec.tunnel } : {}),
    };
    this.links.set(spec.name, link);
    if (spec.up === true) this.setLink(spec.name, { up: true });
  }

  /** `ip link set NAME [mtu M] [up|down]`. */
  setLink(name: string, change: { readonly mtu?: number; readonly up?: boolean; readonly address?: string }): void {
    const l = this.link(name);
    if (change.address !== undefined) l.address = change.address;
    if (change.mtu !== undefined) {
      if (change.mtu < 68 || change.mtu > 65535) throw new IpError(`Error: mtu ${change.mtu < 68 ? "less than device minimum" : "greater than device maximum"}.`);
      l.mtu = change.mtu;
    }
    if (change.up === true && !l.up) {
      l.up = true;
      if (l.kind !== "loopback" && !this.addrs.some((a) => a.dev === name && a.scope === "link" && a.addr.family === "ipv6")) {
        const ll = parseIp(`fe80::${(0x1000 + l.ifindex).toString(16)}`) as IpAddress;
        this.addrs.push({ dev: name, addr: ll, prefixlen: 64, scope: "link" });
      }
    } else if (change.up === false && l.up) {
      l.up = false;
      this.routes = this.routes.filter((r) => r.dev !== name);
      this.addrs = this.addrs.filter((a) => !(a.dev === name && a.addr.family === "ipv6"));
    }
  }

  /** `ip link del NAME`: also its addresses, routes, and vxlan links on it. */
  delLink(name: string): void {
    this.link(name);
    this.links.delete(name);
    this.addrs = this.addrs.filter((a) => a.dev !== name);
    this.routes = this.routes.filter((r) => r.dev !== name);
    for (const o of [...this.links.values()]) if (o.vxlan?.dev === name) this.delLink(o.name);
  }

  // ----- addresses -----------------------------------------------------------------------

  /** `ip address add`. */
  addAddr(dev: string, p: Cidr, scope?: string): void {
    this.link(dev);
    const v6 = p.family === "ipv6";
    const clash = this.addrs.find((a) => a.dev === dev && ipEquals(a.addr, p) && (v6 || a.prefixlen === p.prefix));
    if (clash) throw new IpError(v6 ? "Error: ipv6: address already assigned." : "RTNETLINK answers: File exists");
    // IPv6 derives the scope from the address; IPv4 takes what it is given.
    const s = v6 ? (isLinkLocal(p) ? "link" : isLoopback(p) ? "host" : "global") : (scope ?? "global");
    this.addrs.push({ dev, addr: { family: p.family, bytes: p.bytes }, prefixlen: p.prefix, scope: s });
  }

  /** `ip address del`. */
  delAddr(dev: string, p: Cidr): void {
    this.link(dev);
    const v6 = p.family === "ipv6";
    const i = this.addrs.findIndex((a) => a.dev === dev && ipEquals(a.addr, p) && (v6 || a.prefixlen === p.prefix));
    if (i < 0) throw new IpError(v6 ? "Error: ipv6: address not found." : "Error: ipv4: Address not found.");
    this.addrs.splice(i, 1);
    if (v6) return;
    const local = formatIp(p);
    this.routes = this.routes.filter((r) => {
      if (r.family !== "ipv4") return true;
      if (r.src === local && !this.addrs.some((a) => formatIp(a.addr) === local)) return false;
      return r.via === undefined || r.dev !== dev || r.onlink === true || this.connected(parseIp(r.via) as IpAddress, dev);
    });
  }

  /** True when `gw` lies in a prefix of an address on an up link (on `dev` if given). */
  private connected(gw: IpAddress, dev?: string): boolean {
    return this.addrs.some((a) => (dev === undefined || a.dev === dev) && this.links.get(a.dev)?.up === true && cidrContains({ family: a.addr.family, bytes: a.addr.bytes, prefix: a.prefixlen }, gw));
  }

  /** The device through which `gw` is connected. */
  private gatewayDev(gw: IpAddress, dev?: string): string | undefined {
    return this.addrs.find((a) => (dev === undefined || a.dev === dev) && this.links.get(a.dev)?.up === true && cidrContains({ family: a.addr.family, bytes: a.addr.bytes, prefix: a.prefixlen }, gw))?.dev;
  }

  // ----- routes --------------------------------------------------------------------------

  /** `ip route add` (or `replace` when `replace`). */
  addRoute(spec: RouteSpec, replace: boolean): void {
    const v4 = spec.family === "ipv4";
    if (spec.dst !== "default" && hasHostBits(spec.dst)) throw new IpError("Error: Invalid prefix for given prefix length.");
    if (spec.dev === undefined && spec.via === undefined) throw new IpError("RTNETLINK answers: No such device");
    // A gateway route on a down device fails the gateway check below instead (as on the kernel).
    if (spec.dev !== undefined && !this.link(spec.dev).up && spec.via === undefined) {
      throw new IpError(v4 ? "Error: Device for nexthop is not up." : "Error: Nexthop device is not up.");
    }
    let dev = spec.dev;
    // overlay: `onlink` needs a gateway (the kernel refuses it on a device route) and then
    // skips the connected-subnet check; the device must exist and be up.
    if (spec.onlink === true && spec.via === undefined) throw new IpError("Error: Invalid flags for nexthop - PERVASIVE and ONLINK can not be set.");
    if (spec.onlink === true && spec.via !== undefined) {
      if (spec.dev === undefined) throw new IpError("Error: Nexthop device required for onlink.");
      if (!this.link(spec.dev).up) throw new IpError("Error: Nexthop device is not up.");
      if (spec.via.family !== spec.family) throw new IpError("Error: Gateway family does not match route family.");
    } else if (spec.via !== undefined) {
      if (spec.via.family !== spec.family) throw new IpError("Error: Gateway family does not match route family.");
      const through = this.gatewayDev(spec.via, spec.dev);
      if (through === undefined) throw new IpError(v4 ? "Error: Nexthop has invalid gateway." : "RTNETLINK answers: No route to host");
      dev = through;
    }
    if (spec.src !== undefined && !this.addrs.some((a) => spec.src !== undefined && ipEquals(a.addr, spec.src))) {
      throw new IpError("Error: Invalid prefsrc address.");
    }
    const dst = dstText(spec.dst);
    const defaultScope = !v4 ? "global" : spec.type === "local" ? "host" : spec.via === undefined ? "link" : "global";
    const route: KRoute = {
      family: spec.family,
      table: spec.table,
      dst,
      ...(spec.via !== undefined ? { via: formatIp(spec.via) } : {}),
      dev: dev as string,
      ...(spec.src !== undefined ? { src: formatIp(spec.src) } : {}),
      proto: spec.proto,
      type: spec.type,
      scope: v4 ? (spec.scope ?? defaultScope) : "global",
      ...(spec.onlink === true ? { onlink: true } : {}),
    };
    const i = this.routes.findIndex((r) => r.family === spec.family && r.table === spec.table && r.dst === dst);
    if (i >= 0 && !replace) throw new IpError("RTNETLINK answers: File exists");
    if (i >= 0) this.routes[i] = route;
    else this.routes.push(route);
  }

  /** `ip route del`: the first route matching every given attribute. */
  delRoute(m: RouteMatch): void {
    const dst = dstText(m.dst);
    const i = this.routes.findIndex((r) =>
      r.family === m.family && r.table === m.table && r.dst === dst &&
      (m.proto === undefined || r.proto === m.proto) &&
      (m.via === undefined || r.via === formatIp(m.via)) &&
      (m.dev === undefined || r.dev === m.dev));
    if (i < 0) throw new IpError("RTNETLINK answers: No such process");
    this.routes.splice(i, 1);
  }

  // ----- rules ---------------------------------------------------------------------------

  /** `ip rule add`; without a priority the kernel picks one below the first non-zero rule. */
  addRule(r: { readonly family: Family; readonly priority?: number; readonly sel: Selector; readonly table: string }): void {
    const same = this.rules.filter((x) => x.family === r.family);
    const priority = r.priority ?? Math.max(0, Math.min(...same.filter((x) => x.priority > 0).map((x) => x.priority), 32766) - 1);
    if (same.some((x) => x.priority === priority && x.table === r.table && sameSel(x.sel, r.sel))) throw new IpError("RTNETLINK answers: File exists");
    this.rules.push({ family: r.family, priority, sel: r.sel, table: r.table });
    this.rules.sort((a, b) => a.priority - b.priority);
  }

  /** `ip rule del`: the first rule matching every given attribute. */
  delRule(m: RuleMatch): void {
    const s = m.sel;
    const i = this.rules.findIndex((x) =>
      x.family === m.family &&
      (m.priority === undefined || x.priority === m.priority) &&
      (m.table === undefined || x.table === m.table) &&
      (!s.not || x.sel.not) &&
      (s.from === undefined || x.sel.from === s.from) && (s.to === undefined || x.sel.to === s.to) &&
      (s.tos === undefined || x.sel.tos === s.tos) && (s.fwmark === undefined || x.sel.fwmark === s.fwmark) &&
      (s.iif === undefined || x.sel.iif === s.iif) && (s.oif === undefined || x.sel.oif === s.oif));
    if (i < 0) throw new IpError("RTNETLINK answers: No such file or directory");
    this.rules.splice(i, 1);
  }
}
