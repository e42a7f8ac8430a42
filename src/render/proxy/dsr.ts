/**
 * DSR plumbing (kube-router-features.md §3.6–3.7) for the fwmark services of
 * `kube-router.io/service.dsr: tunnel` external/LB IPs:
 * - mangle `KUBE-ROUTER-DSR-MARK` (jumped to from PREROUTING and OUTPUT): `-d <ip> -p <proto>
 *   --dport <port> -j MARK` with the service's mark;
 * - mangle `KUBE-ROUTER-DSR-MSS` (from PREROUTING), TCP only: clamp the MSS of SYNs the pods
 *   answer from the VIP to node MTU − 60 (IPv4) or − 100 (IPv6);
 * - `ip rule fwmark <M> lookup 78 priority 32764` and table 78's `local default dev lo`.
 * Upstream writes the MARK/TCPMSS rules into PREROUTING/OUTPUT directly; here they live in two
 * owned chains (replaced whole, one positioned jump each) — same packets, clean ownership.
 * The in-pod half (an ipip tunnel holding the VIP inside each local endpoint's netns) is not
 * kernel state of this node: `dsrPodTunnels` lists it for src/apply/dsr-pod. Pure.
 *
 * @category render
 */
import { ruleText } from "../../model/iptables-rule.ts";
import { DSR_RULE_PRIORITY, DSR_TABLE, KUBE_BRIDGE, PROXY_CHAIN, ROUTE_PROTO } from "../../model/names.ts";
import type { Chain, Family, Jump, PolicyRule, Route } from "../../model/state.ts";
import { PROXY_COMMENT } from "./plumbing.ts";

export interface DsrEntry {
  readonly family: Family;
  readonly vip: string;
  readonly protocol: string;
  readonly port: number;
  readonly fwmark: number;
}

const hostLen = (f: Family) => (f === "ipv6" ? "/128" : "/32");
const hex = (n: number) => `0x${n.toString(16)}`;

/** Mangle chains, jumps, policy rules and table-78 routes for the DSR entries (sorted input ⇒ sorted output). */
export function dsrPlumbing(entries: readonly DsrEntry[], nodeMtu: number): { chains: Chain[]; jumps: Jump[]; rules: PolicyRule[]; routes: Route[] } {
  const chains: Chain[] = [];
  const jumps: Jump[] = [];
  const rules: PolicyRule[] = [];
  const routes: Route[] = [];
  for (const f of ["ipv4", "ipv6"] as const) {
    const mine = entries.filter((e) => e.family === f);
    if (mine.length === 0) continue;
    const mark = mine.map((e) => ruleText(["-d", `${e.vip}${hostLen(f)}`, "-p", e.protocol, "-m", e.protocol, "--dport", String(e.port), "-j", "MARK", "--set-xmark", `${hex(e.fwmark)}/0xffffffff`]));
    const mss = nodeMtu - (f === "ipv4" ? 60 : 100);
    const clamp = mine.filter((e) => e.protocol === "tcp").map((e) =>
      ruleText(["-s", `${e.vip}${hostLen(f)}`, "-i", KUBE_BRIDGE, "-p", "tcp", "-m", "tcp", "--sport", String(e.port), "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--set-mss", String(mss)]));
    chains.push({ family: f, table: "mangle", name: PROXY_CHAIN.dsrMark, rules: mark });
    const jump = (chain: string, comment: string, target: string, position: number) =>
      jumps.push({ family: f, table: "mangle", chain, comment, position, rule: ruleText(["-m", "comment", "--comment", comment, "-j", target]) });
    jump("PREROUTING", PROXY_COMMENT.dsrMark, PROXY_CHAIN.dsrMark, 1);
    jump("OUTPUT", PROXY_COMMENT.dsrMark, PROXY_CHAIN.dsrMark, 1);
    if (clamp.length > 0) {
      chains.push({ family: f, table: "mangle", name: PROXY_CHAIN.dsrMss, rules: clamp });
      jump("PREROUTING", PROXY_COMMENT.dsrMss, PROXY_CHAIN.dsrMss, 2);
    }
    for (const m of [...new Set(mine.map((e) => e.fwmark))].sort((a, b) => a - b)) {
      rules.push({ family: f, priority: DSR_RULE_PRIORITY, selector: `fwmark ${hex(m)}`, table: DSR_TABLE });
    }
    routes.push({ family: f, table: DSR_TABLE, dst: "default", dev: "lo", proto: ROUTE_PROTO, type: "local" });
  }
  return { chains, jumps, rules, routes };
}
