/**
 * The kernel plumbing around the IPVS services (kube-router-features.md §3.3, §3.5, §3.6,
 * §3.8), built from the final list of virtual services:
 * - `kube-dummy-if` (dummy, up) holding every non-DSR cluster/external/LB VIP (`/32` scope
 *   link, `/128`), each with a local-table route whose source is the node IP of the family;
 * - ipsets `kube-router-local-ips`, `kube-router-svip`, `kube-router-svip-prt` (+ `inet6:`);
 * - filter `KUBE-ROUTER-SERVICES` and its INPUT jump (with `--ipvs-permit-all`);
 * - nat POSTROUTING SNAT of IPVS-masqueraded traffic from non-pod sources, and of all of it
 *   with `--masquerade-all`; `KUBE-ROUTER-HAIRPIN` and its jump when a family has hairpin rules;
 * - the IPVS sysctls set at start.
 * Every builtin-chain rule carries a `kube-router …` comment (upstream's masquerade rules have
 * an empty one) so it is recognisably ours. Pure.
 *
 * @category render
 */
import { canonicalMember } from "../../model/ipset-members.ts";
import { ruleText } from "../../model/iptables-rule.ts";
import { IPSET, KUBE_BRIDGE, KUBE_DUMMY_IF, PROXY_CHAIN, ROUTE_PROTO, ipsetName } from "../../model/names.ts";
import type { NodeConfig } from "../../model/config.ts";
import { type Address, type Chain, type Family, type Ipset, type IpvsTimeouts, type Jump, type Route, type Sysctl, IPVS_TIMEOUTS_KEY } from "../../model/state.ts";
import type { ProxyContext } from "./context.ts";

export const PROXY_COMMENT = {
  servicesJump: "handle traffic to IPVS service IPs in custom chain",
  masquerade: "kube-router ipvs masquerade of non-pod sources",
  masqueradeAll: "kube-router ipvs masquerade all",
  hairpinJump: "kube-router ipvs hairpin",
  dsrMark: "kube-router dsr fwmark",
  dsrMss: "kube-router dsr tcpmss",
} as const;

const inet = (f: Family) => (f === "ipv6" ? "inet6" : "inet") as "inet" | "inet6";
const hostLen = (f: Family) => (f === "ipv6" ? 128 : 32);

/** The VIP's address on kube-dummy-if. */
export const vipAddress = (vip: string, f: Family): Address => ({ dev: KUBE_DUMMY_IF, cidr: `${vip}/${hostLen(f)}`, ...(f === "ipv4" ? { scope: "link" as const } : {}) });

/** The VIP's local-table route, source = node IP (so the node talks to VIPs from its own IP). */
export function vipRoute(vip: string, f: Family, nodeIp: string | undefined): Route {
  return { family: f, table: "local", dst: `${vip}/${hostLen(f)}`, dev: KUBE_DUMMY_IF, ...(nodeIp !== undefined ? { src: nodeIp } : {}), proto: ROUTE_PROTO, type: "local" };
}

/** `kube-router-svip`, `kube-router-svip-prt` and `kube-router-local-ips` of each enabled family. */
export function proxyIpsets(ctx: ProxyContext, vips: ReadonlyMap<Family, Set<string>>, vipPorts: ReadonlyMap<Family, Set<string>>): Ipset[] {
  return ctx.families.flatMap((f) => {
    const family = inet(f);
    const member = (type: "hash:ip" | "hash:ip,port", v: string) => canonicalMember(type, family, v);
    return [
      { name: ipsetName(IPSET.localIps, f), type: "hash:ip", family, timeout: 0, members: new Set((ctx.localIps.get(f) ?? []).map((v) => member("hash:ip", v))) },
      { name: ipsetName(IPSET.serviceVips, f), type: "hash:ip", family, timeout: 0, members: vips.get(f) ?? new Set() },
      { name: ipsetName(IPSET.serviceVipPorts, f), type: "hash:ip,port", family, timeout: 0, members: vipPorts.get(f) ?? new Set() },
    ] satisfies Ipset[];
  });
}

