/**
 * The row types of the node's tables, each with its key function next to it. The tables
 * themselves (which row type, key, diff policy, driver, owners) are declared once in
 * registry.ts; NodeState and NodePlan are derived from that declaration.
 * Every object is normalised plain data.
 *
 * @category models
 */

export type Family = "ipv4" | "ipv6";

// ---------------------------------------------------------------------------------------------
// iptables

export type IptTableName = "filter" | "nat" | "mangle" | "raw";

/**
 * An owned (non-builtin) chain with its ordered rules. Each rule is the text iptables-save
 * prints after `-A <chain> `, in canonical form (see `ruleText` in iptables-rule.ts).
 * A chain is replaced whole when anything in it differs.
 */
export interface Chain {
  readonly family: Family;
  readonly table: IptTableName;
  readonly name: string;
  readonly rules: readonly string[];
}
export const chainKey = (c: Pick<Chain, "family" | "table" | "name">): string => `${c.family}/${c.table}/${c.name}`;

/**
 * One owned rule in a builtin chain (INPUT, FORWARD, POSTROUTING, …), identified by its
 * comment (unique per builtin chain) and placed at a 1-based `position`.
 * `rule` is the full canonical rule text after `-A <chain> ` (comment included).
 * Observed jumps carry the position they are at now when they are "in place" (every rule
 * above them is ours and their text is unique in the chain); a displaced one carries the
 * negative of its index, so it always differs from a rendered position (1..n) and is re-placed.
 * Renderers give each builtin chain contiguous positions 1..n (assemble.ts numbers them).
 */
export interface Jump {
  readonly family: Family;
  readonly table: IptTableName;
  readonly chain: string;
  readonly comment: string;
  readonly rule: string;
  readonly position: number;
}
export const jumpKey = (j: Pick<Jump, "family" | "table" | "chain" | "comment">): string =>
  `${j.family}/${j.table}/${j.chain}/${j.comment}`;

// ---------------------------------------------------------------------------------------------
// ipset

export type IpsetType = "hash:ip" | "hash:net" | "hash:ip,port" | "hash:ip,port,ip" | "hash:ip,port,net" | "hash:net,port" | "hash:net,iface";

/**
 * An owned ipset. Header (type, family, timeout) changes replace the set (swap, so references
 * survive); members are diffed one by one. Member strings are in `ipset save` form
 * (e.g. `10.0.0.0/24`, `10.0.0.1`, `10.96.0.10,tcp:53`, `10.1.0.0/16 nomatch`).
 * IPv6 sets carry upstream's `inet6:` name prefix.
 */
export interface Ipset {
  readonly name: string;
  readonly type: IpsetType;
  readonly family: "inet" | "inet6";
  /** `timeout 0` as upstream creates its sets; omitted when the set has no timeout support. */
  readonly timeout?: number;
  readonly members: ReadonlySet<string>;
}
export const ipsetKey = (s: Pick<Ipset, "name">): string => s.name;

// ---------------------------------------------------------------------------------------------
// links, addresses, routes, policy rules (iproute2)

export type LinkKind = "bridge" | "dummy" | "vxlan" | "ipip" | "ip6tnl";

/** FoU / GUE encapsulation of an ipip / ip6tnl link (`encap gue encap-sport auto encap-dport P`). */
export interface TunnelEncap {
  readonly type: "gue";
  readonly dport: number;
}

/**
 * An owned link. `mtu` absent ⇒ not managed; `address` (the MAC, lower-case) absent ⇒ not
 * managed. Kind-specific attributes in `vxlan`/`tunnel`; any change to them re-creates the
 * link (ip/compile.ts needsRecreate), which is what an encap switch needs.
 */
export interface Link {
  readonly name: string;
  readonly kind: LinkKind;
  readonly up: boolean;
  readonly mtu?: number;
  readonly address?: string;
  readonly vxlan?: { readonly id: number; readonly local?: string; readonly dev?: string; readonly port?: number; readonly learning?: boolean };
  readonly tunnel?: { readonly local?: string; readonly remote: string; readonly ttl?: number; readonly encap?: TunnelEncap };
}
export const linkKey = (l: Pick<Link, "name">): string => l.name;

/** An address on a link whose addresses we own (only links listed in names.ts OWNED_ADDRESS_LINKS). */
export interface Address {
  readonly dev: string;
  /** `ip/prefixlen` */
  readonly cidr: string;
  readonly scope?: "global" | "link" | "host";
}
export const addressKey = (a: Pick<Address, "dev" | "cidr">): string => `${a.dev}/${a.cidr}`;

