/**
 * Command-line parsing with Go pflag's syntax, so kube-router's DaemonSet args work unchanged:
 * `--flag=value`, `--flag value`, booleans as `--flag` / `--flag=true|false` (a boolean never
 * takes the next argument), shorthands `-v 2`, `-v=2`, `-v2`, `-hV`, slices repeated or as
 * comma lists (the first use replaces the default, later uses append), Go durations
 * (`5m0s`, `1m`, `30s`, `1h2m3s`, `500ms`, `0s`), `--` ending the flags.
 *
 * Pure: argv and env in, NodeConfig or one error line out. Every error names the flag:
 * `unknown flag: --foo`, `flag needs an argument: --hostname-override`,
 * `invalid value "abc" for --bgp-port: …`, then the semantic checks of config-validate.ts.
 * Positional arguments are rejected (upstream silently ignores them, which hides the classic
 * `--run-router false` mistake).
 *
 * @category agent
 */
import { DEFAULT_CONFIG, formatGoDuration, type NodeConfig } from "../model/config.ts";
import { validateConfig } from "../model/config-validate.ts";
import { parseIp } from "../model/ip.ts";

type Kind =
  | { readonly t: "bool" }
  | { readonly t: "string" }
  | { readonly t: "optString" }
  | { readonly t: "enum"; readonly values: readonly string[] }
  | { readonly t: "duration" }
  | { readonly t: "uint"; readonly bits: 8 | 16 | 32 | 64 }
  | { readonly t: "int32" }
  | { readonly t: "strings" }
  | { readonly t: "uints" }
  | { readonly t: "ips" };

/** One flag: its name, optional one-letter shorthand, the NodeConfig field it sets, and help. */
export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly key: keyof NodeConfig;
  readonly kind: Kind;
  readonly help: string;
  /** True for flags upstream kube-router does not have. */
  readonly ours?: boolean;
}

const B: Kind = { t: "bool" };
const S: Kind = { t: "string" };
const D: Kind = { t: "duration" };
const U16: Kind = { t: "uint", bits: 16 };
const U32: Kind = { t: "uint", bits: 32 };
const SS: Kind = { t: "strings" };

