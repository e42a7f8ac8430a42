/**
 * Ownership between controllers, as data (DESIGN.md §5): for each table, which controller
 * owns which observed objects, by a named predicate. The engine uses them to keep a
 * controller's objects exactly as observed when it does not render (flag off, not built,
 * failed), and the runtime to decide which controllers a failing driver affects.
 *
 * Every predicate is total and pure; a predicate sees only objects a driver already reported
 * as ours (names.ts), so "owned by nobody here" never means "foreign".
 *
 * @category models
 */
import {
  COMMENT, DSR_TABLE, EXTENDER_CHAIN, EXTENDER_IPIP, EXTENDER_JUMP_COMMENT, EXTENDER_VXLAN, EXTERNAL_IP_TABLE, FIREWALL_COMMENT_PREFIX, FIREWALL_TOP_CHAIN, IPSET, KUBE_BRIDGE,
  KUBE_DUMMY_IF, KUBE_VXLAN, KUBE_VXLAN6, OVERLAY_TABLE, PROXY_CHAIN, ROUTE_PROTO, TUNNEL_LINK_PREFIX, ipsetName,
} from "./names.ts";
import type { FdbEntry, Neighbor } from "./overlay.ts";
import type { Address, Chain, ConfigMapKey, Ipset, Jump, Link, PolicyRule, Route, Sysctl } from "./rows.ts";

/** The controllers, in jump-placement order (firewall jumps first). */
export const CONTROLLER_NAMES = ["firewall", "proxy", "router", "bgp", "lballoc", "extender"] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/**
 * Cluster facts an ownership predicate may need besides the row (derived from the snapshot and
 * config by the engine, render/assemble.ts `ownershipContext`): whether the bgp controller runs
 * (it owns learned routes only then), and the canonical pod CIDRs of every node, which separate
 * the router's pod routes from the routes BGP learned.
 */
export interface OwnershipContext {
  readonly bgp: boolean;
  readonly podCidrs: ReadonlySet<string>;
}
/** No cluster facts (cleanup: nothing is kept, so nothing needs them). */
export const NO_CONTEXT: OwnershipContext = { bgp: false, podCidrs: new Set() };

/** A named ownership predicate over one table's rows. */
export interface Owner<T> {
  readonly name: string;
  readonly owns: (row: T, ctx: OwnershipContext) => boolean;
}
const owner = <T>(name: string, owns: (row: T, ctx: OwnershipContext) => boolean): Owner<T> => ({ name, owns });
const always = <T>(name: string): Owner<T> => owner<T>(name, () => true);

const baseSetName = (n: string) => (n.startsWith("inet6:") ? n.slice(6) : n);
const jumpTarget = (j: Jump) => / -j (\S+)/.exec(` ${j.rule}`)?.[1] ?? "";
const bothFamilies = (names: readonly string[]): ReadonlySet<string> => new Set(names.flatMap((n) => [n, ipsetName(n, "ipv6")]));

// firewall ------------------------------------------------------------------------------------
const FW_TOP: ReadonlySet<string> = new Set(Object.values(FIREWALL_TOP_CHAIN));
/** True for a chain of the firewall (the proxy's KUBE-ROUTER-SERVICES/HAIRPIN are not). */
export const isFirewallChain = (n: string): boolean => FW_TOP.has(n) || n.startsWith("KUBE-NWPLCY-") || n.startsWith("KUBE-POD-FW-");
export const firewallChains = owner<Chain>("firewall chains (KUBE-ROUTER-INPUT/FORWARD/OUTPUT, KUBE-NWPLCY-*, KUBE-POD-FW-*)", (c) => isFirewallChain(c.name));
export const firewallJumps = owner<Jump>("jumps to firewall chains or commented `kube-router netpol`", (j) => isFirewallChain(jumpTarget(j)) || j.comment.startsWith(FIREWALL_COMMENT_PREFIX));
export const firewallSets = owner<Ipset>("KUBE-SRC-*, KUBE-DST-*, kube-router-local-pods", (s) => {
  const n = baseSetName(s.name);
  return n.startsWith("KUBE-SRC-") || n.startsWith("KUBE-DST-") || n === IPSET.localPods;
});

