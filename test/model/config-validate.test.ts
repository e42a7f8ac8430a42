import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { parseNodePortRange, validateConfig } from "../../src/model/config-validate.ts";

const cfg = (over: Partial<Record<keyof NodeConfig, unknown>>): NodeConfig => ({ ...DEFAULT_CONFIG, ...over }) as NodeConfig;

test("the defaults are valid", () => {
  // Given upstream's defaults / When validated / Then no error
  assert.deepEqual(validateConfig(DEFAULT_CONFIG), []);
});

test("service cluster IP range: upstream's exact messages (§8.1 #12)", () => {
  // Given the bad ranges of upstream's netpol/svcip tests
  const cases: [readonly string[], boolean, string][] = [
    [["10.10.10"], false, "failed to parse --service-cluster-ip-range parameter: '10.10.10': invalid CIDR address: 10.10.10"],
    [["foo"], false, "failed to parse --service-cluster-ip-range parameter: 'foo': invalid CIDR address: foo"],
    [["10.10.10.10"], false, "failed to parse --service-cluster-ip-range parameter: '10.10.10.10': invalid CIDR address: 10.10.10.10"],
    [["10.96.0.0/12", "10.244.0.0/16", "2001:db8:42:1::/112"], true,
      "too many CIDRs provided in --service-cluster-ip-range parameter, only two addresses are allowed at once for dual-stack"],
    [["fd00::/112"], false, "IPv6 CIDR fd00::/112 specified in --service-cluster-ip-range while IPv6 is disabled"],
    [[], false, "failed to parse --service-cluster-ip-range parameter: the list is empty"],
  ];
  for (const [range, v6, want] of cases) {
    // When validated / Then exactly that message
    assert.deepEqual(validateConfig(cfg({ serviceClusterIpRange: range, enableIpv6: v6 })), [want], range.join(","));
  }
});

test("service cluster IP range: good values pass", () => {
  // Given upstream's accepted ranges / Then no error
  for (const [range, v6] of [
    [["10.10.10.10/32"], false], [["10.10.10.0/24"], false], [["2001:db8:42:1::/112"], true],
    [["10.96.0.0/12", "2001:db8:42:1::/112"], true],
  ] as const) {
    const errs = validateConfig(cfg({ serviceClusterIpRange: range, enableIpv6: v6, ...(range[0].includes(":") && range.length === 1 ? { enableIpv4: false } : {}) }));
    assert.deepEqual(errs, [], range.join(","));
  }
});

test("IPv4 CIDRs are rejected when IPv4 is disabled", () => {
  // Given an IPv6-only node with an IPv4 cluster range / Then upstream's message
  assert.deepEqual(validateConfig(cfg({ enableIpv4: false, enableIpv6: true })), [
    "IPv4 CIDR 10.96.0.0/12 specified in --service-cluster-ip-range while IPv4 is disabled",
  ]);
});

test("external and loadbalancer IP ranges: every item is checked, family must be enabled", () => {
  // Given bad external / LB ranges / When validated / Then one error per bad item, naming flag and value
  assert.deepEqual(validateConfig(cfg({ serviceExternalIpRange: ["199.10.10.10/32", "199.10.10.11"] })), [
    "failed to parse --service-external-ip-range parameter: '199.10.10.11': invalid CIDR address: 199.10.10.11",
  ]);
  assert.deepEqual(validateConfig(cfg({ loadbalancerIpRange: ["foo"] })), [
    "failed to parse --loadbalancer-ip-range parameter: 'foo': invalid CIDR address: foo",
  ]);
  assert.deepEqual(validateConfig(cfg({ loadbalancerIpRange: ["fd01::/64"] })), [
    "IPv6 CIDR fd01::/64 specified in --loadbalancer-ip-range while IPv6 is disabled",
  ]);
  assert.deepEqual(validateConfig(cfg({ serviceExternalIpRange: ["199.10.10.10/24"], loadbalancerIpRange: ["10.255.0.0/24"] })), []);
  assert.deepEqual(validateConfig(cfg({ excludedCidrs: ["10.0.0.0/8", "bad"] })), [
    "failed to parse --excluded-cidrs parameter: 'bad': invalid CIDR address: bad",
  ]);
});

