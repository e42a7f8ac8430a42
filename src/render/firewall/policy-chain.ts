/**
 * One direction of a compiled policy, in one family, as a `KUBE-NWPLCY-<hash>` chain and the
 * ipsets its rules match (kube-router-features.md §4.3). Pure.
 *
 * Guarantees:
 * - every allow is a rule pair with identical matchers: `-j MARK --set-xmark 0x10000/0x10000`,
 *   then `-m mark --mark 0x10000/0x10000 -j RETURN`; comments `<ns>/<policy> <dir> <kind>`
 *   with kind `pods`, `any` or `cidr`, plus ` np` for named-port rules;
 * - the evaluated pod's side matches the policy's target set (ingress: `dst` in `KUBE-DST-…`,
 *   egress: `src` in `KUBE-SRC-…`), which holds the local targets of the family; the peer side
 *   matches the rule's pod-peer set, an ipBlock set, or nothing (any);
 * - per rule: pod peers first, then any, then each ipBlock (of this family only); within a
 *   matcher, numbered and protocol-only ports in spec order, then named ports; a named port
 *   becomes one rule per (protocol, number) it resolves to, matching a set of exactly the
 *   destination pods that expose it so;
 * - sets exist whenever a rule matching them exists, even empty, so pods coming and going only
 *   change members; a direction without rules, or failed closed, is an empty chain without sets;
 * - deterministic: same input ⇒ same chain text and sets.
 *
 * @category render
 */
import type { Chain, Family, Ipset } from "../../model/state.ts";
import { ipBlockFamily, ipBlockMembers } from "./ipblock.ts";
import { type Direction, ipBlockSetName, namedPortSetName, peerSetName, policyChainName, targetSetName } from "./names.ts";
import type { CompiledDirection, CompiledPolicy } from "./policy.ts";
import { type FwPod, podIp } from "./pods.ts";
import { type PortSpec, type Protocol, dportText, resolveNamedPort } from "./ports.ts";
import { MARK_ALLOWED, commentArgs, ruleText } from "./rules.ts";

const setFamily = (f: Family): "inet" | "inet6" => (f === "ipv4" ? "inet" : "inet6");

function ipSet(name: string, type: "hash:ip" | "hash:net", family: Family, members: Iterable<string>): Ipset {
  return { name, type, family: setFamily(family), timeout: 0, members: new Set(members) };
}

