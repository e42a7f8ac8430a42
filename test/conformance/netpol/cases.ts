/**
 * The conformance cases, modelled on the upstream Kubernetes e2e suite
 * (test/e2e/network/netpol/network_policy.go; `upstream` names the test a case follows).
 * Every expectation is written out by hand from the NetworkPolicy spec, never derived from our
 * renderer. Cases run in this order against one topology and each replaces the previous
 * snapshot, so stale chains and sets must be pruned; a few cases are deliberately the second
 * step of the previous one (a policy updated in place, a namespace or pod relabelled).
 *
 * Topology reminder (see topology.ts): node-1 runs x/a y/c z/b, node-2 x/b y/a z/c,
 * node-3 x/c y/b z/a; pod IP 10.244.<node>.<10·ns+pod>.
 */
import { reach, type Reach } from "./reachability.ts";
import { np, type ClusterExtras, type PolicyManifest } from "./snapshot.ts";
import { PROBES, PROBES6, podIp, type Probe } from "./topology.ts";

export interface Case extends ClusterExtras {
  readonly name: string;
  /** The upstream e2e test this case follows, when there is one. */
  readonly upstream?: string;
  readonly policies: readonly PolicyManifest[];
  readonly expect: Reach;
  /**
   * What the dry-run plan from the previous case's converged state to this one may touch
   * (issue 3 "Incremental"), checked on every node before the sync:
   * - "members": ipset member adds/dels only (a peer pod or namespace relabelled);
   * - "pod-chain": besides members, only the relabelled pod's KUBE-POD-FW chain is rewritten
   *   (and a policy chain created where that policy gets its first local target);
   * - "policy-chain": only that policy's KUBE-NWPLCY chain is rewritten, plus its own sets.
   */
  readonly incremental?: "members" | "pod-chain" | "policy-chain";
}

const TCP: readonly Probe[] = ["tcp/80", "tcp/81"];
const UDP: readonly Probe[] = ["udp/80", "udp/81"];
const ml = (labels: Record<string, string>) => ({ matchLabels: labels });
const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
const pod = (name: string) => ml({ pod: name });
const nsSel = (name: string) => ml({ ns: name });
const ALL = {};
const host = (id: Parameters<typeof podIp>[0]) => `${podIp(id)}/32`;