test("service node port range: upstream's matrix", () => {
  // Given upstream's node-port cases
  const bad: [string, string][] = [
    ["8080,8081", "failed to parse node port range given: '8080,8081' please see specification in help text"],
    ["foo:bar", "failed to parse node port range given: 'foo:bar' please see specification in help text"],
    ["8080,8081-8090", "failed to parse node port range given: '8080,8081-8090' please see specification in help text"],
    ["8090-8080", "port 1 is greater than or equal to port 2 in range given: '8090-8080'"],
    ["8080-8080", "port 1 is greater than or equal to port 2 in range given: '8080-8080'"],
    ["132000-132001", "could not parse first port number from range given: '132000-132001'"],
    ["8080-65536", "could not parse second port number from range given: '8080-65536'"],
  ];
  for (const [range, msg] of bad) {
    // When validated / Then the upstream message, prefixed with the flag
    assert.deepEqual(validateConfig(cfg({ serviceNodePortRange: range })), [`--service-node-port-range: ${msg}`], range);
  }
  // And the accepted forms parse to numbers
  assert.deepEqual(parseNodePortRange("8080:8090"), [8080, 8090]);
  assert.deepEqual(parseNodePortRange("8080-8090"), [8080, 8090]);
  assert.deepEqual(validateConfig(cfg({ serviceNodePortRange: "8080:8090" })), []);
});

test("at least one address family must be enabled", () => {
  // Given both families off / Then the family error (and the IPv4 range is reported too)
  const errs = validateConfig(cfg({ enableIpv4: false, enableIpv6: false }));
  assert.equal(errs[0], "at least one of --enable-ipv4 and --enable-ipv6 must be true");
});

test("cluster ASN: 0 or a private range", () => {
  // Given ASNs / Then 0, 64512-65535 and 4200000000-4294967294 pass, others fail naming the value
  for (const ok of [0, 64512, 65535, 4200000000, 4294967294]) assert.deepEqual(validateConfig(cfg({ clusterAsn: ok })), [], String(ok));
  assert.deepEqual(validateConfig(cfg({ clusterAsn: 65000 - 1000 })), [
    'invalid value "64000" for --cluster-asn: invalid ASN number for cluster ASN (must be 64512-65535 or 4200000000-4294967294)',
  ]);
  assert.equal(validateConfig(cfg({ clusterAsn: 4294967295 })).length, 1);
});

test("peer routers: IPs valid, ASN count equal, ports and passwords zero or one each", () => {
  // Given peer lists
  const two = { peerRouterIps: ["10.0.0.1", "2001:db8::1"], peerRouterAsns: [65001, 65002] };
  // When validated / Then
  assert.deepEqual(validateConfig(cfg(two)), []);
  assert.deepEqual(validateConfig(cfg({ ...two, peerRouterPorts: [179, 1790], peerRouterPasswords: ["cGFzcw==", ""] })), []);
  assert.deepEqual(validateConfig(cfg({ peerRouterIps: ["10.0.0.1", "10.0.0.2"], peerRouterAsns: [65001] })), [
    'invalid value "65001" for --peer-router-asns: invalid peer router config, the number of IPs and ASN numbers must be equal (2 --peer-router-ips, 1 ASNs)',
  ]);
  assert.deepEqual(validateConfig(cfg({ peerRouterIps: ["10.0.0.300"], peerRouterAsns: [65001] })), [
    'invalid value "10.0.0.300" for --peer-router-ips: not an IP address',
  ]);
  assert.deepEqual(validateConfig(cfg({ ...two, peerRouterPorts: [179] })), [
    'invalid value "179" for --peer-router-ports: invalid peer router config. The number of ports should either be zero, or one per peer router (2 --peer-router-ips, 1 ports)',
  ]);
  const pw = validateConfig(cfg({ ...two, peerRouterPasswords: ["c2VjcmV0"] }));
  assert.equal(pw.length, 1);
  assert.match(pw[0] ?? "", /^invalid --peer-router-passwords \(1 given for 2 --peer-router-ips\): the number of passwords should either be zero, or one per peer router/);
  assert.ok(!(pw[0] ?? "").includes("c2VjcmV0"), "passwords are never echoed");
  assert.deepEqual(validateConfig(cfg({ ...two, peerRouterPasswords: ["not base64!", ""] })), [
    "invalid --peer-router-passwords item 1: not a base64 encoded string",
  ]);
  assert.deepEqual(validateConfig(cfg({ peerRouterIps: ["10.0.0.1"], peerRouterAsns: [0] })), [
    '--peer-router-asns: reserved ASN number "0" for global BGP peer',
  ]);
  assert.deepEqual(validateConfig(cfg({ peerRouterIps: ["10.0.0.1"], peerRouterAsns: [23456] })), [
    '--peer-router-asns: reserved ASN number "23456" for global BGP peer',
  ]);
});

