/**
 * The table registry: every table of the node declared once — its row type, key function,
 * diff policy, the driver family that observes and applies it, and which controller owns
 * which of its rows (ownership.ts). NodeState, NodePlan, the differ, the patcher, the empty
 * values and the table list are all derived from this one declaration (state.ts, plan.ts),
 * so adding a table here is the only model edit a new table needs; the compiler then asks
 * for its driver, its fake, its dry-run and golden printers (test/registry.test.ts checks).
 *
 * Declaration order is the table order everywhere (plans, summaries, golden text).
 *
 * @category models
 */
import {
  type BgpDefinedSet, type BgpGlobal, type BgpPath, type BgpPeer, type BgpPolicy, type BgpPolicyAssignment,
  bgpAssignmentKey, bgpDefinedSetKey, bgpGlobalKey, bgpPathKey, bgpPeerKey, bgpPolicyKey,
} from "./bgp.ts";
import {
  type ControllerName, NO_CONTEXT, type Owner, type OwnershipContext, bgpEverything, bgpLearnedRoutes, firewallChains, firewallJumps, firewallSets, proxyAddresses, proxyChains,
  proxyEverything, proxyJumps, proxyLinks, proxyRoutes, proxyRules, proxySets, proxySysctls, routerAddresses, routerFdb,
  routerJumps, routerLinks, routerNeighbors, routerRoutes, routerRules, routerSets, lballocEverything,
  extenderAddresses, extenderChains, extenderConfigMapKeys, extenderFdb, extenderJumps, extenderLinks,
} from "./ownership.ts";
import { type FdbEntry, type FouPort, type Neighbor, fdbKey, fouPortKey, neighborKey } from "./overlay.ts";
import {
  type Address, type Chain, type DsrTunnel, type HealthCheck, type Ipset, type IpvsReal, type IpvsService, type IpvsTimeouts,
  type ConfigMapKey, type Jump, type LbStatus, type Link, type ManagedFile, type PolicyRule, type Route, type Sysctl,
  IPVS_TIMEOUTS_KEY, addressKey, configMapKeyKey, chainKey, dsrTunnelKey, fileKey, healthCheckKey, ipsetKey, ipvsRealKey, ipvsServiceKey,
  jumpKey, lbStatusKey, linkKey, policyRuleKey, routeKey, sameLbStatus, sysctlKey,
} from "./rows.ts";

/**
 * How a table is diffed:
 * - `keyed`: per key create / update / delete;
 * - `never-delete`: keyed, but a row no longer wanted is left as it is (sysctls, files,
 *   IPVS timeouts, FoU ports: observe reports only desired keys, so a stale one stops being managed);
 * - `members`: keyed on the header; rows with the same header on both sides diff member by
 *   member (ipsets: `plan.ipsetMembers`).
 */
export type DiffPolicy = "keyed" | "never-delete" | "members";

/** The driver families; one real driver (and one fake) per family applies its tables. */
export type DriverFamily = "sysctl" | "files" | "ip" | "bridge" | "ipset" | "iptables" | "ipvs" | "healthcheck" | "dsr" | "gobgp" | "kube-status" | "kube-configmap";

export interface TableSpec<T> {
  readonly key: (row: T) => string;
  readonly diff: DiffPolicy;
  readonly driver: DriverFamily;
  /** Which controller owns which observed rows; a controller absent here owns none. */
  readonly owners: Readonly<Partial<Record<ControllerName, Owner<T>>>>;
  /** For `members` tables: the member set of a row and whether two rows' headers match. */
  readonly members?: { readonly of: (row: T) => ReadonlySet<string>; readonly sameHeader: (a: T, b: T) => boolean };
  /** For `keyed`/`never-delete` tables: when two rows are the same (default: deep equality). */
  readonly same?: (a: T, b: T) => boolean;
}

const spec = <T>(s: TableSpec<T>): TableSpec<T> => s;