// proxy ---------------------------------------------------------------------------------------
const PROXY_CHAINS: ReadonlySet<string> = new Set(Object.values(PROXY_CHAIN));
const PROXY_SETS = bothFamilies([IPSET.localIps, IPSET.serviceVips, IPSET.serviceVipPorts]);
const PROXY_RULE_TABLES: ReadonlySet<string> = new Set([DSR_TABLE, EXTERNAL_IP_TABLE]);
export const proxyChains = owner<Chain>("KUBE-ROUTER-SERVICES, -HAIRPIN, -DSR-*", (c) => PROXY_CHAINS.has(c.name));
export const proxyJumps = owner<Jump>("jumps to proxy chains or matching `-m ipvs`", (j) => PROXY_CHAINS.has(jumpTarget(j)) || j.rule.includes("-m ipvs"));
export const proxySets = owner<Ipset>("kube-router-local-ips, -svip, -svip-prt", (s) => PROXY_SETS.has(s.name));
export const proxyLinks = owner<Link>(KUBE_DUMMY_IF, (l) => l.name === KUBE_DUMMY_IF);
/** Addresses are observed only on names.ts OWNED_ADDRESS_LINKS; the proxy's are kube-dummy-if's. */
export const proxyAddresses = owner<Address>(`addresses of ${KUBE_DUMMY_IF}`, (a) => a.dev === KUBE_DUMMY_IF);
export const proxyRoutes = owner<Route>(`routes on ${KUBE_DUMMY_IF} and in the DSR table`, (r) => r.dev === KUBE_DUMMY_IF || r.table === DSR_TABLE);
export const proxyRules = owner<PolicyRule>("rules to the DSR and external-IP tables", (r) => PROXY_RULE_TABLES.has(r.table));
export const proxySysctls = owner<Sysctl>("net/ipv4/vs/*, arp_ignore, arp_announce", (s) => s.path.startsWith("net/ipv4/vs/") || /^net\/ipv4\/conf\/all\/arp_(ignore|announce)$/.test(s.path));
/**
 * Every observed IPVS service, real server, listener and DSR tunnel: the IPVS driver observes
 * only services whose VIP is ours (ownsIpvsService), the others only what they made.
 */
export const proxyEverything = always<unknown>("everything its driver observes (owned by VIP or made by us)");

// router --------------------------------------------------------------------------------------
const ROUTER_COMMENTS: ReadonlySet<string> = new Set([COMMENT.forwardFromPods, COMMENT.forwardToPods, COMMENT.forwardNodeIface, COMMENT.podEgress]);
const ROUTER_SETS = bothFamilies([IPSET.podSubnets, IPSET.nodeIps]);
const ROUTER_VXLAN: ReadonlySet<string> = new Set([KUBE_VXLAN, KUBE_VXLAN6]);
/** True for the router's overlay devices: the vxlan device of each family and the `tun-*` tunnels. */
export const isOverlayDevice = (name: string): boolean => ROUTER_VXLAN.has(name) || name.startsWith(TUNNEL_LINK_PREFIX);
export const routerLinks = owner<Link>(`${KUBE_BRIDGE}, ${KUBE_VXLAN}, ${KUBE_VXLAN6} and ${TUNNEL_LINK_PREFIX}*`, (l) => l.name === KUBE_BRIDGE || isOverlayDevice(l.name));
export const routerAddresses = owner<Address>(`addresses of ${KUBE_VXLAN}, ${KUBE_VXLAN6} (VTEP)`, (a) => ROUTER_VXLAN.has(a.dev));
export const routerFdb = owner<FdbEntry>(`FDB entries on ${KUBE_VXLAN}, ${KUBE_VXLAN6}`, (f) => ROUTER_VXLAN.has(f.dev));
export const routerNeighbors = owner<Neighbor>(`neighbour entries on ${KUBE_VXLAN}, ${KUBE_VXLAN6}`, (n) => ROUTER_VXLAN.has(n.dev));
/** Our protocol outside the proxy's VIP routes (table local, the DSR table, kube-dummy-if). */
const ourNonProxyRoute = (r: Route): boolean => r.proto === ROUTE_PROTO && r.table !== "local" && r.table !== DSR_TABLE && r.dev !== KUBE_DUMMY_IF;
/**
 * A route BGP learned, while the bgp controller runs: ours, in the main table, to a prefix that
 * is no node's pod CIDR (the router renders every route to a node's pod CIDR from the snapshot;
 * BGP installs only what the snapshot does not route — render/bgp/learned.ts). A stale route to
 * the pod CIDR of a node that left the cluster therefore counts as learned and is removed by the
 * bgp controller's next sync (its lane is dirtied by node changes too). Without the bgp
 * controller (`--once`, router off) the router owns every route of ours, as before BGP.
 */