test("BGP hold time is 3s..18h12m16s", () => {
  // Given hold times / Then only the range passes
  assert.deepEqual(validateConfig(cfg({ bgpHoldtime: 3000 })), []);
  assert.deepEqual(validateConfig(cfg({ bgpHoldtime: 65536000 })), []);
  assert.deepEqual(validateConfig(cfg({ bgpHoldtime: 2999 })), [
    'invalid value "2.999s" for --bgp-holdtime: holdtime must be in the range 3s to 18h12m16s',
  ]);
  assert.deepEqual(validateConfig(cfg({ bgpHoldtime: 65537000 })), [
    'invalid value "18h12m17s" for --bgp-holdtime: holdtime must be in the range 3s to 18h12m16s',
  ]);
});

test("graceful restart times are checked only when graceful restart is on", () => {
  // Given out-of-range times
  const bad = { bgpGracefulRestartTime: 4096000, bgpGracefulRestartDeferralTime: 0 };
  // When GR is off / Then ignored (as upstream)
  assert.deepEqual(validateConfig(cfg(bad)), []);
  // When GR is on / Then both reported
  assert.deepEqual(validateConfig(cfg({ ...bad, bgpGracefulRestart: true })), [
    'invalid value "1h8m16s" for --bgp-graceful-restart-time: BGPGracefulRestartTime should be less than 4095 seconds',
    'invalid value "0s" for --bgp-graceful-restart-deferral-time: BGPGracefulRestartDeferralTime must be positive',
  ]);
  assert.deepEqual(validateConfig(cfg({ bgpGracefulRestart: true, bgpGracefulRestartTime: 0, bgpGracefulRestartDeferralTime: 18 * 3600000 + 1000 })), [
    'invalid value "0s" for --bgp-graceful-restart-time: BGPGracefulRestartTime must be positive',
    'invalid value "18h0m1s" for --bgp-graceful-restart-deferral-time: BGPGracefulRestartDeferralTime should be less than 18 hours',
  ]);
  assert.deepEqual(validateConfig(cfg({ bgpGracefulRestart: true, bgpGracefulRestartTime: 4095000, bgpGracefulRestartDeferralTime: 18 * 3600000 })), []);
});

test("BFD ranges", () => {
  // Given BFD values at and beyond the limits / Then only the limits pass
  assert.deepEqual(validateConfig(cfg({ bfdPort: 65535, bfdDetectionMultiplier: 255, bfdDesiredMinTxInterval: 4294967, bfdRequiredMinRxInterval: 1 })), []);
  assert.deepEqual(validateConfig(cfg({ bfdPort: 0, bfdDetectionMultiplier: 256, bfdDesiredMinTxInterval: 4294968, bfdRequiredMinRxInterval: 0 })), [
    'invalid value "0" for --bfd-port: bfd port must be between 1 and 65535',
    'invalid value "256" for --bfd-detection-multiplier: detection multiplier must be between 1 and 255',
    'invalid value "4294968" for --bfd-desired-min-tx-interval: desired min tx interval (ms) must be between 1 and 4294967',
    'invalid value "0" for --bfd-required-min-rx-interval: required min rx interval (ms) must be between 1 and 4294967',
  ]);
});

