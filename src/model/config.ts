/**
 * NodeConfig: every upstream kube-router flag (reference/kube-router-features.md §1) with its
 * upstream default, plus the few flags of our own (snapshot input, one-shot, dry run, output
 * format, state dir, iptables backend) and the two environment inputs upstream reads.
 *
 * Field names are the flag name in camelCase with every word capitalised
 * (`--enable-ipv6` → `enableIpv6`, `--service-cluster-ip-range` → `serviceClusterIpRange`).
 * Durations are milliseconds (`--ipvs-sync-period=5m` → `ipvsSyncPeriod: 300000`).
 * `clusterAsn` keeps upstream's 0 default; renderers read 0 as 64512.
 *
 * Values here are as given; `validateConfig` (config-validate.ts) says whether they are usable.
 *
 * @category models
 */

export type OutputFormat = "text" | "json";
export type IptablesBackend = "auto" | "nft" | "legacy";

export interface NodeConfig {
  // §1.1 global / process
  readonly runRouter: boolean;
  readonly runServiceProxy: boolean;
  readonly runFirewall: boolean;
  readonly runLoadbalancer: boolean;
  readonly kubeconfig: string;
  readonly master: string;
  readonly hostnameOverride: string;
  /** ms */
  readonly cacheSyncTimeout: number;
  readonly cleanupConfig: boolean;
  readonly enableIpv4: boolean;
  readonly enableIpv6: boolean;
  readonly healthAddr: string;
  readonly healthPort: number;
  readonly metricsAddr: string;
  readonly metricsPort: number;
  readonly metricsPath: string;
  readonly enablePprof: boolean;
  /** `-v` / `--v` log verbosity. */
  readonly v: number;
  readonly help: boolean;
  readonly version: boolean;
  readonly serviceClusterIpRange: readonly string[];
  readonly serviceExternalIpRange: readonly string[];
  readonly loadbalancerIpRange: readonly string[];
  readonly strictExternalIpValidation: boolean;
  /** `a-b` or `a:b`, as given. */
  readonly serviceNodePortRange: string;

  // §1.2 service proxy
  /** ms */
  readonly ipvsSyncPeriod: number;
  readonly ipvsPermitAll: boolean;
  readonly ipvsGracefulTermination: boolean;
  /** ms */
  readonly ipvsGracefulPeriod: number;
  readonly masqueradeAll: boolean;
  readonly nodeportBindonAllIp: boolean;
  readonly hairpinMode: boolean;
  readonly excludedCidrs: readonly string[];
  readonly runtimeEndpoint: string;
  /** ms; 0 keeps the system value */
  readonly serviceTcpTimeout: number;
  /** ms */
  readonly serviceTcpfinTimeout: number;
  /** ms */
  readonly serviceUdpTimeout: number;

  // §1.3 network policy
  /** ms */
  readonly iptablesSyncPeriod: number;
  readonly netpolDefaultDeny: boolean;
  readonly useNftablesForNetpol: boolean;

  // §1.4 routing / BGP / overlay / CNI
  /** ms */
  readonly routesSyncPeriod: number;
  /** ms */
  readonly injectedRoutesSyncPeriod: number;
  /** 0 = default (64512). */
  readonly clusterAsn: number;
  readonly nodesFullMesh: boolean;
  readonly enableIbgp: boolean;
  readonly peerRouterIps: readonly string[];
  readonly peerRouterAsns: readonly number[];
  readonly peerRouterPorts: readonly number[];
  /** base64, blank items allowed */
  readonly peerRouterPasswords: readonly string[];
  readonly peerRouterPasswordsFile: string;
  readonly peerRouterMultihopTtl: number;
  readonly bgpPort: number;
  /** ms */
  readonly bgpHoldtime: number;
  readonly bgpGracefulRestart: boolean;
  /** ms */
  readonly bgpGracefulRestartTime: number;
  /** ms */
  readonly bgpGracefulRestartDeferralTime: number;
  readonly enableBfd: boolean;
  readonly bfdPort: number;
  readonly bfdDetectionMultiplier: number;
  /** ms (a plain number flag upstream, not a duration) */
  readonly bfdDesiredMinTxInterval: number;
  /** ms (a plain number flag upstream, not a duration) */
  readonly bfdRequiredMinRxInterval: number;
  /** "" (primary IPv4), "generate", or an IPv4 address. */
  readonly routerId: string;
  readonly overrideNexthop: boolean;
  readonly advertiseClusterIp: boolean;
  readonly advertiseExternalIp: boolean;
  readonly advertiseLoadbalancerIp: boolean;
  readonly advertisePodCidr: boolean;
  readonly gobgpAdminAddress: string;
  readonly gobgpAdminPort: number;
  readonly enableOverlay: boolean;
  /** `subnet` or `full` when valid. */
  readonly overlayType: string;
  /** `ipip`, `fou` or `vxlan` when valid. */
  readonly overlayEncap: string;
  /**
   * The UDP port of fou (GUE) and vxlan; 0 (the default) means the encap's own default:
   * 5555 for fou, as upstream's default, and IANA's 4789 for vxlan. A departure in form only:
   * upstream's flag defaults to 5555, which is what fou gets.
   */
  readonly overlayEncapPort: number;
  /** The vxlan overlay's VNI (`--overlay-vni`, ours; 1–16777215). */
  readonly overlayVni: number;
  readonly enableCni: boolean;
  readonly autoMtu: boolean;
  readonly enablePodEgress: boolean;
  readonly disableSourceDestCheck: boolean;

