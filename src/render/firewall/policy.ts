/**
 * One NetworkPolicy compiled against the cluster (family-independent): its targets, the
 * directions it covers, and per rule the peers and ports — plus every problem found, which
 * fails the affected direction closed. Pure.
 *
 * Guarantees (networking.k8s.io/v1 semantics):
 * - covered directions come from `policyTypes` as defaulted by the projection (Ingress unless
 *   only Egress is listed; Egress when listed, or when egress rules exist and the list is
 *   missing); rules of an uncovered direction are ignored;
 * - targets: actionable pods of the policy namespace matching `spec.podSelector`;
 * - no rules (missing or `[]`) ⇒ the direction allows nothing; a rule with `from`/`to`
 *   missing or empty ⇒ every peer; `ports` missing or empty ⇒ every port;
 * - peers: `podSelector` alone ⇒ pods of the policy namespace; `namespaceSelector` (with an
 *   optional `podSelector`, AND) ⇒ pods of every matching namespace; `ipBlock` ⇒ addresses;
 *   peers of a rule, rules of a direction, and policies on a pod are ORed;
 * - a namespace gets the API server's automatic `kubernetes.io/metadata.name` label when the
 *   snapshot's object lacks it (or the Namespace object is missing);
 * - problems (unknown selector operator, invalid CIDR, unknown protocol, a named port that no
 *   candidate destination pod exposes) are lines `NetworkPolicy ns/name: field: why`; a
 *   problem in a rule fails that direction closed (the policy still selects its targets but
 *   allows nothing in that direction); a problem in `spec.podSelector` selects every pod of
 *   the namespace and fails every covered direction closed;
 * - deterministic: pods in namespace/name order, rules in spec order.
 *
 * @category render
 */
import type { NetworkPolicyInfo, PolicyPeer, PolicyRule } from "../../model/cluster.ts";
import { ipBlockProblems } from "./ipblock.ts";
import type { Direction } from "./names.ts";
import type { FwPod, PodIndex } from "./pods.ts";
import { type PortSpec, compilePorts, resolveNamedPort } from "./ports.ts";
import { type Labels, compileSelector } from "./selectors.ts";

/** Shared lookups for compiling the policies of one render. */
export interface PolicyContext {
  readonly pods: PodIndex;
  /** Labels of every namespace (snapshot objects plus namespaces that only have pods). */
  readonly namespaces: ReadonlyMap<string, Labels>;
  /** Memo of peer selections within one render (key: namespace scope + selectors). */
  readonly peerCache: Map<string, readonly FwPod[]>;
}

export interface CompiledRule {
  readonly index: number;
  /** No peers given (`from`/`to` missing or empty): every source/destination. */
  readonly any: boolean;
  /** Pods selected by the rule's pod/namespace-selector peers; undefined when it has none. */
  readonly podPeers?: readonly FwPod[];
  /** The rule's ipBlock peers with their index among the rule's peers. */
  readonly ipBlocks: readonly { readonly k: number; readonly cidr: string; readonly except: readonly string[] }[];
  readonly ports: readonly PortSpec[];
}

export interface CompiledDirection {
  readonly dir: Direction;
  /** True when a problem fails this direction closed (rules are then not rendered). */
  readonly failed: boolean;
  readonly rules: readonly CompiledRule[];
}

export interface CompiledPolicy {
  readonly namespace: string;
  readonly name: string;
  /** Every target pod (all nodes), namespace/name order. */
  readonly targets: readonly FwPod[];
  readonly directions: readonly CompiledDirection[];
  /** Warning lines, `NetworkPolicy ns/name: field: why`. */
  readonly problems: readonly string[];
}

/** Namespace labels with the API server's automatic name label. */
export function namespaceLabels(name: string, labels: Labels | undefined): Labels {
  if (labels !== undefined && labels["kubernetes.io/metadata.name"] !== undefined) return labels;
  return { ...labels, "kubernetes.io/metadata.name": name };
}

/** The pods a policy targets and the problems of its podSelector. */
export function policyTargets(p: NetworkPolicyInfo, pods: PodIndex): { targets: FwPod[]; problems: string[] } {
  const sel = compileSelector(p.podSelector, "spec.podSelector", true);
  const inNs = pods.byNamespace.get(p.namespace) ?? [];
  return { targets: sel.everything ? [...inNs] : inNs.filter((pod) => sel.matches(pod.labels)), problems: [...sel.problems] };
}

function peerPods(peer: PolicyPeer, policyNs: string, field: string, ctx: PolicyContext, problems: string[]): readonly FwPod[] {
  const podSel = peer.podSelector ? compileSelector(peer.podSelector, `${field}.podSelector`, false) : undefined;
  const nsSel = peer.namespaceSelector ? compileSelector(peer.namespaceSelector, `${field}.namespaceSelector`, false) : undefined;
  problems.push(...(podSel?.problems ?? []), ...(nsSel?.problems ?? []));
  const key = `${nsSel ? "*" : policyNs}\u0000${JSON.stringify(peer.namespaceSelector ?? null)}\u0000${JSON.stringify(peer.podSelector ?? null)}`;
  const hit = ctx.peerCache.get(key);
  if (hit !== undefined) return hit;
  const namespaces = nsSel ? [...ctx.namespaces].filter(([, labels]) => nsSel.matches(labels)).map(([n]) => n).sort() : [policyNs];
  const out: FwPod[] = [];
  for (const n of namespaces) {
    const inNs = ctx.pods.byNamespace.get(n) ?? [];
    if (podSel === undefined || podSel.everything) out.push(...inNs);
    else for (const pod of inNs) if (podSel.matches(pod.labels)) out.push(pod);
  }
  ctx.peerCache.set(key, out);
  return out;
}