/**
 * A route we own: our route protocol (names.ts ROUTE_PROTO), or on a link whose routes we own.
 * `table` is numeric or `main`/`local`; `dst` is a CIDR (`default` never used by us).
 */
export interface Route {
  readonly family: Family;
  readonly table: string;
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
  readonly src?: string;
  readonly proto: string;
  readonly type?: "unicast" | "local";
  readonly scope?: "global" | "link" | "host";
  /** The `onlink` next-hop flag (gateway not in any connected subnet: the vxlan overlay). */
  readonly onlink?: boolean;
}
export const routeKey = (r: Pick<Route, "family" | "table" | "dst">): string => `${r.family}/${r.table}/${r.dst}`;

/** A policy routing rule we own (it looks up one of our tables, names.ts OWNED_RULE_TABLES). */
export interface PolicyRule {
  readonly family: Family;
  readonly priority: number;
  /** selector in `ip rule` syntax, e.g. `from 10.244.1.0/24` or `fwmark 0x1`. */
  readonly selector: string;
  readonly table: string;
}
export const policyRuleKey = (r: Pick<PolicyRule, "family" | "priority" | "selector">): string =>
  `${r.family}/${r.priority}/${r.selector}`;

// ---------------------------------------------------------------------------------------------
// sysctls, files

/** A sysctl we set, by `/proc/sys` path with slashes (`net/ipv4/ip_forward`). Never deleted. */
export interface Sysctl {
  readonly path: string;
  readonly value: string;
}
export const sysctlKey = (s: Pick<Sysctl, "path">): string => s.path;

/** A file we manage (the CNI config), written atomically. */
export interface ManagedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}
export const fileKey = (f: Pick<ManagedFile, "path">): string => f.path;

// ---------------------------------------------------------------------------------------------
// IPVS

export type IpvsProtocol = "tcp" | "udp" | "sctp";

/**
 * An IPVS virtual service we own (its VIP is one we render). Either `protocol`/`address`/`port`
 * or `fwmark` (DSR) identifies it. `flags` are scheduler flags in ipvsadm order
 * (`flag-1,flag-2` → ["flag-1","flag-2"]); `persistent` is the session-affinity timeout (s).
 * Real servers live in their own table so one endpoint change is one planned change.
 */
export interface IpvsService {
  readonly family: Family;
  readonly protocol: IpvsProtocol | "fwmark";
  /** VIP (canonical); "" for fwmark services. */
  readonly address: string;
  /** 0 for fwmark services. */
  readonly port: number;
  readonly fwmark?: number;
  readonly scheduler: string;
  readonly flags: readonly string[];
  readonly persistent?: number;
}
/** `tcp/10.96.0.10/80`, `tcp/[fd00::10]/80`, `fwmark/ipv4/4660`. */
export const ipvsServiceKey = (s: Pick<IpvsService, "family" | "protocol" | "address" | "port" | "fwmark">): string =>
  s.protocol === "fwmark"
    ? `fwmark/${s.family}/${s.fwmark ?? 0}`
    : `${s.protocol}/${s.family === "ipv6" ? `[${s.address}]` : s.address}/${s.port}`;

/** One real server of an owned virtual service (`service` is the service's key). */
export interface IpvsReal {
  readonly service: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly forward: "masq" | "tunnel" | "route";
  /**
   * With `--ipvs-graceful-termination` only: the target pod's `spec.terminationGracePeriodSeconds`,
   * the drain period of this real server once it goes (upstream: the pod's grace period when set,
   * else `--ipvs-graceful-period`). Not kernel state: the IPVS driver copies it from the rendered
   * row onto the observed one, and its drain tracker remembers it for when the real is no longer
   * rendered (src/apply/ipvs/graceful.ts).
   */
  readonly graceSeconds?: number;
}
export const ipvsRealKey = (r: Pick<IpvsReal, "service" | "address" | "port">): string =>
  flatText(r.service, ">", r.address.includes(":") ? `[${r.address}]` : r.address, ":", r.port);

/**
 * `parts` concatenated into one flat string. A template literal of 13 characters or more is a
 * tree of V8 "cons" cells (32 bytes each) over its parts; a key kept in a table for 150k rows
 * is several times smaller flat (issue 15).
 */
export function flatText(...parts: readonly (string | number)[]): string {
  return parts.join("");
}

