/**
 * The JSON dumps of FakeIp, shaped like iproute2 6.1's `-j` output for the fields the
 * parsers read and a few they must ignore (fe80 addresses, `metric`/`pref` on IPv6 routes,
 * `protocol` only without a proto filter, default rules, hosts printed without `/32`).
 * Pure functions of the fake kernel.
 *
 * @category apply
 */
import type { Family } from "../../model/state.ts";
import { formatIp } from "../../model/ip.ts";
import type { FakeIpKernel, KLink, KRule } from "./fake-kernel.ts";

/** Names `ip` prints for route protocols (Debian's /etc/iproute2/rt_protos; 17 has none). */
export const PROTO_NAMES: Readonly<Record<string, string>> = { "2": "kernel", "3": "boot", "4": "static", "11": "zebra" };

/** `ip -d -j addr show`. */
export function addrJson(k: FakeIpKernel): string {
  const links = [...k.links.values()].sort((a, b) => a.ifindex - b.ifindex);
  return JSON.stringify(links.map((l) => {
    const addrs = [...k.addrs.filter((a) => a.dev === l.name && a.addr.family === "ipv4"), ...k.addrs.filter((a) => a.dev === l.name && a.addr.family === "ipv6")];
    const flags = l.kind === "loopback" ? ["LOOPBACK"] : l.kind === "ipip" || l.kind === "ip6tnl" ? ["POINTOPOINT", "NOARP"] : ["BROADCAST", "MULTICAST"];
    if (l.up) flags.push("UP", "LOWER_UP");
    const info = linkInfo(l);
    return {
      ifindex: l.ifindex,
      ifname: l.name,
      flags,
      mtu: l.mtu,
      qdisc: l.up ? "noqueue" : "noop",
      operstate: l.up ? (l.kind === "loopback" ? "UNKNOWN" : "UP") : "DOWN",
      group: "default",
      txqlen: 1000,
      link_type: l.kind === "loopback" ? "loopback" : l.kind === "ipip" ? "ipip" : l.kind === "ip6tnl" ? "tunnel6" : "ether",
      address: l.kind === "loopback" ? "00:00:00:00:00:00" : l.address !== undefined ? l.address : `02:00:00:00:${(l.ifindex >> 8).toString(16).padStart(2, "0")}:${(l.ifindex & 255).toString(16).padStart(2, "0")}`,
      ...(info !== undefined ? { linkinfo: info } : {}),
      addr_info: addrs.map((a) => ({
        family: a.addr.family === "ipv4" ? "inet" : "inet6",
        local: formatIp(a.addr),
        prefixlen: a.prefixlen,
        scope: a.scope,
        ...(a.addr.family === "ipv4" ? { label: l.name } : {}),
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      })),
    };
  }));
}

/** `ip [-4|-6] -j route show [table T|all] [proto P]`; `protocol` is omitted under a proto filter, as ip does. */
export function routeJson(k: FakeIpKernel, family: Family | undefined, table: string | undefined, proto: string | undefined): string {
  const tableRank = (t: string): number => (t === "main" ? 254 : t === "local" ? 255 : t === "default" ? 253 : Number(t));
  const rs = k.routes
    .filter((r) => (family === undefined || r.family === family) && (table === undefined || r.table === table) && (proto === undefined || r.proto === proto))
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.family === b.r.family ? 0 : a.r.family === "ipv4" ? -1 : 1) || tableRank(a.r.table) - tableRank(b.r.table) || a.i - b.i)
    .map(({ r }) => r);
  return JSON.stringify(rs.map((r) => {
    const host = r.dst !== "default" && r.dst.endsWith(r.family === "ipv4" ? "/32" : "/128");
    return {
      ...(r.type !== "unicast" ? { type: r.type } : {}),
      dst: host ? r.dst.slice(0, r.dst.lastIndexOf("/")) : r.dst,
      ...(r.via !== undefined ? { gateway: r.via } : {}),
      dev: r.dev,
      ...(r.table !== "main" ? { table: r.table } : {}),
      ...(proto === undefined ? { protocol: PROTO_NAMES[r.proto] ?? r.proto } : {}),
      ...(r.family === "ipv4" && r.scope !== "global" ? { scope: r.scope } : {}),
      ...(r.src !== undefined ? { prefsrc: r.src } : {}),
      ...(r.family === "ipv6" ? { metric: 1024 } : {}),
      flags: r.onlink === true ? ["onlink"] : [],
      ...(r.family === "ipv6" ? { pref: "medium" } : {}),
    };
  }));
}

/** `ip -4|-6 -j rule show`. */
export function ruleJson(k: FakeIpKernel, family: Family): string {
  const full = family === "ipv4" ? 32 : 128;
  const split = (p: string): [string, number] => {
    const i = p.lastIndexOf("/");
    return [p.slice(0, i), Number(p.slice(i + 1))];
  };
  return JSON.stringify(k.rules.filter((r) => r.family === family).map((r: KRule) => {
    const s = r.sel;
    const out: Record<string, unknown> = { priority: r.priority };
    if (s.not) out["not"] = null;
    if (s.from === undefined) out["src"] = "all";
    else {
      const [a, len] = split(s.from);
      out["src"] = a;
      if (len !== full) out["srclen"] = len;
    }
    if (s.to !== undefined) {
      const [a, len] = split(s.to);
      out["dst"] = a;
      if (len !== full) out["dstlen"] = len;
    }
    if (s.tos !== undefined) out["tos"] = s.tos;
    if (s.fwmark !== undefined) {
      const [v, m] = s.fwmark.split("/");
      out["fwmark"] = v;
      if (m !== undefined) out["fwmask"] = m;
    }
    if (s.iif !== undefined) out["iif"] = s.iif;
    if (s.oif !== undefined) out["oif"] = s.oif;
    out["table"] = r.table;
    return out;
  }));
}

function linkInfo(l: KLink): Record<string, unknown> | undefined {
  if (l.kind === "loopback") return undefined;
  if (l.kind === "vxlan" && l.vxlan) {
    const v = l.vxlan;
    const local = v.local === undefined ? {} : v.local.includes(":") ? { local6: v.local } : { local: v.local };
    return {
      info_kind: "vxlan",
      info_data: { id: v.id, ...local, ...(v.dev !== undefined ? { link: v.dev } : {}), port_range: { low: 0, high: 0 }, port: v.port, learning: v.learning, ttl: 0, df: "unset", ageing: 300 },
    };
  }
  if (l.kind === "ipip") {
    return { info_kind: "ipip", info_data: { proto: "ipip", remote: l.tunnel?.remote ?? "any", local: l.tunnel?.local ?? "any", ttl: l.tunnel?.ttl ?? 0, pmtudisc: true, ...encapJson(l) } };
  }
  if (l.kind === "ip6tnl") {
    return { info_kind: "ip6tnl", info_data: { proto: "ip6ip6", remote: l.tunnel?.remote ?? "::", local: l.tunnel?.local ?? "::", ttl: l.tunnel?.ttl ?? 64, encap_limit: 4, ...encapJson(l) } };
  }
  if (l.kind === "bridge") return { info_kind: "bridge", info_data: { forward_delay: 1500, stp_state: 0, vlan_filtering: 0 } };
  return { info_kind: l.kind };
}

/** Overlay: the FoU/GUE `encap` object iproute2 prints for an encapsulating tunnel. */
function encapJson(l: KLink): Record<string, unknown> {
  const e = l.tunnel?.encap;
  return e === undefined ? {} : { encap: { type: e.type, sport: 0, dport: e.dport, csum: false, csum6: false, remcsum: false } };
}
