/**
 * The firewall's fixed chains and builtin-chain jumps (kube-router-features.md §4.3-4.4), per
 * family. Pure.
 *
 * - INPUT, FORWARD, OUTPUT: `-m comment --comment "kube-router netpol - <UUID>" -j KUBE-ROUTER-*`
 *   at position 1 (assemble.ts numbers positions; the firewall's jumps come first);
 * - `KUBE-ROUTER-INPUT` starts with RETURN exemptions, so egress policy never blocks service
 *   VIPs before DNAT: the service cluster IP range(s) of the family, LOCAL destinations in the
 *   node port range for TCP, UDP and SCTP, each external IP range and load-balancer IP range;
 * - `KUBE-NWPLCY-DEFAULT` marks everything allowed; `KUBE-NWPLCY-COMMON` drops INVALID,
 *   accepts RELATED,ESTABLISHED and the ICMP types upstream accepts;
 * - `KUBE-NWPLCY-TAIL` accepts `0x20000`; with `--netpol-default-deny` it first rejects
 *   traffic of the node's pod CIDRs from/to pods not in `kube-router-local-pods` and after
 *   the accept rejects the rest of the pod CIDRs' traffic;
 * - each top-level chain ends with the jump to the tail and the explicit accept.
 *
 * @category render
 */
import { canonicalCidr, cidrFamily } from "../../model/ip.ts";
import { IPSET, ipsetName } from "../../model/names.ts";
import type { Family, Jump } from "../../model/state.ts";
import { CHAIN } from "./names.ts";
import { MARK_ALLOWED, MARK_NETPOL_OK, commentArgs, rejectArgs, ruleText, uuidSuffix } from "./rules.ts";

/** The three builtin jumps of a family. */
export function builtinJumps(family: Family): Jump[] {
  return ([["INPUT", CHAIN.input], ["FORWARD", CHAIN.forward], ["OUTPUT", CHAIN.output]] as const).map(([builtin, target]) => {
    const comment = `kube-router netpol - ${uuidSuffix(builtin, ["-j", target])}`;
    return { family, table: "filter", chain: builtin, comment, rule: ruleText([...commentArgs(comment), "-j", target]), position: 1 };
  });
}

export interface ExemptionInput {
  readonly serviceClusterIpRange: readonly string[];
  readonly serviceNodePortRange: string;
  readonly serviceExternalIpRange: readonly string[];
  readonly loadbalancerIpRange: readonly string[];
}

/** The RETURN rules at the top of KUBE-ROUTER-INPUT, and warnings about unusable values. */
export function inputExemptions(cfg: ExemptionInput, family: Family): { rules: string[]; warnings: string[] } {
  const rules: string[] = [];
  const warnings: string[] = [];
  const ret = (args: readonly string[], comment: string) => {
    rules.push(ruleText([...args, ...commentArgs(`${comment} - ${uuidSuffix(CHAIN.input, args)}`), "-j", "RETURN"]));
  };
  const cidrsOf = (list: readonly string[], flag: string): string[] =>
    list.flatMap((c) => {
      const canonical = canonicalCidr(c.trim());
      if (canonical === undefined) { warnings.push(`firewall: ${flag}: invalid CIDR ${JSON.stringify(c)}; no KUBE-ROUTER-INPUT exemption for it`); return []; }
      return cidrFamily(canonical) === family ? [canonical] : [];
    });
  cfg.serviceClusterIpRange.forEach((c, i) => {
    for (const ok of cidrsOf([c], "--service-cluster-ip-range")) ret(["-d", ok], `allow traffic to ${i === 0 ? "primary" : "secondary"} cluster IP range`);
  });
  const m = /^(\d+)[-:](\d+)$/.exec(cfg.serviceNodePortRange.trim());
  if (m === null || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535) {
    warnings.push(`firewall: --service-node-port-range: invalid range ${JSON.stringify(cfg.serviceNodePortRange)}; no node port exemption`);
  } else {
    for (const proto of ["tcp", "udp", "sctp"] as const) {
      const args = ["-p", proto, "-m", "addrtype", "--dst-type", "LOCAL", "-m", "multiport", "--dports", `${m[1]}:${m[2]}`];
      const comment = `allow LOCAL ${proto.toUpperCase()} traffic to node ports - ${uuidSuffix(CHAIN.input, args)}`;
      rules.push(ruleText(["-p", proto, ...commentArgs(comment), ...args.slice(2), "-j", "RETURN"]));
    }
  }
  for (const c of cidrsOf(cfg.serviceExternalIpRange, "--service-external-ip-range")) ret(["-d", c], `allow traffic to external IP range: ${c}`);
  for (const c of cidrsOf(cfg.loadbalancerIpRange, "--loadbalancer-ip-range")) ret(["-d", c], `allow traffic to load balancer IP range: ${c}`);
  return { rules, warnings };
}