/** Every flag we accept: all of upstream's (reference §1.1–1.5) and ours. Sorted by name. */
export const FLAGS: readonly FlagSpec[] = [
  { name: "advertise-cluster-ip", key: "advertiseClusterIp", kind: B, help: "Add Cluster IP of the service to the RIB so that it gets advertised to the BGP peers." },
  { name: "advertise-external-ip", key: "advertiseExternalIp", kind: B, help: "Add External IP of service to the RIB so that it gets advertised to the BGP peers." },
  { name: "advertise-loadbalancer-ip", key: "advertiseLoadbalancerIp", kind: B, help: "Add LoadBalancer IP of service status as set by the LB provider to the RIB so that it gets advertised to the BGP peers." },
  { name: "advertise-pod-cidr", key: "advertisePodCidr", kind: B, help: "Add Node's POD cidr to the RIB so that it gets advertised to the BGP peers." },
  { name: "auto-mtu", key: "autoMtu", kind: B, help: "Auto detect and set the largest possible MTU for kube-bridge and pod interfaces." },
  { name: "bfd-desired-min-tx-interval", key: "bfdDesiredMinTxInterval", kind: U32, help: "BFD desired minimum transmit interval in milliseconds." },
  { name: "bfd-detection-multiplier", key: "bfdDetectionMultiplier", kind: U32, help: "BFD detection multiplier (1-255)." },
  { name: "bfd-port", key: "bfdPort", kind: U32, help: "BFD UDP port (1-65535)." },
  { name: "bfd-required-min-rx-interval", key: "bfdRequiredMinRxInterval", kind: U32, help: "BFD required minimum receive interval in milliseconds." },
  { name: "bgp-graceful-restart", key: "bgpGracefulRestart", kind: B, help: "Enables the BGP Graceful Restart capability so that routes are preserved on unexpected restarts." },
  { name: "bgp-graceful-restart-deferral-time", key: "bgpGracefulRestartDeferralTime", kind: D, help: "BGP Graceful restart deferral time according to RFC4724 4.1, maximum 18h." },
  { name: "bgp-graceful-restart-time", key: "bgpGracefulRestartTime", kind: D, help: "BGP Graceful restart time according to RFC4724 3, maximum 4095s." },
  { name: "bgp-holdtime", key: "bgpHoldtime", kind: D, help: "Hold time declared to BGP peers; must be in the range 3s to 18h12m16s." },
  { name: "bgp-port", key: "bgpPort", kind: U32, help: "The port open for incoming BGP connections and to use for connecting with other BGP peers." },
  { name: "cache-sync-timeout", key: "cacheSyncTimeout", kind: D, help: "The timeout for cache synchronization (e.g. '5s', '1m'). Must be greater than 0." },
  { name: "cleanup-config", key: "cleanupConfig", kind: B, help: "Cleanup iptables rules, ipvs, ipset configuration and exit." },
  { name: "cluster-asn", key: "clusterAsn", kind: { t: "uint", bits: 64 }, help: "ASN number under which cluster nodes will run iBGP (0 = 64512)." },
  { name: "disable-source-dest-check", key: "disableSourceDestCheck", kind: B, help: "Disable the source-dest-check attribute for AWS EC2 instances. When this option is false, it must be set some other way." },
  { name: "dry-run", key: "dryRun", kind: B, ours: true, help: "Print the plan of the sync in each tool's native syntax and change nothing." },
  { name: "enable-bfd", key: "enableBfd", kind: B, help: "Enable BFD for the global external BGP peers." },
  { name: "enable-cni", key: "enableCni", kind: B, help: "Enable CNI plugin. Disable if you want to use kube-router features alongside another CNI plugin." },
  { name: "enable-ibgp", key: "enableIbgp", kind: B, help: "Enables peering with nodes with the same ASN, if disabled will only peer with external BGP peers." },
  { name: "enable-ipv4", key: "enableIpv4", kind: B, help: "Enables IPv4 support." },
  { name: "enable-ipv6", key: "enableIpv6", kind: B, help: "Enables IPv6 support." },
  { name: "enable-overlay", key: "enableOverlay", kind: B, help: "When true, IP-in-IP tunneling is used for pod-to-pod networking across nodes in different subnets; when false the routing infrastructure must route pod traffic." },
  { name: "enable-pod-egress", key: "enablePodEgress", kind: B, help: "SNAT traffic from Pods to destinations outside the cluster." },
  { name: "enable-pprof", key: "enablePprof", kind: B, help: "Enables pprof for debugging performance and memory leak issues." },
  { name: "excluded-cidrs", key: "excludedCidrs", kind: SS, help: "Excluded CIDRs are used to exclude IPVS rules from deletion." },
  { name: "gobgp-admin-address", key: "gobgpAdminAddress", kind: S, help: "Address GoBGP's gRPC admin API listens on (empty = 127.0.0.1)." },
  { name: "gobgp-admin-port", key: "gobgpAdminPort", kind: U16, help: "Port of GoBGP's gRPC admin API; 0 disables it." },
  { name: "hairpin-mode", key: "hairpinMode", kind: B, help: "Add iptables rules for every Service Endpoint to support hairpin traffic." },
  { name: "health-addr", key: "healthAddr", kind: S, help: "Health check address (empty = all addresses)." },
  { name: "health-port", key: "healthPort", kind: U16, help: "Health check port, 0 = Disabled." },
  { name: "help", short: "h", key: "help", kind: B, help: "Print usage information." },
  { name: "hostname-override", key: "hostnameOverride", kind: S, help: "Overrides the NodeName of the node. Set this if kube-router is unable to determine your NodeName automatically." },
  { name: "injected-routes-sync-period", key: "injectedRoutesSyncPeriod", kind: D, help: "The delay between re-applying the routes learned from BGP peers (e.g. '5s', '1m'). Must be greater than 0." },
  { name: "iptables-backend", key: "iptablesBackend", kind: { t: "enum", values: ["auto", "nft", "legacy"] }, ours: true, help: "iptables variant to drive: auto, nft or legacy." },
  { name: "iptables-sync-period", key: "iptablesSyncPeriod", kind: D, help: "The delay between iptables rule synchronizations (e.g. '5s', '1m'). Must be greater than 0." },
  { name: "ipvs-graceful-period", key: "ipvsGracefulPeriod", kind: D, help: "The graceful period before removing destinations from IPVS services (e.g. '5s', '1m', '2h22m')." },
  { name: "ipvs-graceful-termination", key: "ipvsGracefulTermination", kind: B, help: "Enables the experimental IPVS graceful termination capability." },
  { name: "ipvs-permit-all", key: "ipvsPermitAll", kind: B, help: "Enables rule to accept all incoming traffic to service VIP's on the node." },
  { name: "ipvs-sync-period", key: "ipvsSyncPeriod", kind: D, help: "The delay between ipvs config synchronizations (e.g. '5s', '1m', '2h22m'). Must be greater than 0." },
  { name: "kubeconfig", key: "kubeconfig", kind: S, help: "Path to kubeconfig file with authorization information (the master location is set by the master flag)." },
  { name: "loadbalancer-default-class", key: "loadbalancerDefaultClass", kind: B, help: "Handle loadbalancer services without a class (class kube-router is always handled)." },
  { name: "loadbalancer-ip-range", key: "loadbalancerIpRange", kind: SS, help: "CIDR values from which loadbalancer services addresses are assigned (can be specified multiple times)." },
  { name: "loadbalancer-sync-period", key: "loadbalancerSyncPeriod", kind: D, help: "The delay between checking for missed services (e.g. '5s', '1m'). Must be greater than 0." },
  { name: "masquerade-all", key: "masqueradeAll", kind: B, help: "SNAT all traffic to cluster IP/node port." },
  { name: "master", key: "master", kind: S, help: "The address of the Kubernetes API server (overrides any value in kubeconfig)." },
  { name: "metrics-addr", key: "metricsAddr", kind: S, help: "Prometheus metrics address to listen on (empty = all addresses)." },
  { name: "metrics-path", key: "metricsPath", kind: S, help: "Prometheus metrics path." },
  { name: "metrics-port", key: "metricsPort", kind: U16, help: "Prometheus metrics port, (Default 0, Disabled)." },
  { name: "netpol-default-deny", key: "netpolDefaultDeny", kind: B, help: "Reject traffic to and from local pods until their network policy chains are in place." },
  { name: "nodeport-bindon-all-ip", key: "nodeportBindonAllIp", kind: B, help: "For service of NodePort type create IPVS service that listens on all IP's of the node." },
  { name: "nodes-full-mesh", key: "nodesFullMesh", kind: B, help: "Each node in the cluster will setup BGP peering with rest of the nodes." },
  { name: "once", key: "once", kind: B, ours: true, help: "Run one sync and exit once the kernel state is final." },
  { name: "output", short: "o", key: "output", kind: { t: "enum", values: ["text", "json"] }, ours: true, help: "Output format of plans and reports: text or json." },
  { name: "overlay-encap", key: "overlayEncap", kind: S, help: "Overlay encapsulation: ipip, fou (IP-in-IP with GUE) or vxlan (one kube-vxlan device per family; ours)." },
  { name: "overlay-encap-port", key: "overlayEncapPort", kind: U16, help: "Overlay UDP port for fou and vxlan (>= 1024); 0 = the encap's default (fou 5555, as upstream; vxlan 4789)." },
  { name: "overlay-vni", key: "overlayVni", kind: U32, ours: true, help: "VNI of the vxlan overlay (1-16777215)." },
  { name: "overlay-type", key: "overlayType", kind: S, help: "subnet: tunnel only to nodes outside this node's subnet; full: tunnel to every node." },
  { name: "override-nexthop", key: "overrideNexthop", kind: B, help: "Override the next-hop in bgp routes sent to peers with the local ip." },
  { name: "peer-router-asns", key: "peerRouterAsns", kind: { t: "uints" }, help: "ASN numbers of the BGP peer to which cluster nodes will advertise cluster ip and node's pod cidr." },
  { name: "peer-router-ips", key: "peerRouterIps", kind: { t: "ips" }, help: "The ip address of the external router to which all nodes will peer and advertise the cluster ip and pod cidr's." },
  { name: "peer-router-multihop-ttl", key: "peerRouterMultihopTtl", kind: { t: "uint", bits: 8 }, help: "Enable eBGP multihop supports -- sets multihop-ttl. (Relevant only if ttl >= 2)" },
  { name: "peer-router-passwords", key: "peerRouterPasswords", kind: SS, help: "Password for authenticating against the BGP peer defined with \"--peer-router-ips\"." },
  { name: "peer-router-passwords-file", key: "peerRouterPasswordsFile", kind: S, help: "Path to file containing password for authenticating against the BGP peer defined with \"--peer-router-ips\". --peer-router-passwords will be preferred if both are set." },
  { name: "peer-router-ports", key: "peerRouterPorts", kind: { t: "uints" }, help: "The remote port of the external BGP to which all nodes will peer. If not set, default BGP port (179) will be used." },
  { name: "route-extender-configmap-name", key: "routeExtenderConfigmapName", kind: S, ours: true, help: "Name of the route extender's ConfigMap." },
  { name: "route-extender-configmap-namespace", key: "routeExtenderConfigmapNamespace", kind: S, ours: true, help: "Namespace of the route extender's ConfigMap." },
  { name: "route-extender-network", key: "routeExtenderNetwork", kind: S, ours: true, help: "Route extender overlay CIDR (/8 to /30): node VTEP addresses and the device's EndpointIP (env NETWORK)." },
  { name: "route-extender-port", key: "routeExtenderPort", kind: S, ours: true, help: "Route extender VXLAN UDP port, 1-65535 (env VXLAN_PORT)." },
  { name: "route-extender-skip-taints", key: "routeExtenderSkipTaints", kind: SS, ours: true, help: "Taint keys of nodes the route extender skips." },
  { name: "route-extender-tunnel-endpoint", key: "routeExtenderTunnelEndpoint", kind: S, ours: true, help: "Route extender IPIP mode: the remote tunnel endpoint IPv4 (env REMOTE_TUNNEL_ENDPOINT)." },
  { name: "route-extender-type", key: "routeExtenderType", kind: S, ours: true, help: "Route extender overlay: VXLAN or IPIP (env TYPE)." },
  { name: "route-extender-vni", key: "routeExtenderVni", kind: S, ours: true, help: "Route extender VXLAN VNI, 1-16777215 (env VNID)." },
  { name: "route-extender-vtep-ip", key: "routeExtenderVtepIp", kind: S, ours: true, help: "Route extender: the external device's VTEP IPv4 (env REMOTE_VTEPIP)." },
  { name: "router-id", key: "routerId", kind: S, help: "BGP router-id. Must be specified in a ipv6 only cluster, \"generate\" can be specified to generate the router id." },
  { name: "routes-sync-period", key: "routesSyncPeriod", kind: D, help: "The delay between route updates and advertisements (e.g. '5s', '1m', '2h22m'). Must be greater than 0." },
  { name: "run-firewall", key: "runFirewall", kind: B, help: "Enables Network Policy -- sets up iptables to provide ingress firewall for pods." },
  { name: "run-loadbalancer", key: "runLoadbalancer", kind: B, help: "Enable loadbalancer address allocator." },
  { name: "run-route-extender", key: "runRouteExtender", kind: B, ours: true, help: "Run the route extender: a VXLAN (or IPIP) path from an external ingress device to the pods, published as a ConfigMap (reference/route-extender.md)." },
  { name: "run-router", key: "runRouter", kind: B, help: "Enables Pod Networking -- Advertises and learns the routes to Pods via iBGP." },
  { name: "run-service-proxy", key: "runServiceProxy", kind: B, help: "Enables Service Proxy -- sets up IPVS for Kubernetes Services." },
  { name: "runtime-endpoint", key: "runtimeEndpoint", kind: S, help: "Path to CRI compatible container runtime socket (used for DSR mode)." },
  { name: "service-cluster-ip-range", key: "serviceClusterIpRange", kind: SS, help: "CIDR values from which service cluster IPs are assigned (can be specified up to 2 times)." },
  { name: "service-external-ip-range", key: "serviceExternalIpRange", kind: SS, help: "Specify external IP CIDRs that are used for inter-cluster communication (can be specified multiple times)." },
  { name: "service-node-port-range", key: "serviceNodePortRange", kind: S, help: "NodePort range specified with either a hyphen or colon." },
  { name: "service-tcp-timeout", key: "serviceTcpTimeout", kind: D, help: "Specify TCP timeout for IPVS services in standard duration syntax (e.g. '5s', '1m'), default 0s preserves default system value." },
  { name: "service-tcpfin-timeout", key: "serviceTcpfinTimeout", kind: D, help: "Specify TCP FIN timeout for IPVS services in standard duration syntax (e.g. '5s', '1m'), default 0s preserves default system value." },
  { name: "service-udp-timeout", key: "serviceUdpTimeout", kind: D, help: "Specify UDP timeout for IPVS services in standard duration syntax (e.g. '5s', '1m'), default 0s preserves default system value." },
  { name: "snapshot", key: "snapshot", kind: { t: "optString" }, ours: true, help: "Read the cluster from this YAML/JSON file of Kubernetes objects instead of the API server." },
  { name: "state-dir", key: "stateDir", kind: { t: "optString" }, ours: true, help: "Directory for this node's sockets, locks and state (default: per node)." },
  { name: "strict-external-ip-validation", key: "strictExternalIpValidation", kind: B, help: "Accept externalIPs and loadBalancer IPs only inside --service-external-ip-range / --loadbalancer-ip-range, never inside the cluster IP range." },
  { name: "use-nftables-for-netpol", key: "useNftablesForNetpol", kind: B, help: "Use the experimental nftables backend for network policies." },
  { name: "v", short: "v", key: "v", kind: { t: "int32" }, help: "log level for V logs" },
  { name: "version", short: "V", key: "version", kind: B, help: "Print version information." },
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));
const BY_SHORT: ReadonlyMap<string, FlagSpec> = new Map(
  FLAGS.flatMap((f) => (f.short ? [[f.short, f] as const] : [])),
);