test("overlay type, encapsulation and port", () => {
  // Given bad overlay settings / Then one message each, naming flag and value
  assert.deepEqual(validateConfig(cfg({ overlayType: "mesh", overlayEncap: "gre", overlayEncapPort: 1023 })), [
    'invalid value "mesh" for --overlay-type: must be subnet or full',
    "unknown --overlay-encap option 'gre' selected, unable to continue",
    "--overlay-encap-port: specified encap port is out of range of valid ports: 1023, valid range is from 1024 to 65535 (or 0 for the encap's default)",
  ]);
  assert.deepEqual(validateConfig(cfg({ overlayType: "full", overlayEncap: "fou", overlayEncapPort: 1024 })), []);
  // vxlan (ours), port 0 (the encap's default) and the VNI range 1-16777215
  assert.deepEqual(validateConfig(cfg({ overlayEncap: "vxlan", overlayEncapPort: 0, overlayVni: 16777215 })), []);
  assert.deepEqual(validateConfig(cfg({ overlayEncapPort: 65536, overlayVni: 0 })), [
    "--overlay-encap-port: specified encap port is out of range of valid ports: 65536, valid range is from 1024 to 65535 (or 0 for the encap's default)",
    "--overlay-vni: 0 is out of range (1-16777215)",
  ]);
  assert.deepEqual(validateConfig(cfg({ overlayVni: 16777216 })), ["--overlay-vni: 16777216 is out of range (1-16777215)"]);
});

test("timeouts and sync periods", () => {
  // Given zero or negative durations / Then periods must be > 0 and timeouts >= 0
  assert.deepEqual(validateConfig(cfg({ cacheSyncTimeout: 0 })), ['invalid value "0s" for --cache-sync-timeout: must be greater than 0']);
  assert.deepEqual(validateConfig(cfg({ ipvsSyncPeriod: -1000 })), ['invalid value "-1s" for --ipvs-sync-period: must be greater than 0']);
  assert.deepEqual(validateConfig(cfg({ serviceUdpTimeout: -1 })), ['invalid value "-1ms" for --service-udp-timeout: must not be negative']);
  assert.deepEqual(validateConfig(cfg({ serviceTcpTimeout: 0, ipvsGracefulPeriod: 0 })), []);
});

test("ports in range, router id", () => {
  // Given out-of-range ports and router ids / Then errors name flag and value
  assert.deepEqual(validateConfig(cfg({ metricsPort: 65536 })), ['invalid value "65536" for --metrics-port: must be a port number in 0-65535']);
  assert.deepEqual(validateConfig(cfg({ bgpPort: 0 })), ['invalid value "0" for --bgp-port: must be a port number in 1-65535']);
  assert.deepEqual(validateConfig(cfg({ healthPort: 0, metricsPort: 9090 })), []);
  for (const ok of ["", "generate", "10.0.0.1"]) assert.deepEqual(validateConfig(cfg({ routerId: ok })), [], ok);
  assert.deepEqual(validateConfig(cfg({ routerId: "2001:db8::1" })), [
    'invalid value "2001:db8::1" for --router-id: must be an IPv4 address, "generate" or empty',
  ]);
});

test("our own flags", () => {
  // Given bad values of our flags / Then named errors
  assert.deepEqual(validateConfig(cfg({ output: "yaml", iptablesBackend: "x", snapshot: "", stateDir: "" })), [
    'invalid value "yaml" for --output: must be text or json',
    'invalid value "x" for --iptables-backend: must be auto, nft or legacy',
    'invalid value "" for --snapshot: must name a file',
    'invalid value "" for --state-dir: must name a directory',
  ]);
});

test("every error is one line", () => {
  // Given a config wrong in many ways
  const errs = validateConfig(cfg({
    serviceClusterIpRange: ["a", "b", "c"], serviceNodePortRange: "x", clusterAsn: 1, peerRouterIps: ["x"],
    peerRouterPasswords: ["a", "b"], bgpHoldtime: 0, overlayType: "", bfdPort: 0, cacheSyncTimeout: 0,
  }));
  // Then many errors, none with a newline
  assert.ok(errs.length >= 9, String(errs.length));
  for (const e of errs) assert.ok(!e.includes("\n"), e);
});