const isLearnedRoute = (r: Route, ctx: OwnershipContext): boolean => ctx.bgp && ourNonProxyRoute(r) && r.table === "main" && !ctx.podCidrs.has(r.dst);
export const routerRoutes = owner<Route>(`proto ${ROUTE_PROTO} routes outside the proxy's, except learned ones (main table, not a node's pod CIDR)`, (r, ctx) => ourNonProxyRoute(r) && !isLearnedRoute(r, ctx));
export const routerRules = owner<PolicyRule>("rules to the overlay table", (r) => r.table === OVERLAY_TABLE);
export const routerSets = owner<Ipset>("kube-router-pod-subnets, kube-router-node-ips", (s) => ROUTER_SETS.has(s.name));
export const routerJumps = owner<Jump>("the router's commented FORWARD and POSTROUTING rules", (j) => ROUTER_COMMENTS.has(j.comment));

// bgp -----------------------------------------------------------------------------------------
/** Learned routes: see isLearnedRoute. Disjoint from routerRoutes and proxyRoutes by construction. */
export const bgpLearnedRoutes = owner<Route>(`proto ${ROUTE_PROTO} routes in the main table to prefixes that are no node's pod CIDR (learned through BGP)`, isLearnedRoute);
/** Everything the gobgp driver observes: the gobgpd instance is the agent's own child, so all its state is ours. */
export const bgpEverything = always<unknown>("everything in our own gobgpd");

// lballoc (the LoadBalancer allocator) ------------------------------------------------------------
/** Every LoadBalancer status row its driver observes (it observes only Services the render handles). */
export const lballocEverything = always<unknown>("status of the LoadBalancer Services it handles");

// extender (the route extender) -------------------------------------------------------------------
/** The key patterns of the route extender's ConfigMap (reference/route-extender.md §4); any other key is foreign. */
export const EXTENDER_KEY = /^(EndpointIP|Type|VTEP|(Host|Node|Interface|Mac|CNI)-.+)$/;
export const isExtenderKey = (key: string): boolean => EXTENDER_KEY.test(key);
/**
 * The key a node's own ("self") extender key needs in the ConfigMap before it may be written:
 * `Mac-<ip>` needs the leader's `Interface-<ip>`. A node agent whose snapshot still holds its
 * Node after the leader removed its keys must not bring its Mac- key back. undefined: none.
 */
export const extenderSelfKeyAnchor = (key: string): string | undefined => (key.startsWith("Mac-") ? `Interface-${key.slice(4)}` : undefined);
export const extenderLinks = owner<Link>(`${EXTENDER_VXLAN}, ${EXTENDER_IPIP}`, (l) => l.name === EXTENDER_VXLAN || l.name === EXTENDER_IPIP);
export const extenderAddresses = owner<Address>(`addresses of ${EXTENDER_VXLAN}`, (a) => a.dev === EXTENDER_VXLAN);
export const extenderFdb = owner<FdbEntry>(`permanent FDB entries on ${EXTENDER_VXLAN}`, (f) => f.dev === EXTENDER_VXLAN);
export const extenderChains = owner<Chain>(EXTENDER_CHAIN, (c) => c.name === EXTENDER_CHAIN);
export const extenderJumps = owner<Jump>(`jumps to ${EXTENDER_CHAIN}`, (j) => jumpTarget(j) === EXTENDER_CHAIN || j.comment === EXTENDER_JUMP_COMMENT);
export const extenderConfigMapKeys = owner<ConfigMapKey>("EndpointIP, Type, VTEP, Host-*, Node-*, Interface-*, Mac-*, CNI-* of its ConfigMap", (k) => isExtenderKey(k.key));