// ---------------------------------------------------------------------------------------------
// Value parsers: each returns the value or an error reason (string wrapped in { error }).

type Parsed = { readonly value: unknown } | { readonly error: string };

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

function parseBool(text: string): Parsed {
  if (BOOL_TRUE.has(text)) return { value: true };
  if (BOOL_FALSE.has(text)) return { value: false };
  return { error: "not a boolean (use true or false)" };
}

/**
 * Go's strconv.ParseUint: base 10, or with `base0` Go's prefixes (0x, 0o, 0b, leading 0 = octal,
 * `_` between digits). Result must fit in `bits`.
 */
function parseUint(text: string, bits: number, base0: boolean): Parsed {
  let s = text;
  let radix = 10;
  if (base0) {
    const lower = s.toLowerCase();
    if (lower.startsWith("0x")) { radix = 16; s = s.slice(2); }
    else if (lower.startsWith("0o")) { radix = 8; s = s.slice(2); }
    else if (lower.startsWith("0b")) { radix = 2; s = s.slice(2); }
    else if (s.length > 1 && s.startsWith("0")) { radix = 8; s = s.slice(1); }
    if (/^_|__|_$/.test(s)) return { error: "not an unsigned integer" };
    s = s.replaceAll("_", "");
  }
  const digits = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : radix === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (!digits.test(s)) return { error: "not an unsigned integer" };
  const n = BigInt(radix === 10 ? s : `0${radix === 16 ? "x" : radix === 8 ? "o" : "b"}${s}`);
  const max = (1n << BigInt(bits)) - 1n;
  if (n > max) return { error: `value out of range (max ${max})` };
  return { value: Number(n) };
}