/** KUBE-NWPLCY-DEFAULT: mark everything allowed. */
export function defaultChainRules(): string[] {
  return [ruleText([...commentArgs("rule to mark traffic matching a network policy"), "-j", "MARK", "--set-xmark", MARK_ALLOWED])];
}

/** KUBE-NWPLCY-COMMON: conntrack state and the ICMP types upstream always accepts. */
export function commonChainRules(family: Family): string[] {
  const icmp = (type: number, comment: string) =>
    family === "ipv4"
      ? ruleText(["-p", "icmp", "-m", "icmp", "--icmp-type", String(type), ...commentArgs(comment), "-j", "ACCEPT"])
      : ruleText(["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", String(type), ...commentArgs(comment), "-j", "ACCEPT"]);
  const rules = [
    ruleText(["-m", "conntrack", "--ctstate", "INVALID", ...commentArgs("rule to drop invalid state for pod"), "-j", "DROP"]),
    ruleText(["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", ...commentArgs("rule for stateful firewall for pod"), "-j", "ACCEPT"]),
  ];
  if (family === "ipv4") {
    rules.push(icmp(8, "allow icmp echo requests"), icmp(3, "allow icmp destination unreachable messages"), icmp(11, "allow icmp time exceeded messages"));
  } else {
    rules.push(
      icmp(128, "allow icmp echo requests"), icmp(1, "allow icmp destination unreachable messages"), icmp(3, "allow icmp time exceeded messages"),
      icmp(135, "allow icmp neighbor solicitation messages"), icmp(136, "allow icmp neighbor advertisement messages"), icmp(129, "allow icmp echo reply messages"),
    );
  }
  return rules;
}

/** KUBE-NWPLCY-TAIL; `podCidrs` non-empty only with default-deny (the node's CIDRs of the family). */
export function tailChainRules(family: Family, podCidrs: readonly string[]): string[] {
  const localPods = ipsetName(IPSET.localPods, family);
  const rules: string[] = [];
  for (const c of podCidrs) {
    const comment = commentArgs("reject unprogrammed local pod (default-deny)");
    rules.push(ruleText(["-s", c, "-m", "set", "!", "--match-set", localPods, "src", ...comment, ...rejectArgs(family)]));
    rules.push(ruleText(["-d", c, "-m", "set", "!", "--match-set", localPods, "dst", ...comment, ...rejectArgs(family)]));
  }
  rules.push(ruleText(["-m", "mark", "--mark", MARK_NETPOL_OK, ...commentArgs("accept netpol-ok"), "-j", "ACCEPT"]));
  for (const c of podCidrs) {
    const comment = commentArgs("reject pre-netpol (default-deny)");
    rules.push(ruleText(["-s", c, ...comment, ...rejectArgs(family)]));
    rules.push(ruleText(["-d", c, ...comment, ...rejectArgs(family)]));
  }
  return rules;
}

/** The two rules that end every top-level chain. */
export function topChainEnd(): string[] {
  return [
    ruleText([...commentArgs("rule to explicitly handle traffic for network policies ACCEPT/REJECT decision"), "-j", CHAIN.tail]),
    ruleText(["-m", "mark", "--mark", MARK_NETPOL_OK, ...commentArgs("rule to explicitly ACCEPT traffic that comply to network policies"), "-j", "ACCEPT"]),
  ];
}