function compileRule(
  rule: PolicyRule, index: number, dir: Direction, p: NetworkPolicyInfo, targets: readonly FwPod[], ctx: PolicyContext, problems: string[],
): CompiledRule {
  const field = `spec.${dir}[${index}]`;
  const peersKey = dir === "ingress" ? "from" : "to";
  const peers = rule.peers ?? [];
  const any = peers.length === 0;
  const selected = new Set<FwPod>();
  let hasPodPeers = false;
  const ipBlocks: { k: number; cidr: string; except: readonly string[] }[] = [];
  peers.forEach((peer, k) => {
    const f = `${field}.${peersKey}[${k}]`;
    if (peer.ipBlock !== undefined) {
      problems.push(...ipBlockProblems(peer.ipBlock, `${f}.ipBlock`));
      ipBlocks.push({ k, cidr: peer.ipBlock.cidr, except: peer.ipBlock.except });
      return;
    }
    hasPodPeers = true;
    for (const pod of peerPods(peer, p.namespace, f, ctx, problems)) selected.add(pod);
  });
  const { specs, problems: portProblems } = compilePorts(rule.ports, field);
  problems.push(...portProblems);
  // A named port must be exposed by at least one pod it is resolved on: ingress on the
  // targets, egress on the peer pods (every pod when the rule has any or ipBlock peers).
  for (const s of specs) {
    if (s.kind !== "named") continue;
    const candidates: Iterable<FwPod> =
      dir === "ingress" ? targets : any || ipBlocks.length > 0 ? ctx.pods.all : selected;
    let found = false;
    for (const pod of candidates) if (resolveNamedPort(pod.ports, s.name, s.proto) !== undefined) { found = true; break; }
    if (!found) problems.push(`${s.field}: no ${dir === "ingress" ? "target" : "destination"} pod exposes a ${s.proto.toUpperCase()} port named ${JSON.stringify(s.name)}`);
  }
  const podPeers = hasPodPeers ? [...selected].sort(byPod) : undefined;
  return { index, any, ...(podPeers !== undefined ? { podPeers } : {}), ipBlocks, ports: specs };
}

/**
 * The problems of `p` that do not depend on pods (invalid CIDRs, selector operators, ports), as
 * `compilePolicy` words them: for a policy that targets no pod on this node, so that what the
 * API server would reject is named on every node, not only where the policy has targets.
 */
export function policySyntaxProblems(p: NetworkPolicyInfo, selectorProblems: readonly string[]): string[] {
  const prefix = `NetworkPolicy ${p.namespace}/${p.name}: `;
  const lines = selectorProblems.map((m) => `${prefix}${m}`);
  for (const dir of coveredDirections(p)) {
    const problems: string[] = [];
    (dir === "ingress" ? p.ingress : p.egress).forEach((rule, i) => {
      const field = `spec.${dir}[${i}]`;
      (rule.peers ?? []).forEach((peer, k) => {
        const f = `${field}.${dir === "ingress" ? "from" : "to"}[${k}]`;
        if (peer.ipBlock !== undefined) problems.push(...ipBlockProblems(peer.ipBlock, `${f}.ipBlock`));
        if (peer.podSelector) problems.push(...compileSelector(peer.podSelector, `${f}.podSelector`, false).problems);
        if (peer.namespaceSelector) problems.push(...compileSelector(peer.namespaceSelector, `${f}.namespaceSelector`, false).problems);
      });
      problems.push(...compilePorts(rule.ports, field).problems);
    });
    for (const m of problems) lines.push(`${prefix}${m}; ${dir} fails closed`);
  }
  return lines;
}

const coveredDirections = (p: NetworkPolicyInfo): Direction[] => [
  ...(p.policyTypes.includes("Ingress") ? (["ingress"] as const) : []),
  ...(p.policyTypes.includes("Egress") ? (["egress"] as const) : []),
];

const byPod = (a: FwPod, b: FwPod): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Compiles `p`. `targets` may be passed when already computed (policyTargets). Never throws.
 */
export function compilePolicy(p: NetworkPolicyInfo, ctx: PolicyContext, pre?: { targets: FwPod[]; problems: string[] }): CompiledPolicy {
  const { targets, problems: selProblems } = pre ?? policyTargets(p, ctx.pods);
  const lines: string[] = [];
  const prefix = `NetworkPolicy ${p.namespace}/${p.name}: `;
  const targetsBroken = selProblems.length > 0;
  const directions: CompiledDirection[] = [];
  const covered = coveredDirections(p);
  for (const m of selProblems) lines.push(`${prefix}${m}; every pod of the namespace is a target and ${covered.join(", ")} fail${covered.length === 1 ? "s" : ""} closed`);
  for (const dir of covered) {
    const problems: string[] = [];
    const rules = (dir === "ingress" ? p.ingress : p.egress).map((r, i) => compileRule(r, i, dir, p, targets, ctx, problems));
    for (const m of problems) lines.push(`${prefix}${m}; ${dir} fails closed`);
    const failed = targetsBroken || problems.length > 0;
    directions.push({ dir, failed, rules: failed ? [] : rules });
  }
  return { namespace: p.namespace, name: p.name, targets, directions, problems: lines };
}
