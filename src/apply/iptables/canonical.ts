/**
 * Canonical rule forms: what iptables-save prints for the rule shapes kube-router uses.
 * Renderers must emit `canonical` exactly (as `ruleText` of their argv), or every sync sees a
 * difference and rewrites the chain. Verified against the kernel on BOTH backends (nft and
 * legacy, iptables 1.8.9) by test/apply/iptables-kernel.test.ts, and against the fake by
 * test/apply/iptables-fake.test.ts. The two backends print every entry identically.
 *
 * What iptables-save changes (all entries below show it):
 * - `-s -d -i -o -p` move to the front, in that order; matches keep the order written; the
 *   target (`-j X` and its options) goes last, even when written before a match;
 * - `-p tcp --dport 80` gains its implicit match: `-p tcp -m tcp --dport 80` (likewise udp,
 *   sctp, `icmp`, `icmp6`); the `-m tcp` appears where the first port option was written
 *   (after `-m comment …` if the port came after it); `-p 6` / `-p TCP` print as `-p tcp`,
 *   `-p icmpv6` as `-p ipv6-icmp`, `-p all` disappears;
 * - addresses gain a prefix length (`-d 1.2.3.4` → `-d 1.2.3.4/32`, `fd00::1` → `fd00::1/128`)
 *   and are masked (`10.1.0.5/24` → `10.1.0.0/24`);
 * - ICMP type names print as numbers (`echo-request` → `8`; IPv6 `echo-request` → `128`);
 * - `-j REJECT` gains `--reject-with icmp-port-unreachable` (`icmp6-port-unreachable`);
 * - `-j MARK --set-mark 0/0x10000` → `--set-xmark 0x0/0x10000`; `--set-mark 0x4000` →
 *   `--set-xmark 0x4000/0xffffffff`;
 * - `--limit 10/minute` → `--limit 10/min`; NFLOG prints `--nflog-prefix` before `--nflog-group`;
 * - comment quoting: iptables-save double-quotes a comment (also `--log-prefix`,
 *   `--nflog-prefix`) containing any character outside `[A-Za-z0-9_-]` (so `"ns/pod"`,
 *   `"1.2.3.4"`) and writes `'` as `\'`. That is only spelling: the parser normalises
 *   with `ruleText(ruleTokens(…))`, so `canonical` is the `ruleText` form (quoted only
 *   with whitespace, quotes or backslashes) and `saved` records the raw line where it differs.
 *
 * Not verifiable here: `-m ipvs …` (the dev kernel has no xt_ipvs; the rule is refused with
 * "No such file or directory"). Comments are limited to 256 characters.
 *
 * @category apply
 */
import type { Family, IptTableName } from "../../model/state.ts";

export interface CanonicalRule {
  readonly family: Family;
  readonly table: IptTableName;
  /** The rule as a person (or upstream kube-router) writes it. */
  readonly input: string;
  /** What renderers must emit: the parsed, `ruleText`-normalised form of the saved rule. */
  readonly canonical: string;
  /** The raw text iptables-save prints, when it differs from `canonical` (quoting only). */
  readonly saved?: string;
}

/** ipsets the catalog's rules reference (`ipset create NAME TYPE [family inet6]`). */
export const CATALOG_IPSETS: readonly { readonly name: string; readonly type: string; readonly family: "inet" | "inet6" }[] = [
  { name: "kube-router-pod-subnets", type: "hash:net", family: "inet" },
  { name: "kube-router-node-ips", type: "hash:ip", family: "inet" },
  { name: "kube-router-local-ips", type: "hash:ip", family: "inet" },
  { name: "kube-router-local-pods", type: "hash:ip", family: "inet" },
  { name: "kube-router-svip", type: "hash:ip", family: "inet" },
  { name: "kube-router-svip-prt", type: "hash:ip,port", family: "inet" },
  { name: "KUBE-SRC-AAAAAAAAAAAAAAAA", type: "hash:ip", family: "inet" },
  { name: "KUBE-DST-AAAAAAAAAAAAAAAA", type: "hash:ip", family: "inet" },
  { name: "inet6:kube-router-pod-subnets", type: "hash:net", family: "inet6" },
  { name: "inet6:kube-router-node-ips", type: "hash:ip", family: "inet6" },
];

const v4 = (table: IptTableName, input: string, canonical: string, saved?: string): CanonicalRule =>
  ({ family: "ipv4", table, input, canonical, ...(saved !== undefined ? { saved } : {}) });
const v6 = (table: IptTableName, input: string, canonical: string, saved?: string): CanonicalRule =>
  ({ family: "ipv6", table, input, canonical, ...(saved !== undefined ? { saved } : {}) });
const same4 = (table: IptTableName, rule: string): CanonicalRule => v4(table, rule, rule);
const same6 = (table: IptTableName, rule: string): CanonicalRule => v6(table, rule, rule);