function parseInt32(text: string): Parsed {
  if (!/^[+-]?[0-9]+$/.test(text)) return { error: "not an integer" };
  const n = Number(text);
  if (n < -2147483648 || n > 2147483647) return { error: "value out of range (int32)" };
  return { value: n };
}

const DURATION_UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n], ["us", 1_000n], ["µs", 1_000n], ["μs", 1_000n], ["ms", 1_000_000n],
  ["s", 1_000_000_000n], ["m", 60_000_000_000n], ["h", 3_600_000_000_000n],
]);
const MAX_DURATION_NS = (1n << 63n) - 1n;

/**
 * Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers with optional
 * fraction and a unit (ns, us, µs, ms, s, m, h), optionally signed; `0` alone is allowed.
 * Returns milliseconds, or Go's error text.
 */
export function parseGoDuration(text: string): { ms: number } | { error: string } {
  const bad = { error: `time: invalid duration ${JSON.stringify(text)}` };
  let s = text;
  let neg = false;
  if (s.startsWith("-") || s.startsWith("+")) { neg = s.startsWith("-"); s = s.slice(1); }
  if (s === "0") return { ms: 0 };
  if (s === "") return bad;
  let totalNs = 0n;
  while (s !== "") {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    const whole = m?.[1] ?? "";
    const frac = m?.[2];
    if (whole === "" && (frac === undefined || frac === "")) return bad;
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]+/.exec(s);
    if (!unitMatch) return { error: `time: missing unit in duration ${JSON.stringify(text)}` };
    const unit = unitMatch[0];
    const scale = DURATION_UNITS.get(unit);
    if (scale === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}` };
    s = s.slice(unit.length);
    let ns = BigInt(whole === "" ? "0" : whole) * scale;
    if (frac) ns += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    totalNs += ns;
    if (totalNs > MAX_DURATION_NS) return bad;
  }
  const ms = Number(totalNs) / 1e6;
  return { ms: neg ? -ms : ms };
}

function splitList(text: string): string[] {
  return text.split(",");
}

/** Parses one flag value; slices return the items of this one use. */
function parseValue(spec: FlagSpec, text: string): Parsed {
  const k = spec.kind;
  switch (k.t) {
    case "bool": return parseBool(text);
    case "string": return { value: text };
    case "optString": return text === "" ? { error: "must not be empty" } : { value: text };
    case "enum": return k.values.includes(text) ? { value: text } : { error: `must be one of ${k.values.join(", ")}` };
    case "duration": {
      const d = parseGoDuration(text);
      return "ms" in d ? { value: d.ms } : { error: d.error };
    }
    case "uint": return parseUint(text, k.bits, true);
    case "int32": return parseInt32(text);
    case "strings": return { value: text === "" ? [] : splitList(text) };
    case "uints": {
      const out: number[] = [];
      for (const item of splitList(text)) {
        const r = parseUint(item, 64, false);
        if ("error" in r) return { error: `item ${JSON.stringify(item)}: ${r.error}` };
        out.push(r.value as number);
      }
      return { value: out };
    }
    case "ips": {
      const out: string[] = [];
      for (const raw of splitList(text.trim())) {
        const item = raw.trim();
        if (!parseIp(item)) return { error: `invalid string being converted to IP address: ${item}` };
        out.push(item);
      }
      return { value: out };
    }
  }
}

const isSlice = (spec: FlagSpec): boolean => spec.kind.t === "strings" || spec.kind.t === "uints" || spec.kind.t === "ips";

/**
 * Parses argv (without the program name) and env into a NodeConfig.
 * Env: `NODE_NAME` → nodeNameEnv, `KUBE_ROUTER_CNI_CONF_FILE` → cniConfFile (empty = unset),
 * and the route extender's upstream names (EXTENDER_ENV) for its flags not given.
 * The long names of the flags given (shorthands included) are recorded in `flagsGiven`.
 * When `-h` or `-V` is given the semantic checks are skipped (the caller prints and exits).
 * Guarantees: never throws; an error is one line naming the flag (several semantic errors are
 * joined with "; ").
 */
export function parseFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { config: NodeConfig } | { error: string } {
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const touched = new Set<string>();

  const set = (spec: FlagSpec, text: string, shown: string): string | undefined => {
    const r = parseValue(spec, text);
    if ("error" in r) return `invalid value ${JSON.stringify(text)} for ${shown}: ${r.error}`;
    if (isSlice(spec)) {
      const prev = touched.has(spec.name) ? (out[spec.key] as unknown[]) : [];
      out[spec.key] = [...prev, ...(r.value as unknown[])];
    } else {
      out[spec.key] = r.value;
    }
    touched.add(spec.name);
    return undefined;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      if (i + 1 < argv.length) return { error: positional(argv[i + 1] ?? "") };
      break;
    }
    if (arg.startsWith("--")) {
      const body = arg.slice(2);
      const eq = body.indexOf("=");
      const name = eq < 0 ? body : body.slice(0, eq);
      const spec = BY_NAME.get(name);
      if (!spec || name === "") return { error: `unknown flag: --${name}` };
      const shown = `--${spec.name}`;
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else if (spec.kind.t === "bool") value = "true";
      else if (i + 1 < argv.length) value = argv[++i] ?? "";
      else return { error: `flag needs an argument: ${shown}` };
      const err = set(spec, value, shown);
      if (err) return { error: err };
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // One or more shorthands: -hV, -v2, -v=2, -v 2, -ojson.
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j] ?? "";
        const spec = BY_SHORT.get(ch);
        if (!spec) return { error: `unknown shorthand flag: '${ch}' in ${arg}` };
        const shown = `-${ch}`;
        const rest = arg.slice(j + 1);
        let value: string;
        if (rest.startsWith("=")) value = rest.slice(1);
        else if (spec.kind.t === "bool") value = "true";
        else if (rest !== "") value = rest;
        else if (i + 1 < argv.length) value = argv[++i] ?? "";
        else return { error: `flag needs an argument: '${ch}' in ${arg}` };
        const err = set(spec, value, shown);
        if (err) return { error: err };
        if (rest.startsWith("=") || spec.kind.t !== "bool") break;
      }
      continue;
    }
    return { error: positional(arg) };
  }

  const cni = env["KUBE_ROUTER_CNI_CONF_FILE"];
  if (cni !== undefined && cni !== "") out["cniConfFile"] = cni;
  const nodeName = env["NODE_NAME"];
  if (nodeName !== undefined && nodeName !== "") out["nodeNameEnv"] = nodeName;

  // upstream kube-chorus-router's environment names, when the flag itself is not given
  for (const [flag, name] of EXTENDER_ENV) {
    const v = env[name];
    const spec = BY_NAME.get(flag);
    if (spec !== undefined && v !== undefined && v !== "" && !touched.has(flag)) out[spec.key] = v;
  }

  if (touched.size > 0) out["flagsGiven"] = [...touched];
  const config = out as unknown as NodeConfig;
  if (config.help || config.version) return { config };
  const errors = validateConfig(config);
  return errors.length > 0 ? { error: errors.join("; ") } : { config };
}

/** Route extender flags and the upstream environment variable each falls back to. */
export const EXTENDER_ENV: readonly (readonly [string, string])[] = [
  ["route-extender-network", "NETWORK"],
  ["route-extender-vni", "VNID"],
  ["route-extender-port", "VXLAN_PORT"],
  ["route-extender-vtep-ip", "REMOTE_VTEPIP"],
  ["route-extender-type", "TYPE"],
  ["route-extender-tunnel-endpoint", "REMOTE_TUNNEL_ENDPOINT"],
];

function positional(arg: string): string {
  return `unexpected argument ${JSON.stringify(arg)}: kube-router takes no positional arguments (write booleans as --flag=false)`;
}

function typeName(spec: FlagSpec): string {
  const k = spec.kind;
  switch (k.t) {
    case "bool": return "";
    case "string": case "optString": return "string";
    case "enum": return "string";
    case "duration": return "duration";
    case "uint": return k.bits === 64 ? "uint" : `uint${k.bits}`;
    case "int32": return "int";
    case "strings": return "strings";
    case "uints": return "uints";
    case "ips": return "ipSlice";
  }
}

function defaultText(spec: FlagSpec): string | undefined {
  const v: unknown = DEFAULT_CONFIG[spec.key];
  if (v === undefined || v === false || v === "") return undefined;
  if (spec.kind.t === "duration") return v === 0 ? undefined : formatGoDuration(v as number);
  if (Array.isArray(v)) return v.length === 0 ? undefined : `[${v.join(",")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === 0) return undefined;
  return String(v);
}

/**
 * Help text in pflag's layout: `Usage of kube-router:` then one line per flag, sorted by name,
 * with its type, one-line help and non-zero default (`(default 5m0s)`). Flags of our own are
 * marked `[kube-router-ts]`. Ends with the environment variables read.
 */
export function usage(): string {
  const left = FLAGS.map((f) => {
    const names = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
    const t = typeName(f);
    return t ? `${names} ${t}` : names;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  const lines = FLAGS.map((f, i) => {
    const d = defaultText(f);
    const help = `${f.ours ? "[kube-router-ts] " : ""}${f.help}${d ? ` (default ${d})` : ""}`;
    return `${(left[i] ?? "").padEnd(width)}${help}`;
  });
  return [
    "Usage of kube-router:",
    ...lines,
    "",
    "Environment:",
    "  NODE_NAME                   node name when --hostname-override is not given (else the hostname)",
    `  KUBE_ROUTER_CNI_CONF_FILE   CNI config file managed with --enable-cni (default ${DEFAULT_CONFIG.cniConfFile})`,
    "  POD_NAME, POD_NAMESPACE     identity and namespace of the Leases (--run-loadbalancer, --run-route-extender)",
    ...EXTENDER_ENV.map(([flag, name]) => `  ${name.padEnd(28)}--${flag} when the flag is not given`),
    "",
  ].join("\n");
}