  // §1.5 LoadBalancer allocator
  readonly loadbalancerDefaultClass: boolean;
  /** ms */
  readonly loadbalancerSyncPeriod: number;

  // Ours
  /** `--snapshot FILE`: read the cluster from a YAML/JSON file instead of the API server. */
  readonly snapshot?: string;
  /** `--once`: one sync, then exit. */
  readonly once: boolean;
  /** `--dry-run`: print the plan, change nothing. */
  readonly dryRun: boolean;
  /** `-o` / `--output`. */
  readonly output: OutputFormat;
  /** `--state-dir`; the CLI picks a per-node default when absent. */
  readonly stateDir?: string;
  /** `--iptables-backend`. */
  readonly iptablesBackend: IptablesBackend;
  /** env KUBE_ROUTER_CNI_CONF_FILE. */
  readonly cniConfFile: string;
  /** env NODE_NAME. */
  readonly nodeNameEnv?: string;
  /**
   * Long names of the flags given on the command line, in order, once each (absent when none
   * was given). Provenance only, never read by renderers: it lets a default-on flag of a
   * feature not built yet be refused only when the operator asked for it (agent/flag-status.ts).
   */
  readonly flagsGiven?: readonly string[];

  // route extender (ours; reference/route-extender.md). Kept as given (strings): an invalid
  // one parks the extender with one line naming it (render/extender/config.ts) and the
  // other controllers run on.
  readonly runRouteExtender: boolean;
  /** Overlay CIDR of the node VTEP addresses and the device's EndpointIP (env NETWORK). */
  readonly routeExtenderNetwork: string;
  /** VXLAN VNI, 1–16777215 (env VNID). */
  readonly routeExtenderVni: string;
  /** VXLAN UDP port, 1–65535 (env VXLAN_PORT). */
  readonly routeExtenderPort: string;
  /** The external device's VTEP IPv4 (env REMOTE_VTEPIP). */
  readonly routeExtenderVtepIp: string;
  /** `VXLAN` or `IPIP`, exactly (env TYPE). */
  readonly routeExtenderType: string;
  /** IPIP mode: the remote tunnel end (env REMOTE_TUNNEL_ENDPOINT). */
  readonly routeExtenderTunnelEndpoint: string;
  readonly routeExtenderConfigmapNamespace: string;
  readonly routeExtenderConfigmapName: string;
  /** Nodes carrying a taint with one of these keys get no extender state. */
  readonly routeExtenderSkipTaints: readonly string[];
}

const MINUTE = 60_000;