export const CASES: readonly Case[] = [
  {
    name: "no policies: every pod reaches every pod on every port",
    policies: [],
    expect: reach(true),
  },
  {
    name: "default-deny-ingress in x",
    upstream: "should support a 'default-deny-ingress' policy",
    policies: [np("x", "deny-ingress", { podSelector: ALL, policyTypes: ["Ingress"] })],
    expect: reach(true).deny("*", "x/*"),
  },
  {
    name: "default-deny-ingress with policyTypes left out (Ingress implied)",
    policies: [np("x", "deny-ingress-implied", { podSelector: ALL })],
    expect: reach(true).deny("*", "x/*"),
  },
  {
    name: "allow-all ingress: one rule with neither from nor ports",
    upstream: "should support allow-all policy",
    policies: [np("x", "allow-all", { podSelector: ALL, ingress: [{}] })],
    expect: reach(true),
  },
  {
    name: "default-deny-ingress plus an allow-all for one target",
    upstream: "should enforce policy to allow ingress traffic for a target",
    policies: [
      np("x", "deny-ingress", { podSelector: ALL, policyTypes: ["Ingress"] }),
      np("x", "allow-all-to-a", { podSelector: pod("a"), ingress: [{}] }),
    ],
    expect: reach(true).deny("*", "x/*").allow("*", "x/a"),
  },
  {
    name: "default-deny-all (ingress and egress) in x",
    upstream: "should support a 'default-deny-all' policy",
    policies: [np("x", "deny-all", { podSelector: ALL, policyTypes: ["Ingress", "Egress"] })],
    expect: reach(true).deny("*", "x/*").deny("x/*", "*"),
  },
  {
    name: "default-deny-egress in x",
    upstream: "should deny egress from all pods in a namespace",
    policies: [np("x", "deny-egress", { podSelector: ALL, policyTypes: ["Egress"] })],
    expect: reach(true).deny("x/*", "*"),
  },
  {
    name: "deny egress from one pod by podSelector",
    upstream: "should deny egress from pods based on PodSelector",
    policies: [np("x", "deny-egress-a", { podSelector: pod("a"), policyTypes: ["Egress"] })],
    expect: reach(true).deny("x/a", "*"),
  },
  {
    name: "ingress from a pod of the same namespace by podSelector",
    upstream: "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
    policies: [np("x", "allow-b-to-a", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: pod("b") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "ingress from another namespace by namespaceSelector",
    upstream: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
    policies: [np("x", "allow-ns-y", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a"),
  },
  {
    name: "podSelector with matchExpressions In",
    upstream: "should enforce policy based on PodSelector with MatchExpressions",
    policies: [np("x", "pod-in", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: expr("pod", "In", ["b"]) }] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "namespaceSelector with matchExpressions In",
    upstream: "should enforce policy based on NamespaceSelector with MatchExpressions",
    policies: [np("x", "ns-in", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: expr("ns", "In", ["y"]) }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a"),
  },
  {
    name: "two peers are OR'd: namespaceSelector NotIn or podSelector",
    upstream: "should enforce policy based on PodSelector or NamespaceSelector",
    policies: [np("x", "ns-or-pod", {
      podSelector: pod("a"),
      ingress: [{ from: [{ namespaceSelector: expr("ns", "NotIn", ["x"]) }, { podSelector: pod("b") }] }],
    })],
    expect: reach(true).deny("*", "x/a").allow(["y/*", "z/*", "x/b"], "x/a"),
  },
  {
    name: "podSelector and namespaceSelector in one peer are AND'd",
    upstream: "should enforce policy based on PodSelector and NamespaceSelector",
    policies: [np("x", "ns-and-pod", {
      podSelector: pod("a"),
      ingress: [{ from: [{ namespaceSelector: expr("ns", "NotIn", ["x"]), podSelector: pod("b") }] }],
    })],
    expect: reach(true).deny("*", "x/a").allow(["y/b", "z/b"], "x/a"),
  },
  {
    name: "matchExpressions on both selectors of one peer",
    upstream: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
    policies: [np("x", "multi-expr", {
      podSelector: pod("a"),
      ingress: [{ from: [{ namespaceSelector: expr("ns", "NotIn", ["x"]), podSelector: expr("pod", "In", ["b", "c"]) }] }],
    })],
    expect: reach(true).deny("*", "x/a").allow(["y/b", "y/c", "z/b", "z/c"], "x/a"),
  },
  {
    name: "any of several podSelector peers",
    upstream: "should enforce policy based on any PodSelectors",
    policies: [np("x", "any-pod", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: pod("b") }, { podSelector: pod("c") }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["x/b", "x/c"], "x/a"),
  },
  {
    name: "one pod of another namespace by podSelector and namespaceSelector",
    upstream: "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
    policies: [np("x", "y-a-only", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y"), podSelector: pod("a") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/a", "x/a"),
  },
  {
    name: "namespaceSelector on the default kubernetes.io/metadata.name label",
    upstream: "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
    policies: [np("x", "default-ns-label", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ml({ "kubernetes.io/metadata.name": "y" }) }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a"),
  },
  {
    name: "ingress on one port number (protocol TCP implied)",
    upstream: "should enforce policy based on Ports",
    policies: [np("x", "port-81", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y") }], ports: [{ port: 81 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a", ["tcp/81"]),
  },
  {
    name: "stacked policies on one pod are a union",
    upstream: "should enforce multiple, stacked policies with overlapping podSelectors",
    policies: [
      np("x", "stack-1", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y") }], ports: [{ port: 80 }] }] }),
      np("x", "stack-2", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("z") }], ports: [{ port: 81, protocol: "TCP" }] }] }),
    ],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a", ["tcp/80"]).allow("z/*", "x/a", ["tcp/81"]),
  },
  {
    name: "ingress on one named port",
    upstream: "should allow ingress access on one named port",
    policies: [np("x", "named-port", { podSelector: ALL, ingress: [{ ports: [{ port: "serve-81-tcp" }] }] })],
    expect: reach(true).deny("*", "x/*").allow("*", "x/*", ["tcp/81"]),
  },
  {
    name: "the same policy updated in place to another named port",
    incremental: "policy-chain",
    upstream: "should enforce updated policy",
    policies: [np("x", "named-port", { podSelector: ALL, ingress: [{ ports: [{ port: "serve-80-tcp" }] }] })],
    expect: reach(true).deny("*", "x/*").allow("*", "x/*", ["tcp/80"]),
  },
  {
    name: "a named port is resolved on each destination pod (x/b has 80 and 81 swapped)",
    swapPortNames: ["x/b"],
    policies: [np("x", "named-port", { podSelector: ALL, ingress: [{ ports: [{ port: "serve-80-tcp" }] }] })],
    expect: reach(true).deny("*", "x/*").allow("*", ["x/a", "x/c"], ["tcp/80"]).allow("*", "x/b", ["tcp/81"]),
  },
  {
    name: "ingress from a namespace on one named port",
    upstream: "should allow ingress access from namespace on one named port",
    policies: [np("x", "ns-named-port", { podSelector: ALL, ingress: [{ from: [{ namespaceSelector: nsSel("y") }], ports: [{ port: "serve-80-tcp" }] }] })],
    expect: reach(true).deny("*", "x/*").allow("y/*", "x/*", ["tcp/80"]),
  },
  {
    name: "ingress on one named UDP port",
    policies: [np("x", "named-udp", { podSelector: pod("a"), ingress: [{ ports: [{ protocol: "UDP", port: "serve-81-udp" }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*", "x/a", ["udp/81"]),
  },
  {
    name: "a port name no pod exposes for the protocol matches nothing (fails closed)",
    policies: [np("x", "named-wrong-proto", { podSelector: pod("a"), ingress: [{ ports: [{ port: "serve-80-udp" }] }] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "egress on one named port (resolved on the destination pods)",
    upstream: "should allow egress access on one named port",
    policies: [np("x", "egress-named", { podSelector: ALL, policyTypes: ["Egress"], egress: [{ ports: [{ port: "serve-80-tcp" }] }] })],
    expect: reach(true).deny("x/*", "*").allow("x/*", "*", ["tcp/80"]),
  },
  {
    name: "an egress named port is resolved on each destination pod (y/b has 80 and 81 swapped)",
    swapPortNames: ["y/b"],
    policies: [np("x", "egress-named-udp", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ ports: [{ protocol: "UDP", port: "serve-81-udp" }] }] })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "*", ["udp/81"]).deny("x/a", "y/b", ["udp/81"]).allow("x/a", "y/b", ["udp/80"]),
  },
  {
    name: "ingress on any port of one protocol",
    upstream: "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
    policies: [np("x", "any-tcp", { podSelector: pod("a"), ingress: [{ ports: [{ protocol: "TCP" }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*", "x/a", TCP),
  },
  {
    name: "a UDP-only port does not allow TCP",
    upstream: "should not allow access by TCP when a policy specifies only UDP",
    policies: [np("x", "udp-81", { podSelector: pod("a"), ingress: [{ ports: [{ protocol: "UDP", port: 81 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*", "x/a", ["udp/81"]),
  },
  {
    name: "endPort range covering one served port",
    upstream: "should enforce policy to allow traffic based on endPort",
    policies: [np("x", "end-port", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y") }], ports: [{ protocol: "TCP", port: 81, endPort: 90 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a", ["tcp/81"]),
  },
  {
    name: "an endPort range beside a single port",
    upstream: "should support multiple endPort ranges",
    policies: [np("x", "end-port-mixed", { podSelector: pod("a"), ingress: [{ ports: [{ protocol: "UDP", port: 79, endPort: 80 }, { port: 81 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*", "x/a", ["udp/80", "tcp/81"]),
  },
  {
    name: "a podSelector peer with an empty namespaceSelector matches pods in all namespaces",
    upstream: "should enforce policy to allow ingress traffic from pods in all namespaces",
    policies: [np("x", "b-in-all-ns", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ALL, podSelector: pod("b") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*/b", "x/a"),
  },
  {
    name: "a deleted pod's IP leaves the peer sets (y/b removed from the cluster)",
    omitPods: ["y/b"],
    policies: [np("x", "b-in-all-ns", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ALL, podSelector: pod("b") }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["x/b", "z/b"], "x/a"),
  },
  {
    name: "a policy selecting no pods changes nothing",
    policies: [np("x", "selects-nothing", { podSelector: pod("nobody"), policyTypes: ["Ingress", "Egress"] })],
    expect: reach(true),
  },
  {
    name: "empty from allows all sources, missing from too",
    policies: [
      np("x", "empty-from", { podSelector: pod("a"), ingress: [{ from: [], ports: [{ port: 80 }] }] }),
      np("x", "missing-from", { podSelector: pod("b"), ingress: [{ ports: [{ port: 81 }] }] }),
    ],
    expect: reach(true).deny("*", ["x/a", "x/b"]).allow("*", "x/a", ["tcp/80"]).allow("*", "x/b", ["tcp/81"]),
  },
  {
    name: "empty ports allows all ports",
    policies: [np("x", "empty-ports", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: ALL }], ports: [] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/*", "x/a"),
  },
  {
    name: "egress with empty to on any UDP port",
    policies: [np("x", "egress-udp", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [], ports: [{ protocol: "UDP" }] }] })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "*", UDP),
  },
  {
    name: "egress: [] without policyTypes only isolates ingress",
    policies: [np("x", "empty-egress", { podSelector: pod("a"), egress: [] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "egress rules without policyTypes imply Ingress and Egress",
    policies: [np("x", "implied-egress", { podSelector: pod("a"), egress: [{ to: [{ podSelector: ALL }] }] })],
    expect: reach(true).deny("*", "x/a").deny("x/a", "*").allow("x/a", "x/*"),
  },
  {
    name: "ingress and egress rules in one policy",
    upstream: "should work with Ingress, Egress specified together",
    policies: [np("x", "in-and-out", {
      podSelector: pod("a"),
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: pod("b") }] }],
      egress: [{ to: [{ namespaceSelector: nsSel("y") }] }],
    })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a").deny("x/a", "*").allow("x/a", "y/*"),
  },
  {
    name: "policyTypes [Egress] ignores the policy's ingress rules",
    policies: [np("x", "egress-only-type", {
      podSelector: pod("a"),
      policyTypes: ["Egress"],
      ingress: [{ from: [{ podSelector: pod("b") }] }],
      egress: [{ to: [{ namespaceSelector: nsSel("y") }] }],
    })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "y/*"),
  },
  {
    name: "policyTypes [Ingress] ignores the policy's egress rules",
    policies: [np("x", "ingress-only-type", {
      podSelector: pod("a"),
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: pod("b") }] }],
      egress: [{ to: [{ namespaceSelector: nsSel("y") }] }],
    })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "egress denied on the client side even where the server allows it",
    upstream: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
    policies: [
      np("x", "a-to-y-only", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: nsSel("y") }] }] }),
      np("y", "allow-all", { podSelector: ALL, ingress: [{}] }),
      np("z", "from-x", { podSelector: ALL, ingress: [{ from: [{ namespaceSelector: nsSel("x") }] }] }),
    ],
    expect: reach(true).deny("*", "z/*").allow("x/*", "z/*").deny("x/a", "*").allow("x/a", "y/*"),
  },
  {
    name: "egress to one pod of another namespace by podSelector and namespaceSelector",
    upstream: "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
    policies: [np("x", "egress-y-a", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: nsSel("y"), podSelector: pod("a") }] }] })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "y/a"),
  },
  {
    name: "egress namespaceSelector NotIn on the default namespace label",
    upstream: "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
    policies: [np("x", "egress-not-y", {
      podSelector: pod("a"), policyTypes: ["Egress"],
      egress: [{ to: [{ namespaceSelector: expr("kubernetes.io/metadata.name", "NotIn", ["y"]) }] }],
    })],
    expect: reach(true).deny("x/a", "y/*"),
  },
  {
    name: "matchExpressions Exists on pod labels (pods relabelled)",
    podLabels: { "y/b": { tier: "frontend" }, "z/c": { tier: "backend" } },
    policies: [np("x", "tier-exists", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ALL, podSelector: expr("tier", "Exists") }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["y/b", "z/c"], "x/a"),
  },
  {
    name: "matchExpressions DoesNotExist on namespace labels (namespace relabelled)",
    nsLabels: { z: { team: "red" } },
    policies: [np("x", "no-team", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: expr("team", "DoesNotExist") }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["x/*", "y/*"], "x/a"),
  },
  {
    name: "ingress from a namespace label nobody has yet",
    upstream: "should allow ingress access from updated namespace (before the update)",
    policies: [np("x", "from-updated-ns", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ml({ ns2: "updated" }) }] }] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "… then namespace y gets the label",
    incremental: "members",
    upstream: "should allow ingress access from updated namespace",
    nsLabels: { y: { ns2: "updated" } },
    policies: [np("x", "from-updated-ns", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: ml({ ns2: "updated" }) }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a"),
  },
  {
    name: "ingress from a pod label nobody has yet",
    upstream: "should allow ingress access from updated pod (before the update)",
    policies: [np("x", "from-updated-pod", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: ml({ pod2: "updated" }) }] }] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "… then pod x/b gets the label",
    incremental: "members",
    upstream: "should allow ingress access from updated pod",
    podLabels: { "x/b": { pod2: "updated" } },
    policies: [np("x", "from-updated-pod", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: ml({ pod2: "updated" }) }] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "deny-ingress policy on a label no pod has yet",
    upstream: "should deny ingress access to updated pod (before the update)",
    policies: [np("x", "isolate-target", { podSelector: ml({ target: "isolated" }), policyTypes: ["Ingress"] })],
    expect: reach(true),
  },
  {
    name: "… then pod x/a gets the label",
    incremental: "pod-chain",
    upstream: "should deny ingress access to updated pod",
    podLabels: { "x/a": { target: "isolated" } },
    policies: [np("x", "isolate-target", { podSelector: ml({ target: "isolated" }), policyTypes: ["Ingress"] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "ingress only from the policy's own namespace",
    upstream: "should deny ingress from pods on other namespaces",
    policies: [np("x", "same-ns", { podSelector: ALL, ingress: [{ from: [{ podSelector: ALL }] }] })],
    expect: reach(true).deny("*", "x/*").allow("x/*", "x/*"),
  },
  {
    name: "deny all in x and y, then allow within each namespace",
    policies: (["x", "y"] as const).flatMap((ns) => [
      np(ns, "deny-all", { podSelector: ALL, policyTypes: ["Ingress", "Egress"] }),
      np(ns, "allow-same-ns", { podSelector: ALL, ingress: [{ from: [{ podSelector: ALL }] }], egress: [{ to: [{ podSelector: ALL }] }] }),
    ]),
    expect: reach(true).deny(["x/*", "y/*"], "*").deny("*", ["x/*", "y/*"]).allow("x/*", "x/*").allow("y/*", "y/*"),
  },
  {
    name: "a policy in y does not select the same-labelled pod in x",
    policies: [np("y", "y-a-same-ns", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: ALL }] }] })],
    expect: reach(true).deny("*", "y/a").allow("y/*", "y/a"),
  },
  {
    name: "ingress from an ipBlock (one node's pod CIDR)",
    policies: [np("x", "from-cidr", { podSelector: pod("a"), ingress: [{ from: [{ ipBlock: { cidr: "10.244.2.0/24" } }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["x/b", "y/a", "z/c"], "x/a"),
  },
  {
    name: "ingress from an ipBlock with except",
    policies: [np("x", "from-cidr-except", {
      podSelector: pod("a"),
      ingress: [{ from: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.2.0/24", host("y/c")] } }] }],
    })],
    // node-2 pods (x/b y/a z/c) and y/c are excepted
    expect: reach(true).deny(["x/b", "y/a", "z/c", "y/c"], "x/a"),
  },
  {
    name: "egress to a server in a CIDR block",
    upstream: "should allow egress access to server in CIDR block",
    policies: [np("x", "to-y-b", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: host("y/b") } }] }] })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "y/b"),
  },
  {
    name: "egress ipBlock except clause",
    upstream: "should enforce except clause while egress access to server in CIDR block",
    policies: [np("x", "to-cidr-except", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.3.0/24"] } }] }] })],
    // node-3 pods are x/c y/b z/a
    expect: reach(true).deny("x/a", ["x/c", "y/b", "z/a"]),
  },
  {
    name: "an IP in one policy's except is allowed by another policy",
    upstream: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
    policies: [
      np("x", "to-cidr-except", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.3.0/24"] } }] }] }),
      np("x", "to-y-b", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: host("y/b") } }] }] }),
    ],
    expect: reach(true).deny("x/a", ["x/c", "z/a"]),
  },
  {
    name: "egress ipBlock 0.0.0.0/0 with except",
    policies: [np("x", "to-world-except", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.244.1.0/24"] } }] }] })],
    // node-1 pods other than x/a itself are y/c and z/b
    expect: reach(true).deny("x/a", ["y/c", "z/b"]),
  },
  {
    name: "several ingress rules are OR'd, each with its own peers and ports",
    policies: [np("x", "two-rules", {
      podSelector: pod("a"),
      ingress: [
        { from: [{ namespaceSelector: nsSel("y") }], ports: [{ port: 80 }] },
        { from: [{ namespaceSelector: nsSel("z") }], ports: [{ protocol: "UDP", port: 81 }] },
      ],
    })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a", ["tcp/80"]).allow("z/*", "x/a", ["udp/81"]),
  },
  {
    name: "ingress restricted to one port",
    upstream: "should enforce multiple ingress policies with ingress allow-all policy taking precedence (before the allow-all)",
    policies: [np("x", "ingress-80", { podSelector: pod("a"), ingress: [{ ports: [{ port: 80 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("*", "x/a", ["tcp/80"]),
  },
  {
    name: "an ingress allow-all policy takes precedence over a restrictive one",
    upstream: "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
    policies: [
      np("x", "ingress-80", { podSelector: pod("a"), ingress: [{ ports: [{ port: 80 }] }] }),
      np("x", "ingress-all", { podSelector: pod("a"), ingress: [{}] }),
    ],
    expect: reach(true),
  },
  {
    name: "egress restricted to one port",
    policies: [np("x", "egress-80", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ ports: [{ port: 80 }] }] })],
    expect: reach(true).deny("x/a", "*").allow("x/a", "*", ["tcp/80"]),
  },
  {
    name: "an egress allow-all policy takes precedence over a restrictive one",
    upstream: "should enforce multiple egress policies with egress allow-all policy taking precedence",
    policies: [
      np("x", "egress-80", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ ports: [{ port: 80 }] }] }),
      np("x", "egress-all", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{}] }),
    ],
    expect: reach(true),
  },
  {
    name: "ingress and egress isolation controlled independently",
    upstream: "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
    policies: [
      np("x", "a-no-egress", { podSelector: pod("a"), policyTypes: ["Egress"] }),
      np("x", "b-no-ingress", { podSelector: pod("b"), policyTypes: ["Ingress"] }),
    ],
    expect: reach(true).deny("x/a", "*").deny("*", "x/b"),
  },
  {
    name: "egress to pods c in all namespaces on UDP 80 only",
    policies: [np("x", "egress-c-udp80", {
      podSelector: ALL, policyTypes: ["Egress"],
      egress: [{ to: [{ namespaceSelector: ALL, podSelector: pod("c") }], ports: [{ protocol: "UDP", port: 80 }] }],
    })],
    expect: reach(true).deny("x/*", "*").allow("x/*", "*/c", ["udp/80"]),
  },
  {
    name: "an SCTP-only rule opens no TCP or UDP port",
    policies: [np("x", "sctp-80", { podSelector: pod("a"), ingress: [{ ports: [{ protocol: "SCTP", port: 80 }] }] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "a finished pod still holding a live pod's IP is no peer; a hostNetwork pod is ignored",
    extraPods: [
      {
        apiVersion: "v1", kind: "Pod",
        metadata: { name: "done", namespace: "x", uid: "00000000-0000-4000-9000-000000000099", labels: { pod: "b" } },
        spec: { nodeName: "node-3", containers: [{ name: "c", image: "busybox" }] },
        status: { phase: "Succeeded", hostIP: "10.250.0.13", podIP: podIp("z/a"), podIPs: [{ ip: podIp("z/a") }] },
      },
      {
        apiVersion: "v1", kind: "Pod",
        metadata: { name: "hostnet", namespace: "x", uid: "00000000-0000-4000-9000-000000000098", labels: { pod: "a" } },
        spec: { nodeName: "node-1", hostNetwork: true, containers: [{ name: "c", image: "busybox" }] },
        status: { phase: "Running", hostIP: "10.250.0.11", podIP: "10.250.0.11", podIPs: [{ ip: "10.250.0.11" }] },
      },
    ],
    policies: [np("x", "from-b", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: pod("b") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "bad input: an invalid ipBlock CIDR fails closed for its pods, other policies keep working",
    policies: [
      np("x", "bad-cidr", { podSelector: pod("a"), ingress: [{ from: [{ ipBlock: { cidr: "10.244.300.0/24" } }] }] }),
      np("x", "good", { podSelector: pod("b"), ingress: [{ from: [{ podSelector: pod("c") }] }] }),
    ],
    expect: reach(true).deny("*", ["x/a", "x/b"]).allow("x/c", "x/b"),
  },
  {
    name: "bad input: an unknown selector operator fails closed",
    policies: [np("x", "bad-operator", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: expr("pod", "Equals", ["b"]) }] }] })],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "all policies deleted: enforcement stops",
    upstream: "should stop enforcing policies after they are deleted",
    policies: [],
    expect: reach(true),
  },
];

/**
 * Dual-stack cases (dualstack.test.ts): every pod has an IPv4 and an IPv6 address and every
 * probe runs over both (`tcp/80` … IPv4, `tcp6/80` … IPv6). Selectors and ports apply to both
 * families; an ipBlock only ever matches addresses of its own family.
 */
const V4 = PROBES;
const V6 = PROBES6;
const ALL_OTHER_THAN_NODE_2 = ["x/a", "y/c", "z/b", "x/c", "y/b", "z/a"];
const fromUpdatedPod = np("x", "from-updated-pod", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: ml({ pod2: "updated" }) }] }] });