function ipsOf(pods: Iterable<FwPod>, family: Family): string[] {
  const out: string[] = [];
  for (const p of pods) {
    const ip = podIp(p, family);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}

/** Destination pods grouped by the number a named port resolves to, ascending. */
function resolveGroups(pods: Iterable<FwPod>, name: string, proto: Protocol, family: Family): [number, string[]][] {
  const groups = new Map<number, string[]>();
  for (const p of pods) {
    const ip = podIp(p, family);
    if (ip === undefined) continue;
    const n = resolveNamedPort(p.ports, name, proto);
    if (n === undefined) continue;
    let g = groups.get(n);
    if (g === undefined) groups.set(n, (g = []));
    g.push(ip);
  }
  return [...groups].sort((a, b) => a[0] - b[0]);
}

export interface PolicyChainOutput {
  readonly chain: Chain;
  readonly sets: readonly Ipset[];
}

/** Renders direction `d` of `p` for `family`; `localTargets` are the policy's local targets. */
export function renderPolicyChain(
  p: CompiledPolicy, d: CompiledDirection, family: Family, localTargets: readonly FwPod[], allPods: readonly FwPod[],
): PolicyChainOutput {
  const { namespace: ns, name } = p;
  const dir: Direction = d.dir;
  const chainName = policyChainName(ns, name, dir);
  const rules: string[] = [];
  const sets: Ipset[] = [];
  if (d.failed) return { chain: { family, table: "filter", name: chainName, rules }, sets };

  const selfSide = dir === "ingress" ? "dst" : "src";
  const peerSide = dir === "ingress" ? "src" : "dst";
  const targetSet = targetSetName(ns, name, dir, family);

  const pair = (proto: Protocol | undefined, kind: string, matches: readonly string[], dport: string | undefined) => {
    const head = [...(proto ? ["-p", proto] : []), ...commentArgs(`${ns}/${name} ${dir} ${kind}`), ...matches, ...(proto && dport ? ["-m", proto, "--dport", dport] : [])];
    rules.push(ruleText([...head, "-j", "MARK", "--set-xmark", MARK_ALLOWED]));
    rules.push(ruleText([...head, "-m", "mark", "--mark", MARK_ALLOWED, "-j", "RETURN"]));
  };
  const match = (set: string, side: "src" | "dst") => ["-m", "set", "--match-set", set, side];

  for (const rule of d.rules) {
    const i = rule.index;
    const peerMatchers: { kind: "pods" | "any" | "cidr"; peer: string[]; podsForNamed?: readonly FwPod[] }[] = [];
    const plain = rule.ports.filter((s): s is Exclude<PortSpec, { kind: "named" }> => s.kind !== "named");
    const named = rule.ports.filter((s): s is Extract<PortSpec, { kind: "named" }> => s.kind === "named");
    if (rule.podPeers !== undefined) {
      const set = peerSetName(ns, name, dir, i, family);
      // egress named-port rules match their own subsets of the peers, so there the peer set
      // is only made when a numbered, protocol-only or all-ports entry uses it
      if (plain.length > 0 || (dir === "ingress" && named.length > 0)) sets.push(ipSet(set, "hash:ip", family, ipsOf(rule.podPeers, family)));
      peerMatchers.push({ kind: "pods", peer: match(set, peerSide), podsForNamed: rule.podPeers });
    }
    if (rule.any) peerMatchers.push({ kind: "any", peer: [] });
    for (const b of rule.ipBlocks) {
      if (ipBlockFamily(b.cidr) !== family) continue;
      const set = ipBlockSetName(ns, name, dir, i, b.k, family);
      sets.push(ipSet(set, "hash:net", family, ipBlockMembers(b, family)));
      peerMatchers.push({ kind: "cidr", peer: match(set, peerSide) });
    }
    const madeNamed = new Set<string>();
    for (const m of peerMatchers) {
      for (const s of plain) {
        const self = match(targetSet, selfSide);
        const matches = dir === "ingress" ? [...m.peer, ...self] : [...self, ...m.peer];
        if (s.kind === "all") pair(undefined, m.kind, matches, undefined);
        else if (s.kind === "proto") pair(s.proto, m.kind, matches, undefined);
        else pair(s.proto, m.kind, matches, dportText(s));
      }
      for (const s of named) {
        // ingress: the local targets exposing the port; egress: pod peers exposing it, or
        // every pod exposing it when the peer side is any or an ipBlock.
        const scope = dir === "ingress" ? "targets" : m.kind === "pods" ? "peers" : "all";
        const pods = scope === "targets" ? localTargets : scope === "peers" ? (m.podsForNamed ?? []) : allPods;
        for (const [number, ips] of resolveGroups(pods, s.name, s.proto, family)) {
          const set = namedPortSetName(ns, name, dir, i, s.name, s.proto, number, scope, family);
          if (!madeNamed.has(set)) { madeNamed.add(set); sets.push(ipSet(set, "hash:ip", family, ips)); }
          const np = match(set, "dst");
          const matches =
            dir === "ingress" ? [...m.peer, ...np]
            : m.kind === "pods" ? [...match(targetSet, "src"), ...np]
            : [...match(targetSet, "src"), ...m.peer, ...np];
          pair(s.proto, `${m.kind} np`, matches, String(number));
        }
      }
    }
  }
  // the target set exists when a rule matches it (a direction without rules allows nothing)
  if (rules.length > 0) sets.push(ipSet(targetSet, "hash:ip", family, ipsOf(localTargets, family)));
  return { chain: { family, table: "filter", name: chainName, rules }, sets };
}
