/**
 * The NetworkPolicy firewall controller (`--run-firewall`): renders kube-router's iptables +
 * ipset layout (kube-router-features.md §4) for this node's pods. Pure: same input ⇒
 * byte-identical output; no I/O, clock or randomness.
 *
 * What it renders, per enabled family (IPv6 in ip6tables, sets with the `inet6:` prefix):
 * - builtin jumps INPUT/FORWARD/OUTPUT → `KUBE-ROUTER-INPUT/FORWARD/OUTPUT` at position 1;
 * - `KUBE-ROUTER-INPUT` exemptions (service, node port, external IP and LB ranges), then the
 *   per-pod jumps, then the tail jump and the netpol-ok accept (base-chains.ts, pod-chain.ts);
 * - `KUBE-NWPLCY-DEFAULT`, `KUBE-NWPLCY-COMMON`, `KUBE-NWPLCY-TAIL`;
 * - one `KUBE-POD-FW-<hash>` per local actionable pod with an IP of the family;
 * - for every policy selecting at least one local pod of the family: one `KUBE-NWPLCY-<hash>`
 *   per covered direction and its sets (policy-chain.ts). Policies selecting no local pod
 *   render nothing here: their chains could never be entered on this node;
 * - with `--netpol-default-deny`: the tail's reject rules for the node's pod CIDRs and the
 *   `kube-router-local-pods` set of the pods whose chains this render programs.
 *
 * Incremental by construction: names are stable hashes of identities (names.ts); a pod chain
 * depends only on the pod and the policies selecting it; a policy chain only on the policy
 * and the names of its sets; pods coming, going or relabelled change set members, their own
 * chain and (for a local pod coming or going) the three top-level chains' jump lists.
 *
 * Bad input never throws: problems are one-line warnings naming the policy and the field,
 * and the affected direction fails closed (policy.ts).
 *
 * @category render
 */
import { canonicalCidr, cidrFamily } from "../../model/ip.ts";
import { IPSET, ipsetName } from "../../model/names.ts";
import type { Chain, Family, Ipset, Jump, NodeState } from "../../model/state.ts";
import { chainKey, ipsetKey, jumpKey } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import type { Controller, ControllerResult, RenderInput } from "../controller.ts";
import { enabledFamilies, nodePodCidrs } from "../node-facts.ts";
import { builtinJumps, commonChainRules, defaultChainRules, inputExemptions, tailChainRules, topChainEnd } from "./base-chains.ts";
import { CHAIN, policyChainName } from "./names.ts";
import { type PodPolicies, podChain, podJumps } from "./pod-chain.ts";
import { type PolicyContext, compilePolicy, namespaceLabels, policySyntaxProblems, policyTargets } from "./policy.ts";
import { renderPolicyChain } from "./policy-chain.ts";
import { type FwPod, indexPods, podIp } from "./pods.ts";
import type { Labels } from "./selectors.ts";

const baseName = (n: string) => (n.startsWith("inet6:") ? n.slice(6) : n);
export { isFirewallChain } from "../../model/ownership.ts";

/** The firewall controller. */
export const firewallController: Controller = {
  name: "firewall",
  enabled: (cfg) => cfg.runFirewall,
  render: renderFirewall,
};

