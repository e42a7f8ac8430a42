/**
 * A local pod's `KUBE-POD-FW-<hash>` chain and its jumps from the top-level chains, in one
 * family (kube-router-features.md §4.3). Pure.
 *
 * Pod chain, in order:
 *   1. `-j KUBE-NWPLCY-COMMON` (conntrack state, ICMP);
 *   2. `-d <ip> -m addrtype --src-type LOCAL -j ACCEPT`: the local node always reaches its pods;
 *   3. `-s <ip> -j KUBE-NWPLCY-DEFAULT` when no policy covers the pod's egress, and
 *      `-d <ip> -j KUBE-NWPLCY-DEFAULT` when none covers its ingress;
 *   4. `-d <ip> -j <ingress chain>` / `-s <ip> -j <egress chain>` per selecting policy;
 *   5. not marked 0x10000 ⇒ NFLOG group 100 (10/min, burst 10), then REJECT;
 *   6. clear 0x10000, set 0x20000 (netpol-ok).
 * Top-level jumps (comments `<ns>/<pod> in|out`): FORWARD `-d`, bridged `-d`, `-s`, bridged
 * `-s`; OUTPUT `-d`, `-s`; INPUT `-s`.
 *
 * The chain depends only on the pod (namespace, name, IP) and the list of policies selecting
 * it, so a change elsewhere never rewrites it.
 *
 * @category render
 */
import type { Chain, Family } from "../../model/state.ts";
import { CHAIN, podChainName } from "./names.ts";
import { MARK_ALLOWED, MARK_NETPOL_OK, NFLOG_GROUP, commentArgs, hostCidr, rejectArgs, ruleText } from "./rules.ts";

export interface PodPolicies {
  /** `[comment, chain]` of each ingress chain selecting the pod, in policy order. */
  readonly ingress: readonly (readonly [string, string])[];
  readonly egress: readonly (readonly [string, string])[];
}

/** The pod's chain in `family` (the pod has `ip` of that family). */
export function podChain(ns: string, pod: string, ip: string, family: Family, policies: PodPolicies): Chain {
  const addr = hostCidr(ip, family);
  const rules = [
    ruleText([...commentArgs("common netpol rules"), "-j", CHAIN.common]),
    ruleText(["-d", addr, "-m", "addrtype", "--src-type", "LOCAL", ...commentArgs("from local node"), "-j", "ACCEPT"]),
  ];
  if (policies.egress.length === 0) rules.push(ruleText(["-s", addr, ...commentArgs("default egress"), "-j", CHAIN.default]));
  if (policies.ingress.length === 0) rules.push(ruleText(["-d", addr, ...commentArgs("default ingress"), "-j", CHAIN.default]));
  for (const [c, chain] of policies.ingress) rules.push(ruleText(["-d", addr, ...commentArgs(c), "-j", chain]));
  for (const [c, chain] of policies.egress) rules.push(ruleText(["-s", addr, ...commentArgs(c), "-j", chain]));
  const notAllowed = ["-m", "mark", "!", "--mark", MARK_ALLOWED];
  rules.push(ruleText([...commentArgs(`${ns}/${pod} log-drop`), ...notAllowed, "-m", "limit", "--limit", "10/min", "--limit-burst", "10", "-j", "NFLOG", "--nflog-group", NFLOG_GROUP]));
  rules.push(ruleText([...commentArgs(`${ns}/${pod} reject`), ...notAllowed, ...rejectArgs(family)]));
  rules.push(ruleText(["-j", "MARK", "--set-xmark", `0x0/${MARK_ALLOWED.split("/")[1]}`]));
  rules.push(ruleText([...commentArgs("set netpol-ok mark"), "-j", "MARK", "--set-xmark", MARK_NETPOL_OK]));
  return { family, table: "filter", name: podChainName(ns, pod), rules };
}

/** The pod's jumps from each top-level chain. */
export function podJumps(ns: string, pod: string, ip: string, family: Family): { input: string[]; forward: string[]; output: string[] } {
  const addr = hostCidr(ip, family);
  const chain = podChainName(ns, pod);
  const inC = commentArgs(`${ns}/${pod} in`);
  const outC = commentArgs(`${ns}/${pod} out`);
  const bridged = ["-m", "physdev", "--physdev-is-bridged"];
  const to = ruleText(["-d", addr, ...inC, "-j", chain]);
  const from = ruleText(["-s", addr, ...outC, "-j", chain]);
  return {
    input: [from],
    forward: [to, ruleText(["-d", addr, ...bridged, ...inC, "-j", chain]), from, ruleText(["-s", addr, ...bridged, ...outC, "-j", chain])],
    output: [to, from],
  };
}