/** Upstream's defaults for every flag, and ours. Frozen. */
export const DEFAULT_CONFIG: NodeConfig = Object.freeze({
  runRouter: true,
  runServiceProxy: true,
  runFirewall: true,
  runLoadbalancer: false,
  kubeconfig: "",
  master: "",
  hostnameOverride: "",
  cacheSyncTimeout: 1 * MINUTE,
  cleanupConfig: false,
  enableIpv4: true,
  enableIpv6: false,
  healthAddr: "",
  healthPort: 20244,
  metricsAddr: "",
  metricsPort: 0,
  metricsPath: "/metrics",
  enablePprof: false,
  v: 0,
  help: false,
  version: false,
  serviceClusterIpRange: Object.freeze(["10.96.0.0/12"]),
  serviceExternalIpRange: Object.freeze([]),
  loadbalancerIpRange: Object.freeze([]),
  strictExternalIpValidation: true,
  serviceNodePortRange: "30000-32767",

  ipvsSyncPeriod: 5 * MINUTE,
  ipvsPermitAll: true,
  ipvsGracefulTermination: false,
  ipvsGracefulPeriod: 30_000,
  masqueradeAll: false,
  nodeportBindonAllIp: false,
  hairpinMode: false,
  excludedCidrs: Object.freeze([]),
  runtimeEndpoint: "",
  serviceTcpTimeout: 0,
  serviceTcpfinTimeout: 0,
  serviceUdpTimeout: 0,

  iptablesSyncPeriod: 5 * MINUTE,
  netpolDefaultDeny: false,
  useNftablesForNetpol: false,

  routesSyncPeriod: 5 * MINUTE,
  injectedRoutesSyncPeriod: 1 * MINUTE,
  clusterAsn: 0,
  nodesFullMesh: true,
  enableIbgp: true,
  peerRouterIps: Object.freeze([]),
  peerRouterAsns: Object.freeze([]),
  peerRouterPorts: Object.freeze([]),
  peerRouterPasswords: Object.freeze([]),
  peerRouterPasswordsFile: "",
  peerRouterMultihopTtl: 0,
  bgpPort: 179,
  bgpHoldtime: 90_000,
  bgpGracefulRestart: false,
  bgpGracefulRestartTime: 90_000,
  bgpGracefulRestartDeferralTime: 6 * MINUTE,
  enableBfd: false,
  bfdPort: 3784,
  bfdDetectionMultiplier: 3,
  bfdDesiredMinTxInterval: 1000,
  bfdRequiredMinRxInterval: 1000,
  routerId: "",
  overrideNexthop: false,
  advertiseClusterIp: false,
  advertiseExternalIp: false,
  advertiseLoadbalancerIp: false,
  advertisePodCidr: true,
  gobgpAdminAddress: "127.0.0.1",
  gobgpAdminPort: 50051,
  enableOverlay: true,
  overlayType: "subnet",
  overlayEncap: "ipip",
  overlayEncapPort: 0,
  overlayVni: 1,
  enableCni: true,
  autoMtu: true,
  enablePodEgress: true,
  disableSourceDestCheck: true,

  loadbalancerDefaultClass: true,
  loadbalancerSyncPeriod: 1 * MINUTE,

  once: false,
  dryRun: false,
  output: "text",
  iptablesBackend: "auto",
  cniConfFile: "/etc/cni/net.d/10-kuberouter.conf",
  runRouteExtender: false,
  routeExtenderNetwork: "",
  routeExtenderVni: "",
  routeExtenderPort: "",
  routeExtenderVtepIp: "",
  routeExtenderType: "VXLAN",
  routeExtenderTunnelEndpoint: "",
  routeExtenderConfigmapNamespace: "kube-system",
  routeExtenderConfigmapName: "kube-chorus-router",
  routeExtenderSkipTaints: Object.freeze(["node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"]),
});

/** The cluster ASN renderers use: `--cluster-asn`, or 64512 when it is 0. */
export function effectiveClusterAsn(c: Pick<NodeConfig, "clusterAsn">): number {
  return c.clusterAsn === 0 ? 64512 : c.clusterAsn;
}

/**
 * Formats milliseconds as Go's `time.Duration.String()` does (`5m0s`, `1m30s`, `500ms`, `0s`,
 * `1.5µs`), so messages and help show durations the way upstream prints them.
 * Sub-nanosecond parts are rounded to the nearest nanosecond.
 */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  if (neg) ns = -ns;
  const frac = (v: bigint, digits: number): string => {
    const s = v.toString().padStart(digits, "0").replace(/0+$/, "");
    return s === "" ? "" : `.${s}`;
  };
  let out: string;
  if (ns < 1_000n) out = `${ns}ns`;
  else if (ns < 1_000_000n) out = `${ns / 1_000n}${frac(ns % 1_000n, 3)}µs`;
  else if (ns < 1_000_000_000n) out = `${ns / 1_000_000n}${frac(ns % 1_000_000n, 6)}ms`;
  else {
    const totalSec = ns / 1_000_000_000n;
    const secFrac = frac(ns % 1_000_000_000n, 9);
    const h = totalSec / 3600n;
    const m = (totalSec % 3600n) / 60n;
    const s = totalSec % 60n;
    out = h > 0n ? `${h}h${m}m${s}${secFrac}s` : m > 0n ? `${m}m${s}${secFrac}s` : `${s}${secFrac}s`;
  }
  return neg ? `-${out}` : out;
}
