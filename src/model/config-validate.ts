/**
 * Semantic validation of a NodeConfig, following upstream kube-router's startup checks
 * (pkg/svcip/validator.go, netpol's node-port range parser, the routing controller, cmd).
 *
 * Every error is one line that names the flag and the bad value:
 * - upstream's own text, verbatim, where it already names both (the CIDR range checks:
 *   `failed to parse --service-cluster-ip-range parameter: '10.10.10': invalid CIDR address: 10.10.10`);
 * - `--flag: <upstream text>` where upstream's text names the value but not the flag
 *   (`--service-node-port-range: port 1 is greater than or equal to port 2 in range given: '8090-8080'`);
 * - otherwise `invalid value "<value>" for --flag: <reason>`, the reason keeping upstream's
 *   wording where upstream has a check.
 * Peer passwords are secrets: their errors name the flag and the item's position, never the value.
 *
 * Where upstream checks a value only when its feature is on, so do we (graceful-restart times
 * are checked only with `--bgp-graceful-restart`).
 *
 * @category models
 */
import { formatGoDuration, type NodeConfig } from "./config.ts";
import { parseCidr, parseIp } from "./ip.ts";

/** Upper bound of the BFD intervals (ms) so that the µs value GoBGP takes fits in uint32. */
export const BFD_INTERVAL_MAX_MS = Math.floor(0xffffffff / 1000);
/** 18h12m16s: upstream's maximum BGP hold time. */
export const BGP_HOLDTIME_MAX_MS = 65536_000;

const quote = (s: string): string => JSON.stringify(s);
const invalid = (flag: string, value: string, reason: string): string =>
  `invalid value ${quote(value)} for --${flag}: ${reason}`;

/**
 * Validates `c`; returns every problem found (empty = valid), in a stable order: address
 * families, CIDR ranges (external, load balancer, cluster, excluded — upstream's order), node
 * port range, durations, ports, BGP, BFD, overlay, our own flags. Never throws.
 */
export function validateConfig(c: NodeConfig): string[] {
  return [
    ...checkFamilies(c),
    ...checkCidrList(c.serviceExternalIpRange, "service-external-ip-range", c),
    ...checkCidrList(c.loadbalancerIpRange, "loadbalancer-ip-range", c),
    ...checkClusterRange(c),
    ...checkExcludedCidrs(c.excludedCidrs),
    ...checkNodePortRange(c.serviceNodePortRange),
    ...checkDurations(c),
    ...checkPorts(c),
    ...checkBgp(c),
    ...checkBfd(c),
    ...checkOverlay(c),
    ...checkOwnFlags(c),
  ];
}

function checkFamilies(c: NodeConfig): string[] {
  return c.enableIpv4 || c.enableIpv6 ? [] : ["at least one of --enable-ipv4 and --enable-ipv6 must be true"];
}

/** Upstream's parseCIDRsByFamily: each item a CIDR of an enabled family. */
function checkCidrList(list: readonly string[], flag: string, c: NodeConfig): string[] {
  const errors: string[] = [];
  for (const text of list) {
    const cidr = parseCidr(text);
    if (!cidr) {
      errors.push(`failed to parse --${flag} parameter: '${text}': invalid CIDR address: ${text}`);
    } else if (cidr.family === "ipv4" && !c.enableIpv4) {
      errors.push(`IPv4 CIDR ${text} specified in --${flag} while IPv4 is disabled`);
    } else if (cidr.family === "ipv6" && !c.enableIpv6) {
      errors.push(`IPv6 CIDR ${text} specified in --${flag} while IPv6 is disabled`);
    }
  }
  return errors;
}

function checkClusterRange(c: NodeConfig): string[] {
  const flag = "service-cluster-ip-range";
  const errors = checkCidrList(c.serviceClusterIpRange, flag, c);
  if (c.serviceClusterIpRange.length === 0) errors.push(`failed to parse --${flag} parameter: the list is empty`);
  if (c.serviceClusterIpRange.length > 2) {
    errors.push(
      `too many CIDRs provided in --${flag} parameter, only two addresses are allowed at once for dual-stack`,
    );
  }
  return errors;
}

function checkExcludedCidrs(list: readonly string[]): string[] {
  return list
    .filter((t) => !parseCidr(t))
    .map((t) => `failed to parse --excluded-cidrs parameter: '${t}': invalid CIDR address: ${t}`);
}

const NODE_PORT_RANGE = /^([0-9]+)[:-]([0-9]+)$/;

/** Parses `a-b` / `a:b` (a < b, both uint16) into `[a, b]`, or returns upstream's error text. */
export function parseNodePortRange(text: string): readonly [number, number] | string {
  const m = NODE_PORT_RANGE.exec(text);
  if (!m) return `failed to parse node port range given: '${text}' please see specification in help text`;
  const p1 = Number(m[1]);
  const p2 = Number(m[2]);
  if (!(p1 <= 0xffff)) return `could not parse first port number from range given: '${text}'`;
  if (!(p2 <= 0xffff)) return `could not parse second port number from range given: '${text}'`;
  if (p1 >= p2) return `port 1 is greater than or equal to port 2 in range given: '${text}'`;
  return [p1, p2];
}