/** Renders the firewall; see the module comment. */
export function renderFirewall(input: RenderInput): ControllerResult {
  const { snapshot, config, nodeName } = input;
  const warnings: string[] = [];
  const families = enabledFamilies(config);
  const self = snapshot.nodes.get(nodeName);
  if (self === undefined) warnings.push(`firewall: Node ${nodeName} not found in the cluster; local pods are those with spec.nodeName ${nodeName}`);
  const pods = indexPods(snapshot, nodeName, self);
  const namespaces = new Map<string, Labels>();
  for (const [n, info] of snapshot.namespaces) namespaces.set(n, namespaceLabels(n, info.labels));
  for (const n of pods.byNamespace.keys()) if (!namespaces.has(n)) namespaces.set(n, namespaceLabels(n, undefined));
  const ctx: PolicyContext = { pods, namespaces, peerCache: new Map() };

  const chains: Chain[] = [];
  const sets: Ipset[] = [];
  const jumps: Jump[] = [];
  // pod → family → policies selecting it
  const selecting = new Map<FwPod, Map<Family, { ingress: [string, string][]; egress: [string, string][] }>>();
  const policiesOf = (pod: FwPod, f: Family) => {
    let byFam = selecting.get(pod);
    if (byFam === undefined) selecting.set(pod, (byFam = new Map()));
    let entry = byFam.get(f);
    if (entry === undefined) byFam.set(f, (entry = { ingress: [], egress: [] }));
    return entry;
  };

  for (const key of [...snapshot.networkPolicies.keys()].sort()) {
    const p = snapshot.networkPolicies.get(key)!;
    const pre = policyTargets(p, pods);
    const localTargets = pre.targets.filter((t) => t.local);
    if (localTargets.length === 0) {
      warnings.push(...policySyntaxProblems(p, pre.problems));
      continue;
    }
    const compiled = compilePolicy(p, ctx, pre);
    warnings.push(...compiled.problems);
    for (const f of families) {
      const inFamily = localTargets.filter((t) => podIp(t, f) !== undefined);
      if (inFamily.length === 0) continue;
      for (const d of compiled.directions) {
        const out = renderPolicyChain(compiled, d, f, inFamily, pods.all);
        chains.push(out.chain);
        sets.push(...out.sets);
        const entry: [string, string] = [`${p.namespace}/${p.name} policy`, policyChainName(p.namespace, p.name, d.dir)];
        for (const t of inFamily) policiesOf(t, f)[d.dir].push(entry);
      }
    }
  }

  const podCidrs = defaultDenyCidrs(input, warnings);
  for (const f of families) {
    const top = { input: [] as string[], forward: [] as string[], output: [] as string[] };
    const programmed: string[] = [];
    for (const pod of pods.local) {
      const ip = podIp(pod, f);
      if (ip === undefined) continue;
      const policies: PodPolicies = selecting.get(pod)?.get(f) ?? { ingress: [], egress: [] };
      chains.push(podChain(pod.namespace, pod.name, ip, f, policies));
      const j = podJumps(pod.namespace, pod.name, ip, f);
      top.input.push(...j.input);
      top.forward.push(...j.forward);
      top.output.push(...j.output);
      programmed.push(ip);
    }
    const ex = inputExemptions(config, f);
    if (f === families[0]) warnings.push(...ex.warnings);
    const end = topChainEnd();
    const chain = (name: string, rules: string[]): Chain => ({ family: f, table: "filter", name, rules });
    chains.push(
      chain(CHAIN.input, [...ex.rules, ...top.input, ...end]),
      chain(CHAIN.forward, [...top.forward, ...end]),
      chain(CHAIN.output, [...top.output, ...end]),
      chain(CHAIN.default, defaultChainRules()),
      chain(CHAIN.common, commonChainRules(f)),
      chain(CHAIN.tail, tailChainRules(f, podCidrs?.get(f) ?? [])),
    );
    jumps.push(...builtinJumps(f));
    if (podCidrs !== undefined) {
      sets.push({ name: ipsetName(IPSET.localPods, f), type: "hash:ip", family: f === "ipv4" ? "inet" : "inet6", timeout: 0, members: new Set(programmed) });
    }
  }

  const state: Partial<NodeState> = {
    chains: sortedTable(chains.map((c) => [chainKey(c), c])),
    ipsets: sortedTable(sets.map((s) => [ipsetKey(s), s])),
    jumps: sortedTable(jumps.map((j) => [jumpKey(j), j])),
  };
  return { ok: { state, warnings } };
}

/** With `--netpol-default-deny`: the node's pod CIDRs per family; undefined when off or unknown. */
function defaultDenyCidrs(input: RenderInput, warnings: string[]): Map<Family, string[]> | undefined {
  if (!input.config.netpolDefaultDeny) return undefined;
  const self = input.snapshot.nodes.get(input.nodeName);
  const { cidrs, field } = self ? nodePodCidrs(self) : { cidrs: [], field: "spec.podCIDRs" };
  const out = new Map<Family, string[]>();
  for (const c of cidrs) {
    const canonical = canonicalCidr(c);
    const f = canonical === undefined ? undefined : cidrFamily(canonical);
    if (canonical === undefined || f === undefined) { warnings.push(`firewall: Node ${input.nodeName}: ${field}: invalid pod CIDR ${JSON.stringify(c)}; ignored for --netpol-default-deny`); continue; }
    out.set(f, [...(out.get(f) ?? []), canonical]);
  }
  if (out.size === 0) {
    warnings.push(`firewall: --netpol-default-deny: Node ${input.nodeName} has no pod CIDR (${field}); default deny is off`);
    return undefined;
  }
  return out;
}