export const DUAL_STACK_CASES: readonly Case[] = [
  {
    name: "dual-stack: no policies, both families reachable",
    policies: [],
    expect: reach(true),
  },
  {
    name: "dual-stack: default-deny-ingress applies to both families",
    policies: [np("x", "deny-ingress", { podSelector: ALL, policyTypes: ["Ingress"] })],
    expect: reach(true).deny("*", "x/*"),
  },
  {
    name: "dual-stack: a podSelector peer is allowed over both families",
    policies: [np("x", "allow-b-to-a", { podSelector: pod("a"), ingress: [{ from: [{ podSelector: pod("b") }] }] })],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "dual-stack: a namespaceSelector peer on one port, both families",
    policies: [np("x", "port-81", { podSelector: pod("a"), ingress: [{ from: [{ namespaceSelector: nsSel("y") }], ports: [{ port: 81 }] }] })],
    expect: reach(true).deny("*", "x/a").allow("y/*", "x/a", ["tcp/81", "tcp6/81"]),
  },
  {
    name: "dual-stack: an IPv4 ipBlock matches no IPv6 source",
    policies: [np("x", "from-cidr4", { podSelector: pod("a"), ingress: [{ from: [{ ipBlock: { cidr: "10.244.2.0/24" } }] }] })],
    expect: reach(true).deny("*", "x/a").allow(["x/b", "y/a", "z/c"], "x/a", V4),
  },
  {
    name: "dual-stack: an IPv6 ipBlock with except matches no IPv4 source",
    policies: [np("x", "from-cidr6", { podSelector: pod("a"), ingress: [{ from: [{ ipBlock: { cidr: "fd00:10:244::/48", except: ["fd00:10:244:2::/64"] } }] }] })],
    expect: reach(true).deny("*", "x/a").allow(ALL_OTHER_THAN_NODE_2, "x/a", V6),
  },
  {
    name: "dual-stack: egress to 0.0.0.0/0 except one pod CIDR allows no IPv6",
    policies: [np("x", "to-world4", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.244.1.0/24"] } }] }] })],
    expect: reach(true).deny("x/a", "*", V6).deny("x/a", ["y/c", "z/b"], V4),
  },
  {
    name: "dual-stack: egress to ::/0 except one pod CIDR allows no IPv4",
    policies: [np("x", "to-world6", { podSelector: pod("a"), policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "::/0", except: ["fd00:10:244:1::/64"] } }] }] })],
    expect: reach(true).deny("x/a", "*", V4).deny("x/a", ["y/c", "z/b"], V6),
  },
  {
    name: "dual-stack: egress on a named UDP port, both families",
    policies: [np("x", "egress-named-udp", { podSelector: ALL, policyTypes: ["Egress"], egress: [{ ports: [{ protocol: "UDP", port: "serve-80-udp" }] }] })],
    expect: reach(true).deny("x/*", "*").allow("x/*", "*", ["udp/80", "udp6/80"]),
  },
  {
    name: "dual-stack: deny all in x and y, then allow within each namespace",
    policies: (["x", "y"] as const).flatMap((ns) => [
      np(ns, "deny-all", { podSelector: ALL, policyTypes: ["Ingress", "Egress"] }),
      np(ns, "allow-same-ns", { podSelector: ALL, ingress: [{ from: [{ podSelector: ALL }] }], egress: [{ to: [{ podSelector: ALL }] }] }),
    ]),
    expect: reach(true).deny(["x/*", "y/*"], "*").deny("*", ["x/*", "y/*"]).allow("x/*", "x/*").allow("y/*", "y/*"),
  },
  {
    name: "dual-stack: ingress from a pod label nobody has yet",
    policies: [fromUpdatedPod],
    expect: reach(true).deny("*", "x/a"),
  },
  {
    name: "dual-stack: … then pod x/b gets the label (both of its IPs join the peer sets)",
    incremental: "members",
    podLabels: { "x/b": { pod2: "updated" } },
    policies: [fromUpdatedPod],
    expect: reach(true).deny("*", "x/a").allow("x/b", "x/a"),
  },
  {
    name: "dual-stack: all policies deleted",
    policies: [],
    expect: reach(true),
  },
];