function checkNodePortRange(text: string): string[] {
  const r = parseNodePortRange(text);
  return typeof r === "string" ? [`--service-node-port-range: ${r}`] : [];
}

function checkDurations(c: NodeConfig): string[] {
  const errors: string[] = [];
  const positive: [string, number][] = [
    ["cache-sync-timeout", c.cacheSyncTimeout],
    ["ipvs-sync-period", c.ipvsSyncPeriod],
    ["iptables-sync-period", c.iptablesSyncPeriod],
    ["routes-sync-period", c.routesSyncPeriod],
    ["injected-routes-sync-period", c.injectedRoutesSyncPeriod],
    ["loadbalancer-sync-period", c.loadbalancerSyncPeriod],
  ];
  for (const [flag, ms] of positive) {
    if (!(ms > 0)) errors.push(invalid(flag, formatGoDuration(ms), "must be greater than 0"));
  }
  const nonNegative: [string, number][] = [
    ["ipvs-graceful-period", c.ipvsGracefulPeriod],
    ["service-tcp-timeout", c.serviceTcpTimeout],
    ["service-tcpfin-timeout", c.serviceTcpfinTimeout],
    ["service-udp-timeout", c.serviceUdpTimeout],
  ];
  for (const [flag, ms] of nonNegative) {
    if (!(ms >= 0)) errors.push(invalid(flag, formatGoDuration(ms), "must not be negative"));
  }
  return errors;
}

const isUint = (n: number, max: number): boolean => Number.isInteger(n) && n >= 0 && n <= max;

function checkPorts(c: NodeConfig): string[] {
  const errors: string[] = [];
  const ports: [string, number, number][] = [
    ["health-port", c.healthPort, 0],
    ["metrics-port", c.metricsPort, 0],
    ["gobgp-admin-port", c.gobgpAdminPort, 0],
    ["bgp-port", c.bgpPort, 1],
  ];
  for (const [flag, port, min] of ports) {
    if (!isUint(port, 0xffff) || port < min) errors.push(invalid(flag, String(port), `must be a port number in ${min}-65535`));
  }
  return errors;
}

function isClusterAsn(asn: number): boolean {
  return (asn >= 64512 && asn <= 65535) || (asn >= 4200000000 && asn <= 4294967294);
}