/**
 * IPVS global connection timeouts in seconds (`ipvsadm --set TCP TCPFIN UDP`), from
 * `--service-tcp-timeout`, `--service-tcpfin-timeout`, `--service-udp-timeout`. A 0 field is
 * not managed (the kernel keeps its value; observe reports 0 for it). One entry, key "ipvs",
 * rendered only when a flag is set; never deleted (like sysctls).
 */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
}
export const IPVS_TIMEOUTS_KEY = "ipvs";

// ---------------------------------------------------------------------------------------------
// In-process and in-pod objects of the service proxy (tables like the kernel's, so dry-run
// shows them and a plan drives them).

/**
 * A healthCheckNodePort listener (kube-router-features.md §3.2): an HTTP server on `port`
 * answering `/healthz` with 200 while the Service has ≥ 1 local ready endpoint, else 503.
 */
export interface HealthCheck {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  /** Local endpoints that are ready and not terminating (distinct addresses). */
  readonly localEndpoints: number;
}
export const healthCheckKey = (h: Pick<HealthCheck, "port">): string => String(h.port);

/**
 * A DSR tunnel inside a local endpoint pod's network namespace (§3.7): an ipip/ip6tnl link
 * holding the VIP so the pod accepts the IPVS-tunnelled packet. `containerId` names the
 * container whose PID enters the namespace; a new container is a new tunnel to set up.
 */
export interface DsrTunnel {
  /** `namespace/name` */
  readonly pod: string;
  readonly podIp: string;
  readonly vip: string;
  readonly family: Family;
  /** `containerd://…`, `cri-o://…`, `docker://…` from the pod status. */
  readonly containerId?: string;
}
export const dsrTunnelKey = (t: Pick<DsrTunnel, "pod" | "podIp" | "vip" | "containerId">): string =>
  `${t.pod}|${t.podIp}|${t.vip}|${t.containerId ?? ""}`;

// ---------------------------------------------------------------------------------------------
// Cluster-wide objects written through the Kubernetes API (the LoadBalancer allocator).

/**
 * The wanted `status.loadBalancer.ingress` IPs of one Service the allocator handles
 * (kube-router-features.md §5.7), keyed `namespace/name`. `resourceVersion` is the version
 * the row was rendered from (the write's precondition); `current` the status IPs that version
 * held. Only `ingress` is compared by the diff (registry `same`): a new resourceVersion with
 * the same IPs is no change.
 */
export interface LbStatus {
  readonly namespace: string;
  readonly name: string;
  readonly ingress: readonly string[];
  readonly resourceVersion: string;
  readonly current: readonly string[];
  /** Why the allocator cannot give the Service what it asks (each reported once as a Warning Event by the Lease holder); absent = none. */
  readonly problems?: readonly LbProblem[];
}
/** One allocation problem of a Service: a stable Event reason and a one-line message naming the Service. */
export interface LbProblem {
  readonly reason: string;
  readonly message: string;
}
export const lbStatusKey = (s: Pick<LbStatus, "namespace" | "name">): string => `${s.namespace}/${s.name}`;
const sameProblems = (a: readonly LbProblem[] = [], b: readonly LbProblem[] = []): boolean =>
  a.length === b.length && a.every((p, i) => p.reason === b[i]!.reason && p.message === b[i]!.message);
export const sameLbStatus = (a: LbStatus, b: LbStatus): boolean =>
  a.namespace === b.namespace && a.name === b.name && a.ingress.length === b.ingress.length && a.ingress.every((ip, i) => ip === b.ingress[i]) && sameProblems(a.problems, b.problems);

// ---------------------------------------------------------------------------------------------
// Cluster-wide: the route extender's ConfigMap (reference/route-extender.md §4), one row per key.

/**
 * One key of the route extender's ConfigMap (`kube-system/kube-chorus-router` by default).
 * `writer` says which agent writes it: "leader" (the Lease holder: EndpointIP, Type, VTEP and
 * every node's Host-/Interface-/CNI-/Node- keys) or "self" (the node's own agent: its Mac-
 * key, the MAC of its own device). Not API state: the driver copies it from the rendered row
 * onto the observed one, so only `value` differs between the two.
 */
export interface ConfigMapKey {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly value: string;
  readonly writer: "leader" | "self";
}
export const configMapKeyKey = (k: Pick<ConfigMapKey, "namespace" | "name" | "key">): string => `${k.namespace}/${k.name}/${k.key}`;