/** Every table, in table order. */
export const TABLES = {
  sysctls: spec<Sysctl>({ key: sysctlKey, diff: "never-delete", driver: "sysctl", owners: { proxy: proxySysctls } }),
  files: spec<ManagedFile>({ key: fileKey, diff: "never-delete", driver: "files", owners: {} }),
  links: spec<Link>({ key: linkKey, diff: "keyed", driver: "ip", owners: { proxy: proxyLinks, router: routerLinks, extender: extenderLinks } }),
  addresses: spec<Address>({ key: addressKey, diff: "keyed", driver: "ip", owners: { proxy: proxyAddresses, router: routerAddresses, extender: extenderAddresses } }),
  routes: spec<Route>({ key: routeKey, diff: "keyed", driver: "ip", owners: { proxy: proxyRoutes, router: routerRoutes, bgp: bgpLearnedRoutes } }),
  rules: spec<PolicyRule>({ key: policyRuleKey, diff: "keyed", driver: "ip", owners: { proxy: proxyRules, router: routerRules } }),
  neighbors: spec<Neighbor>({ key: neighborKey, diff: "keyed", driver: "ip", owners: { router: routerNeighbors } }),
  fouPorts: spec<FouPort>({ key: fouPortKey, diff: "never-delete", driver: "ip", owners: {} }),
  fdb: spec<FdbEntry>({ key: fdbKey, diff: "keyed", driver: "bridge", owners: { router: routerFdb, extender: extenderFdb } }),
  ipsets: spec<Ipset>({
    key: ipsetKey, diff: "members", driver: "ipset", owners: { firewall: firewallSets, proxy: proxySets, router: routerSets },
    members: { of: (s) => s.members, sameHeader: (a, b) => a.type === b.type && a.family === b.family && a.timeout === b.timeout },
  }),
  chains: spec<Chain>({ key: chainKey, diff: "keyed", driver: "iptables", owners: { firewall: firewallChains, proxy: proxyChains, extender: extenderChains } }),
  jumps: spec<Jump>({ key: jumpKey, diff: "keyed", driver: "iptables", owners: { firewall: firewallJumps, proxy: proxyJumps, router: routerJumps, extender: extenderJumps } }),
  ipvsServices: spec<IpvsService>({ key: ipvsServiceKey, diff: "keyed", driver: "ipvs", owners: { proxy: proxyEverything } }),
  ipvsReals: spec<IpvsReal>({ key: ipvsRealKey, diff: "keyed", driver: "ipvs", owners: { proxy: proxyEverything } }),
  ipvsTimeouts: spec<IpvsTimeouts>({ key: () => IPVS_TIMEOUTS_KEY, diff: "never-delete", driver: "ipvs", owners: {} }),
  healthChecks: spec<HealthCheck>({ key: healthCheckKey, diff: "keyed", driver: "healthcheck", owners: { proxy: proxyEverything } }),
  dsrTunnels: spec<DsrTunnel>({ key: dsrTunnelKey, diff: "keyed", driver: "dsr", owners: { proxy: proxyEverything } }),
  // GoBGP (model/bgp.ts), in BGP_TABLE_NAMES apply order; the gobgpd instance is ours entirely
  bgpGlobal: spec<BgpGlobal>({ key: bgpGlobalKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  bgpDefinedSets: spec<BgpDefinedSet>({ key: bgpDefinedSetKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  bgpPolicies: spec<BgpPolicy>({ key: bgpPolicyKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  bgpAssignments: spec<BgpPolicyAssignment>({ key: bgpAssignmentKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  bgpPaths: spec<BgpPath>({ key: bgpPathKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  bgpPeers: spec<BgpPeer>({ key: bgpPeerKey, diff: "keyed", driver: "gobgp", owners: { bgp: bgpEverything } }),
  /** Cluster-wide: Services' LoadBalancer status; never cleared (a Service no longer handled is left as it is). */
  lbStatus: spec<LbStatus>({ key: lbStatusKey, diff: "never-delete", driver: "kube-status", owners: { lballoc: lballocEverything }, same: sameLbStatus }),
  /** Cluster-wide: the route extender's ConfigMap keys (only our key patterns; foreign keys are never observed). */
  configMapKeys: spec<ConfigMapKey>({ key: configMapKeyKey, diff: "keyed", driver: "kube-configmap", owners: { extender: extenderConfigMapKeys } }),
} as const;

export type TableName = keyof typeof TABLES;
/** The row type of a table. */
export type Row<K extends TableName> = (typeof TABLES)[K] extends TableSpec<infer T> ? T : never;

/** Every table name, in table order. */
export const TABLE_NAMES = Object.keys(TABLES) as readonly TableName[];

/** The spec of one table, typed by its row. */
export function tableSpec<K extends TableName>(name: K): TableSpec<Row<K>> {
  return TABLES[name] as TableSpec<Row<K>>;
}

/** The tables a driver family applies, in table order. */
export function tablesOfDriver(family: DriverFamily): TableName[] {
  return TABLE_NAMES.filter((t) => TABLES[t].driver === family);
}

/**
 * True when `controller` owns `row` of `table` (ownership.ts); false for tables it owns nothing
 * in. `ctx` carries the cluster facts some predicates need (the router's vs BGP's routes).
 */
export function ownedBy<K extends TableName>(controller: ControllerName, table: K, row: Row<K>, ctx: OwnershipContext = NO_CONTEXT): boolean {
  return tableSpec(table).owners[controller]?.owns(row, ctx) ?? false;
}

/** The tables in which `controller` owns rows. */
export function tablesOwnedBy(controller: ControllerName): TableName[] {
  return TABLE_NAMES.filter((t) => (TABLES[t].owners as Readonly<Partial<Record<ControllerName, unknown>>>)[controller] !== undefined);
}