/** Upstream's non-reserved ASN ranges for global peers. */
function isPeerAsn(asn: number): boolean {
  return (
    (asn >= 1 && asn <= 23455) ||
    (asn >= 23457 && asn <= 63999) ||
    (asn >= 64512 && asn <= 65534) ||
    (asn >= 131072 && asn <= 4199999999) ||
    (asn >= 4200000000 && asn <= 4294967294)
  );
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkBgp(c: NodeConfig): string[] {
  const errors: string[] = [];
  if (!Number.isInteger(c.clusterAsn) || (c.clusterAsn !== 0 && !isClusterAsn(c.clusterAsn))) {
    errors.push(
      invalid("cluster-asn", String(c.clusterAsn), "invalid ASN number for cluster ASN (must be 64512-65535 or 4200000000-4294967294)"),
    );
  }
  for (const ip of c.peerRouterIps) {
    if (!parseIp(ip)) errors.push(invalid("peer-router-ips", ip, "not an IP address"));
  }
  const n = c.peerRouterIps.length;
  if (c.peerRouterAsns.length !== n) {
    errors.push(
      invalid("peer-router-asns", c.peerRouterAsns.join(","),
        `invalid peer router config, the number of IPs and ASN numbers must be equal (${n} --peer-router-ips, ${c.peerRouterAsns.length} ASNs)`),
    );
  }
  if (c.peerRouterPasswords.length !== 0 && c.peerRouterPasswords.length !== n) {
    errors.push(
      `invalid --peer-router-passwords (${c.peerRouterPasswords.length} given for ${n} --peer-router-ips): ` +
        `the number of passwords should either be zero, or one per peer router. ` +
        `Use blank items if a router doesn't expect a password. Example: "pass,,pass"`,
    );
  }
  c.peerRouterPasswords.forEach((pw, i) => {
    if (!BASE64.test(pw)) errors.push(`invalid --peer-router-passwords item ${i + 1}: not a base64 encoded string`);
  });
  if (c.peerRouterPorts.length !== 0 && c.peerRouterPorts.length !== n) {
    errors.push(
      invalid("peer-router-ports", c.peerRouterPorts.join(","),
        `invalid peer router config. The number of ports should either be zero, or one per peer router (${n} --peer-router-ips, ${c.peerRouterPorts.length} ports)`),
    );
  }
  for (const port of c.peerRouterPorts) {
    if (!isUint(port, 0xffff)) errors.push(invalid("peer-router-ports", String(port), "must be a port number in 0-65535 (0 = 179)"));
  }
  for (const asn of c.peerRouterAsns) {
    if (!Number.isInteger(asn) || !isPeerAsn(asn)) errors.push(`--peer-router-asns: reserved ASN number "${asn}" for global BGP peer`);
  }
  if (!isUint(c.peerRouterMultihopTtl, 255)) {
    errors.push(invalid("peer-router-multihop-ttl", String(c.peerRouterMultihopTtl), "must be 0-255"));
  }
  if (!(c.bgpHoldtime >= 3000 && c.bgpHoldtime <= BGP_HOLDTIME_MAX_MS)) {
    errors.push(invalid("bgp-holdtime", formatGoDuration(c.bgpHoldtime), "holdtime must be in the range 3s to 18h12m16s"));
  }
  if (c.bgpGracefulRestart) {
    const t = c.bgpGracefulRestartTime;
    if (t > 4095_000) errors.push(invalid("bgp-graceful-restart-time", formatGoDuration(t), "BGPGracefulRestartTime should be less than 4095 seconds"));
    else if (!(t > 0)) errors.push(invalid("bgp-graceful-restart-time", formatGoDuration(t), "BGPGracefulRestartTime must be positive"));
    const d = c.bgpGracefulRestartDeferralTime;
    if (d > 18 * 3600_000) errors.push(invalid("bgp-graceful-restart-deferral-time", formatGoDuration(d), "BGPGracefulRestartDeferralTime should be less than 18 hours"));
    else if (!(d > 0)) errors.push(invalid("bgp-graceful-restart-deferral-time", formatGoDuration(d), "BGPGracefulRestartDeferralTime must be positive"));
  }
  if (c.routerId !== "" && c.routerId !== "generate" && parseIp(c.routerId)?.family !== "ipv4") {
    errors.push(invalid("router-id", c.routerId, `must be an IPv4 address, "generate" or empty`));
  }
  return errors;
}

function checkBfd(c: NodeConfig): string[] {
  const errors: string[] = [];
  const range = (flag: string, v: number, min: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < min || v > max) errors.push(invalid(flag, String(v), `${what} must be between ${min} and ${max}`));
  };
  range("bfd-port", c.bfdPort, 1, 65535, "bfd port");
  range("bfd-detection-multiplier", c.bfdDetectionMultiplier, 1, 255, "detection multiplier");
  range("bfd-desired-min-tx-interval", c.bfdDesiredMinTxInterval, 1, BFD_INTERVAL_MAX_MS, "desired min tx interval (ms)");
  range("bfd-required-min-rx-interval", c.bfdRequiredMinRxInterval, 1, BFD_INTERVAL_MAX_MS, "required min rx interval (ms)");
  return errors;
}

function checkOverlay(c: NodeConfig): string[] {
  const errors: string[] = [];
  if (c.overlayType !== "subnet" && c.overlayType !== "full") {
    errors.push(invalid("overlay-type", c.overlayType, "must be subnet or full"));
  }
  if (c.overlayEncap !== "ipip" && c.overlayEncap !== "fou" && c.overlayEncap !== "vxlan") {
    errors.push(`unknown --overlay-encap option '${c.overlayEncap}' selected, unable to continue`);
  }
  // 0 = the encap's default (fou 5555, vxlan 4789)
  if (!Number.isInteger(c.overlayEncapPort) || (c.overlayEncapPort !== 0 && (c.overlayEncapPort < 1024 || c.overlayEncapPort > 65535))) {
    errors.push(
      `--overlay-encap-port: specified encap port is out of range of valid ports: ${c.overlayEncapPort}, valid range is from 1024 to 65535 (or 0 for the encap's default)`,
    );
  }
  if (!Number.isInteger(c.overlayVni) || c.overlayVni < 1 || c.overlayVni > 16777215) {
    errors.push(`--overlay-vni: ${c.overlayVni} is out of range (1-16777215)`);
  }
  return errors;
}

function checkOwnFlags(c: NodeConfig): string[] {
  const errors: string[] = [];
  if (c.output !== "text" && c.output !== "json") errors.push(invalid("output", c.output, "must be text or json"));
  if (c.iptablesBackend !== "auto" && c.iptablesBackend !== "nft" && c.iptablesBackend !== "legacy") {
    errors.push(invalid("iptables-backend", c.iptablesBackend, "must be auto, nft or legacy"));
  }
  if (c.snapshot === "") errors.push(invalid("snapshot", "", "must name a file"));
  if (c.stateDir === "") errors.push(invalid("state-dir", "", "must name a directory"));
  if (!Number.isInteger(c.v)) errors.push(invalid("v", String(c.v), "must be an integer"));
  if (c.cniConfFile === "") errors.push(`invalid value "" for KUBE_ROUTER_CNI_CONF_FILE: must name a file`);
  return errors;
}
