import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, effectiveClusterAsn, formatGoDuration } from "../../src/model/config.ts";
import { DURATION_FLAGS, UPSTREAM_DEFAULTS, fieldOf } from "../support/upstream-flags.ts";

test("field names are the camelCase of the flag names", () => {
  // Given the examples of the naming rule / Then the rule reproduces them
  assert.equal(fieldOf("enable-ipv6"), "enableIpv6");
  assert.equal(fieldOf("service-cluster-ip-range"), "serviceClusterIpRange");
  assert.equal(fieldOf("peer-router-ips"), "peerRouterIps");
  assert.equal(fieldOf("bgp-port"), "bgpPort");
  assert.equal(fieldOf("v"), "v");
});

test("every upstream flag has a NodeConfig field with upstream's default", () => {
  // Given upstream's default table
  const cfg = DEFAULT_CONFIG as unknown as Record<string, unknown>;
  for (const [flag, want] of Object.entries(UPSTREAM_DEFAULTS)) {
    const field = fieldOf(flag);
    // When reading the field of DEFAULT_CONFIG
    assert.ok(field in cfg, `missing field ${field} for --${flag}`);
    const got = cfg[field];
    // Departure in form only: 0 = the encap's default, which for fou is upstream's 5555
    if (flag === "overlay-encap-port") { assert.equal(got, 0); continue; }
    // Then it equals upstream's default (durations compared as Go prints them)
    if (DURATION_FLAGS.has(flag)) assert.equal(formatGoDuration(got as number), want, `--${flag}`);
    else if (flag === "v") assert.equal(String(got), want);
    else assert.deepEqual(got, want, `--${flag}`);
  }
});

test("durations are milliseconds", () => {
  // Given the config defaults / Then durations are plain ms numbers
  assert.equal(DEFAULT_CONFIG.ipvsSyncPeriod, 300000);
  assert.equal(DEFAULT_CONFIG.bgpHoldtime, 90000);
  assert.equal(DEFAULT_CONFIG.bgpGracefulRestartDeferralTime, 360000);
  assert.equal(DEFAULT_CONFIG.cacheSyncTimeout, 60000);
  assert.equal(DEFAULT_CONFIG.serviceTcpTimeout, 0);
});

test("our own flags have their documented defaults", () => {
  // Given the defaults of the flags upstream does not have
  // Then
  assert.equal(DEFAULT_CONFIG.once, false);
  assert.equal(DEFAULT_CONFIG.dryRun, false);
  assert.equal(DEFAULT_CONFIG.output, "text");
  assert.equal(DEFAULT_CONFIG.iptablesBackend, "auto");
  assert.equal(DEFAULT_CONFIG.cniConfFile, "/etc/cni/net.d/10-kuberouter.conf");
  assert.equal("snapshot" in DEFAULT_CONFIG, false);
  assert.equal("stateDir" in DEFAULT_CONFIG, false);
  assert.equal("nodeNameEnv" in DEFAULT_CONFIG, false);
});

test("no field exists that is neither an upstream flag nor ours", () => {
  // Given the fields of DEFAULT_CONFIG plus the optional ones
  const ours = new Set(["snapshot", "once", "dryRun", "output", "stateDir", "iptablesBackend", "cniConfFile", "nodeNameEnv", "overlayVni",
    // the route extender (ours: upstream kube-router has none)
    "runRouteExtender", "routeExtenderNetwork", "routeExtenderVni", "routeExtenderPort", "routeExtenderVtepIp", "routeExtenderType",
    "routeExtenderTunnelEndpoint", "routeExtenderConfigmapNamespace", "routeExtenderConfigmapName", "routeExtenderSkipTaints"]);
  const upstream = new Set(Object.keys(UPSTREAM_DEFAULTS).map(fieldOf));
  // Then each is accounted for
  for (const k of Object.keys(DEFAULT_CONFIG)) assert.ok(upstream.has(k) || ours.has(k), `unexpected field ${k}`);
});

test("DEFAULT_CONFIG cannot be mutated", () => {
  // Given the shared defaults / When mutating them / Then it throws (strict mode) and nothing changes
  assert.throws(() => { (DEFAULT_CONFIG as { runRouter: boolean }).runRouter = false; });
  assert.throws(() => { (DEFAULT_CONFIG.serviceClusterIpRange as string[]).push("x"); });
  assert.equal(DEFAULT_CONFIG.runRouter, true);
});

test("cluster ASN 0 means 64512", () => {
  assert.equal(effectiveClusterAsn({ clusterAsn: 0 }), 64512);
  assert.equal(effectiveClusterAsn({ clusterAsn: 65001 }), 65001);
});

test("formatGoDuration prints like Go's time.Duration.String", () => {
  // Given durations in ms / Then Go's text
  const cases: [number, string][] = [
    [0, "0s"], [300000, "5m0s"], [90000, "1m30s"], [30000, "30s"], [3723000, "1h2m3s"], [500, "500ms"],
    [1500, "1.5s"], [0.0015, "1.5µs"], [0.000001, "1ns"], [65536000, "18h12m16s"], [-60000, "-1m0s"],
    [64800000, "18h0m0s"], [1.25, "1.25ms"], [3600000, "1h0m0s"],
  ];
  for (const [ms, want] of cases) assert.equal(formatGoDuration(ms), want, String(ms));
});