/** `ip,proto:port` member of kube-router-svip-prt. */
export const vipPortMember = (f: Family, vip: string, proto: string, port: number): string => canonicalMember("hash:ip,port", inet(f), `${vip},${proto}:${port}`);

/** filter KUBE-ROUTER-SERVICES per family (upstream's rules and comments) and its INPUT jumps. */
export function servicesFirewall(ctx: ProxyContext): { chains: Chain[]; jumps: Jump[] } {
  const chains: Chain[] = [];
  const jumps: Jump[] = [];
  if (!ctx.config.ipvsPermitAll) return { chains, jumps };
  for (const f of ctx.families) {
    const icmp = f === "ipv4"
      ? [["8", "allow icmp echo requests"], ["3", "allow icmp destination unreachable messages"], ["11", "allow icmp time exceeded messages"]]
      : [["128", "allow icmp echo requests"], ["1", "allow icmp destination unreachable messages"], ["3", "allow icmp time exceeded messages"],
        ["135", "allow icmp neighbor solicitation messages"], ["136", "allow icmp neighbor advertisement messages"], ["129", "allow icmp echo reply messages"]];
    const rules = icmp.map(([type, comment]) => f === "ipv4"
      ? ruleText(["-p", "icmp", "-m", "icmp", "--icmp-type", type!, "-m", "comment", "--comment", comment!, "-j", "ACCEPT"])
      : ruleText(["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", type!, "-m", "comment", "--comment", comment!, "-j", "ACCEPT"]));
    rules.push(ruleText(["-m", "comment", "--comment", "allow input traffic to ipvs services", "-m", "set", "--match-set", ipsetName(IPSET.serviceVipPorts, f), "dst,dst", "-j", "ACCEPT"]));
    rules.push(ruleText(["-m", "comment", "--comment", "reject all unexpected traffic to service IPs", "-m", "set", "!", "--match-set", ipsetName(IPSET.localIps, f), "dst", "-j", "REJECT", "--reject-with", f === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable"]));
    chains.push({ family: f, table: "filter", name: PROXY_CHAIN.services, rules });
    jumps.push({
      family: f, table: "filter", chain: "INPUT", comment: PROXY_COMMENT.servicesJump, position: 1,
      rule: ruleText(["-m", "set", "--match-set", ipsetName(IPSET.serviceVips, f), "dst", "-m", "comment", "--comment", PROXY_COMMENT.servicesJump, "-j", PROXY_CHAIN.services]),
    });
  }
  return { chains, jumps };
}

/**
 * nat POSTROUTING: hairpin jump (when the family has hairpin rules), SNAT of IPVS-masqueraded
 * connections from outside the pod CIDRs (one per pod CIDR), and with `--masquerade-all` of
 * all of them. The source is the node IP of the family; `--random-fully` as upstream uses it.
 */
export function natRules(ctx: ProxyContext, hairpin: ReadonlyMap<Family, readonly string[]>): { chains: Chain[]; jumps: Jump[]; warnings: string[] } {
  const chains: Chain[] = [];
  const jumps: Jump[] = [];
  const warnings: string[] = [];
  for (const f of ctx.families) {
    let pos = 0;
    const jump = (comment: string, args: string[]) => jumps.push({ family: f, table: "nat", chain: "POSTROUTING", comment, position: ++pos, rule: ruleText(args) });
    const rules = hairpin.get(f) ?? [];
    if (rules.length > 0) {
      chains.push({ family: f, table: "nat", name: PROXY_CHAIN.hairpin, rules });
      jump(PROXY_COMMENT.hairpinJump, ["-m", "ipvs", "--vdir", "ORIGINAL", "-m", "comment", "--comment", PROXY_COMMENT.hairpinJump, "-j", PROXY_CHAIN.hairpin]);
    }
    const nodeIp = ctx.nodeIp.get(f);
    if (nodeIp === undefined) { warnings.push(`proxy: Node ${ctx.nodeName}: status.addresses: no ${f} address; ${f} IPVS masquerade rules skipped`); continue; }
    const snat = ["-j", "SNAT", "--to-source", nodeIp, "--random-fully"];
    const cidrs = ctx.podCidrs.get(f) ?? [];
    for (const c of cidrs) {
      const comment = cidrs.length > 1 ? `${PROXY_COMMENT.masquerade} ${c}` : PROXY_COMMENT.masquerade;
      jump(comment, ["!", "-s", c, "!", "-d", c, "-m", "ipvs", "--vdir", "ORIGINAL", "--vmethod", "MASQ", "-m", "comment", "--comment", comment, ...snat]);
    }
    if (ctx.config.masqueradeAll) jump(PROXY_COMMENT.masqueradeAll, ["-m", "ipvs", "--vdir", "ORIGINAL", "--vmethod", "MASQ", "-m", "comment", "--comment", PROXY_COMMENT.masqueradeAll, ...snat]);
  }
  return { chains, jumps, warnings };
}

/** IPVS sysctls upstream sets at start; `sloppy_tcp` is 1 iff a DSR service uses `mh`. */
export function proxySysctls(sloppyTcp: boolean): Sysctl[] {
  return [
    { path: "net/ipv4/vs/conntrack", value: "1" },
    { path: "net/ipv4/vs/expire_nodest_conn", value: "1" },
    { path: "net/ipv4/vs/expire_quiescent_template", value: "1" },
    { path: "net/ipv4/vs/conn_reuse_mode", value: "0" },
    { path: "net/ipv4/vs/sloppy_tcp", value: sloppyTcp ? "1" : "0" },
    { path: "net/ipv4/conf/all/arp_ignore", value: "1" },
    { path: "net/ipv4/conf/all/arp_announce", value: "2" },
  ];
}

/**
 * IPVS global timeouts from `--service-tcp-timeout`, `--service-tcpfin-timeout` and
 * `--service-udp-timeout` (ms in the config; whole seconds, at least 1, in the kernel). Empty
 * when all three are 0 (upstream then leaves the kernel's values alone); a 0 field is kept.
 */
export function ipvsTimeouts(cfg: Pick<NodeConfig, "serviceTcpTimeout" | "serviceTcpfinTimeout" | "serviceUdpTimeout">): Map<string, IpvsTimeouts> {
  const sec = (ms: number) => (ms > 0 ? Math.max(1, Math.round(ms / 1000)) : 0);
  const t: IpvsTimeouts = { tcp: sec(cfg.serviceTcpTimeout), tcpfin: sec(cfg.serviceTcpfinTimeout), udp: sec(cfg.serviceUdpTimeout) };
  return t.tcp + t.tcpfin + t.udp === 0 ? new Map() : new Map([[IPVS_TIMEOUTS_KEY, t]]);
}

/**
 * Upstream's reverse-path filter change: on `all`, kube-bridge, kube-dummy-if and the node
 * interface, a strict `rp_filter` (1) becomes loose (2) so replies to IPVS-forwarded traffic
 * are not dropped; 0 and 2 are left alone, and so is anything host facts did not read.
 * Once 2, the next render asks nothing (sysctls are never deleted), so it is set once.
 */
export function rpFilterSysctls(current: Readonly<Record<string, string>> | undefined, nodeIface: string | undefined): Sysctl[] {
  const names = ["all", KUBE_BRIDGE, KUBE_DUMMY_IF, ...(nodeIface !== undefined ? [nodeIface] : [])];
  return [...new Set(names)].filter((n) => current?.[n] === "1").map((n) => ({ path: `net/ipv4/conf/${n}/rp_filter`, value: "2" }));
}