/**
 * The catalog. Chains named in `-j` (KUBE-…) are created by the tests before the rule.
 */
export const CANONICAL_RULES: readonly CanonicalRule[] = [
  // routing: FORWARD accepts, pod egress masquerade (features §5.1)
  same4("filter", `-i kube-bridge -m comment --comment "allow outbound traffic from pods" -j ACCEPT`),
  same4("filter", `-o kube-bridge -m comment --comment "allow inbound traffic to pods" -j ACCEPT`),
  same4("filter", `-o eth0 -m comment --comment "allow outbound node port traffic on node interface with which node ip is associated" -j ACCEPT`),
  same4("nat", `-m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -m comment --comment "kube-router pod egress masquerade" -j MASQUERADE --random-fully`),
  same4("nat", `-m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -m comment --comment "kube-router pod egress masquerade" -j MASQUERADE`),
  same6("nat", `-m set --match-set inet6:kube-router-pod-subnets src -m set ! --match-set inet6:kube-router-pod-subnets dst -m set ! --match-set inet6:kube-router-node-ips dst -m comment --comment "kube-router pod egress masquerade" -j MASQUERADE --random-fully`),

  // netpol: builtin jumps, INPUT exemptions (features §4.4)
  same4("filter", `-m comment --comment "kube-router netpol - 2b1b7c8e-0d1f-4c3a-9a55-6f0e8d1c2b3a" -j KUBE-ROUTER-INPUT`),
  v4("filter", `-d 10.96.0.0/12 -m comment --comment "allow traffic to primary cluster IP range - 2b1b7c8e" -j RETURN`,
    `-d 10.96.0.0/12 -m comment --comment "allow traffic to primary cluster IP range - 2b1b7c8e" -j RETURN`),
  v4("filter", `-p tcp -m comment --comment "allow LOCAL TCP traffic to node ports - 2b1b7c8e" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN`,
    `-p tcp -m comment --comment "allow LOCAL TCP traffic to node ports - 2b1b7c8e" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN`),
  same4("filter", `-p udp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN`),
  same4("filter", `-p sctp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN`),
  v4("filter", `-d 198.51.100.0/24 -m comment --comment "allow traffic to external IP range: 198.51.100.0/24 - 2b1b7c8e" -j RETURN`,
    `-d 198.51.100.0/24 -m comment --comment "allow traffic to external IP range: 198.51.100.0/24 - 2b1b7c8e" -j RETURN`),

  // netpol: pod and policy chains (features §4.3)
  v4("filter", `-m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000`,
    `-m comment --comment "rule to mark traffic matching a network policy" -j MARK --set-xmark 0x10000/0x10000`),
  same4("filter", `-m conntrack --ctstate INVALID -m comment --comment "rule to drop invalid state for pod" -j DROP`),
  same4("filter", `-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "rule for stateful firewall for pod" -j ACCEPT`),
  same4("filter", `-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`),
  same4("filter", `-m conntrack --ctstate INVALID -j DROP`),
  v4("filter", `-p icmp --icmp-type echo-request -m comment --comment "allow icmp echo requests" -j ACCEPT`,
    `-p icmp -m icmp --icmp-type 8 -m comment --comment "allow icmp echo requests" -j ACCEPT`),
  v4("filter", `-p icmp --icmp-type destination-unreachable -m comment --comment "allow icmp destination unreachable messages" -j ACCEPT`,
    `-p icmp -m icmp --icmp-type 3 -m comment --comment "allow icmp destination unreachable messages" -j ACCEPT`),
  v4("filter", `-p icmp --icmp-type time-exceeded -m comment --comment "allow icmp time exceeded messages" -j ACCEPT`,
    `-p icmp -m icmp --icmp-type 11 -m comment --comment "allow icmp time exceeded messages" -j ACCEPT`),
  same4("filter", `-p icmp -m icmp --icmp-type 8 -j ACCEPT`),
  v4("filter", `-m comment --comment "ns/pol ingress pods" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -p tcp --dport 80 -j MARK --set-xmark 0x10000/0x10000`,
    `-p tcp -m comment --comment "ns/pol ingress pods" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -m tcp --dport 80 -j MARK --set-xmark 0x10000/0x10000`),
  v4("filter", `-m comment --comment "ns/pol ingress pods" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -p tcp --dport 80 -m mark --mark 0x10000/0x10000 -j RETURN`,
    `-p tcp -m comment --comment "ns/pol ingress pods" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -m tcp --dport 80 -m mark --mark 0x10000/0x10000 -j RETURN`),
  v4("filter", `-m comment --comment "ns/pol egress cidr" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -p udp --dport 5000:5010 -j MARK --set-xmark 0x10000/0x10000`,
    `-p udp -m comment --comment "ns/pol egress cidr" -m set --match-set KUBE-SRC-AAAAAAAAAAAAAAAA src -m set --match-set KUBE-DST-AAAAAAAAAAAAAAAA dst -m udp --dport 5000:5010 -j MARK --set-xmark 0x10000/0x10000`),
  same4("filter", `-m mark --mark 0x10000/0x10000 -j RETURN`),
  same4("filter", `-j MARK --set-xmark 0x10000/0x10000`),
  v4("filter", `-m comment --comment "common netpol rules" -j KUBE-NWPLCY-COMMON`, `-m comment --comment "common netpol rules" -j KUBE-NWPLCY-COMMON`),
  v4("filter", `-m addrtype --src-type LOCAL -d 10.244.1.5 -m comment --comment "from local node" -j ACCEPT`,
    `-d 10.244.1.5/32 -m addrtype --src-type LOCAL -m comment --comment "from local node" -j ACCEPT`),
  v4("filter", `-s 10.244.1.5 -m comment --comment "default egress" -j KUBE-NWPLCY-DEFAULT`,
    `-s 10.244.1.5/32 -m comment --comment "default egress" -j KUBE-NWPLCY-DEFAULT`),
  v4("filter", `-d 10.244.1.5 -m comment --comment "ns/pol policy" -j KUBE-NWPLCY-AAAAAAAAAAAAAAAA`,
    `-d 10.244.1.5/32 -m comment --comment "ns/pol policy" -j KUBE-NWPLCY-AAAAAAAAAAAAAAAA`),
  v4("filter", `-m comment --comment "ns/pod log-drop" -m mark ! --mark 0x10000/0x10000 -j NFLOG --nflog-group 100 -m limit --limit 10/minute --limit-burst 10`,
    `-m comment --comment "ns/pod log-drop" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100`),
  same4("filter", `-m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100`),
  v4("filter", `-m comment --comment "ns/pod reject" -m mark ! --mark 0x10000/0x10000 -j REJECT`,
    `-m comment --comment "ns/pod reject" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable`),
  same4("filter", `-j REJECT --reject-with icmp-port-unreachable`),
  v4("filter", `-j MARK --set-mark 0/0x10000`, `-j MARK --set-xmark 0x0/0x10000`),
  v4("filter", `-m comment --comment "set netpol-ok mark" -j MARK --set-mark 0x20000/0x20000`,
    `-m comment --comment "set netpol-ok mark" -j MARK --set-xmark 0x20000/0x20000`),
  v4("filter", `-m comment --comment ns/pod -d 10.244.1.5 -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`,
    `-d 10.244.1.5/32 -m comment --comment ns/pod -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`,
    `-d 10.244.1.5/32 -m comment --comment "ns/pod" -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`),
  v4("filter", `-m physdev --physdev-is-bridged -d 10.244.1.5 -m comment --comment "ns/pod in" -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`,
    `-d 10.244.1.5/32 -m physdev --physdev-is-bridged -m comment --comment "ns/pod in" -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`),
  v4("filter", `-m physdev --physdev-is-bridged -s 10.244.1.5 -m comment --comment "ns/pod out" -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`,
    `-s 10.244.1.5/32 -m physdev --physdev-is-bridged -m comment --comment "ns/pod out" -j KUBE-POD-FW-AAAAAAAAAAAAAAAA`),
  v4("filter", `-s 10.244.1.0/24 -m set ! --match-set kube-router-local-pods src -m comment --comment "reject unprogrammed local pod (default-deny)" -j REJECT`,
    `-s 10.244.1.0/24 -m set ! --match-set kube-router-local-pods src -m comment --comment "reject unprogrammed local pod (default-deny)" -j REJECT --reject-with icmp-port-unreachable`),
  same4("filter", `-m mark --mark 0x20000/0x20000 -m comment --comment "accept netpol-ok" -j ACCEPT`),
  same4("filter", `-m comment --comment "rule to explicitly handle traffic for network policies ACCEPT/REJECT decision" -j KUBE-NWPLCY-TAIL`),

  // service proxy (features §3.6)
  same4("filter", `-m set --match-set kube-router-svip dst -m comment --comment "handle traffic to IPVS service IPs in custom chain" -j KUBE-ROUTER-SERVICES`),
  same4("filter", `-m comment --comment "allow input traffic to ipvs services" -m set --match-set kube-router-svip-prt dst,dst -j ACCEPT`),
  same4("filter", `-m comment --comment "reject all unexpected traffic to service IPs" -m set ! --match-set kube-router-local-ips dst -j REJECT --reject-with icmp-port-unreachable`),
  v4("mangle", `-d 198.51.100.7 -m tcp -p tcp --dport 80 -j MARK --set-mark 0x3a`,
    `-d 198.51.100.7/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x3a/0xffffffff`),
  v4("mangle", `-s 198.51.100.7 -m tcp -p tcp --sport 80 -i kube-bridge --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440`,
    `-s 198.51.100.7/32 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440`),
  same4("nat", `-j SNAT --to-source 10.0.0.1`),
  same4("nat", `-s 10.244.1.5/32 -d 10.244.1.5/32 -j SNAT --to-source 10.96.0.10 --random-fully`),

  // generic shapes
  v4("filter", `-p tcp --dport 80 -j ACCEPT`, `-p tcp -m tcp --dport 80 -j ACCEPT`),
  same4("filter", `-p tcp -m tcp --dport 80 -j ACCEPT`),
  v4("filter", `-p udp --dport 53 -j ACCEPT`, `-p udp -m udp --dport 53 -j ACCEPT`),
  v4("filter", `-p sctp --dport 36000 -j ACCEPT`, `-p sctp -m sctp --dport 36000 -j ACCEPT`),
  v4("filter", `-p 6 --dport 80 -j ACCEPT`, `-p tcp -m tcp --dport 80 -j ACCEPT`),
  v4("filter", `-p all -j ACCEPT`, `-j ACCEPT`),
  same4("filter", `-p tcp -m multiport --dports 80,443 -j ACCEPT`),
  v4("filter", `-p tcp -s 10.0.0.0/8 -o eth0 -i eth1 -d 10.1.0.0/16 -j ACCEPT`, `-s 10.0.0.0/8 -d 10.1.0.0/16 -i eth1 -o eth0 -p tcp -j ACCEPT`),
  same4("filter", `! -s 10.0.0.0/8 ! -d 10.1.0.0/16 -j ACCEPT`),
  same4("filter", `-d 10.96.0.0/12 -j RETURN`),
  v4("filter", `-d 1.2.3.4 -j RETURN`, `-d 1.2.3.4/32 -j RETURN`),
  v4("filter", `-s 10.1.0.5/24 -j RETURN`, `-s 10.1.0.0/24 -j RETURN`),
  v4("filter", `-m comment --comment 1.2.3.4 -j ACCEPT`, `-m comment --comment 1.2.3.4 -j ACCEPT`, `-m comment --comment "1.2.3.4" -j ACCEPT`),
  v4("filter", `-m comment --comment "a'b" -j ACCEPT`, `-m comment --comment "a'b" -j ACCEPT`, `-m comment --comment "a\\'b" -j ACCEPT`),
  same4("filter", `-m comment --comment plain_word-1 -j ACCEPT`),
  same4("filter", `-m comment --comment "" -j ACCEPT`),
  v4("filter", `-j NFLOG --nflog-group 100 --nflog-prefix "a b"`, `-j NFLOG --nflog-prefix "a b" --nflog-group 100`),
  v4("filter", `-j MARK --set-mark 0x4000`, `-j MARK --set-xmark 0x4000/0xffffffff`),

  // IPv6 variants
  v6("filter", `-p ipv6-icmp --icmpv6-type echo-request -m comment --comment "allow icmp echo requests" -j ACCEPT`,
    `-p ipv6-icmp -m icmp6 --icmpv6-type 128 -m comment --comment "allow icmp echo requests" -j ACCEPT`),
  v6("filter", `-p icmpv6 --icmpv6-type neighbour-solicitation -j ACCEPT`, `-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT`),
  v6("filter", `-p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT`, `-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT`),
  v6("filter", `-p ipv6-icmp --icmpv6-type echo-reply -j ACCEPT`, `-p ipv6-icmp -m icmp6 --icmpv6-type 129 -j ACCEPT`),
  v6("filter", `-p ipv6-icmp --icmpv6-type destination-unreachable -j ACCEPT`, `-p ipv6-icmp -m icmp6 --icmpv6-type 1 -j ACCEPT`),
  v6("filter", `-p ipv6-icmp --icmpv6-type time-exceeded -j ACCEPT`, `-p ipv6-icmp -m icmp6 --icmpv6-type 3 -j ACCEPT`),
  same6("filter", `-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT`),
  same6("filter", `-j REJECT --reject-with icmp6-port-unreachable`),
  v6("filter", `-j REJECT`, `-j REJECT --reject-with icmp6-port-unreachable`),
  same6("filter", `-d fd00::/108 -j RETURN`),
  v6("filter", `-d fd00:0:0::1 -j RETURN`, `-d fd00::1/128 -j RETURN`),
  v6("filter", `-s fd00::5/64 -j RETURN`, `-s fd00::/64 -j RETURN`),
  v6("filter", `-p tcp --dport 80 -j ACCEPT`, `-p tcp -m tcp --dport 80 -j ACCEPT`),
  same6("nat", `-j SNAT --to-source fd00::1`),
  same6("filter", `-m mark --mark 0x20000/0x20000 -m comment --comment "accept netpol-ok" -j ACCEPT`),
];
