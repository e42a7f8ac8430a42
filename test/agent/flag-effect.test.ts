/**
 * Issue 14's acceptance: every upstream flag, given a non-default value, either changes what
 * the agent does (the plan of a sync, the IPVS driver's options, a lane's period, or a runtime
 * behaviour another named test checks) or is refused by the CLI with one line naming it.
 * No flag falls in neither; the only flags in a third, declared group are the default-on
 * switches of unbuilt features given `=false` (we never do what they turn off).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { syncNode } from "../../src/agent/engine.ts";
import { run } from "../../src/agent/cli.ts";
import { FLAG_STATUS, refusals } from "../../src/agent/flag-status.ts";
import { parseFlags } from "../../src/agent/flags.ts";
import { formatPlanText } from "../../src/agent/printer.ts";
import { laneSpecs } from "../../src/agent/runtime/lanes.ts";
import { ipvsDriverOptions } from "../../src/apply/ipvs/driver.ts";
import type { NodeConfig } from "../../src/model/config.ts";
import { loadSnapshotFile, parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { fakeNode } from "../support/fake-node.ts";
import { UPSTREAM_DEFAULTS } from "../support/upstream-flags.ts";

const EXAMPLE = "deploy/example/cluster.yaml";
/** The example cluster plus a NodePort Service with an external IP and a LoadBalancer IP. */
const EXTRA = `apiVersion: v1
kind: Service
metadata: {name: shop, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.90
  clusterIPs: [10.96.0.90]
  externalIPs: [192.168.50.1]
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
status: {loadBalancer: {ingress: [{ip: 192.168.60.1}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: shop-1, namespace: default, labels: {kubernetes.io/service-name: shop}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node1
  targetRef: {kind: Pod, namespace: default, name: web-0}
`;
const base = loadSnapshotFile(EXAMPLE).snapshot;
const extra = parseSnapshotText(EXTRA, "extra.yaml").snapshot;
const snapshot = { ...base, services: new Map([...base.services, ...extra.services]), endpointSlices: new Map([...base.endpointSlices, ...extra.endpointSlices]) };
const seed = {
  interfaces: [{ name: "eth0", mtu: 9000, addrs: ["10.250.0.11/24", "fd00:250::11/64"] }, { name: "eth1", mtu: 1500, addrs: ["192.168.7.1/24"] }],
  cniConf: { path: "/etc/cni/net.d/10-kuberouter.conf" },
};

function cfg(argv: readonly string[]): NodeConfig {
  const r = parseFlags([...argv], {});
  if ("error" in r) assert.fail(`${argv.join(" ")}: ${r.error}`);
  return r.config;
}

/** The plan of a first sync on a fresh fake node1 (its text: every script with its input). */
async function planText(argv: readonly string[]): Promise<string> {
  const c = cfg(argv);
  const out = await syncNode(fakeNode(seed).deps, { mode: "plan", config: c, nodeName: c.hostnameOverride || "node1", snapshot });
  return `${formatPlanText(out.plan, out.scripts)}\n${out.errors.join("\n")}`;
}

type Evidence =
  /** The plan with `plan` differs from the plan with `baseline` (default: no flags). */
  | { readonly plan: readonly string[]; readonly baseline?: readonly string[] }
  | { readonly driver: readonly string[]; readonly context?: readonly string[] }
  | { readonly lanes: readonly string[]; readonly baseline?: readonly string[] }
  /** A runtime behaviour, checked by the named test file (which must mention `marker`). */
  | { readonly covered: string; readonly marker: string; readonly argv: readonly string[] };

const ROUTER_ONLY = ["--run-firewall=false", "--run-service-proxy=false"];
const PEERS = ["--peer-router-ips=10.0.0.1", "--peer-router-asns=65000"];
const GR = ["--bgp-graceful-restart"];

/** Flags that work: the non-default value and where its effect shows. */
const WORKS: Readonly<Record<string, Evidence>> = {
  "run-router": { plan: ["--run-router=false"] },
  "run-service-proxy": { plan: ["--run-service-proxy=false"] },
  "run-firewall": { plan: ["--run-firewall=false"] },
  "hostname-override": { plan: ["--hostname-override=node2"] },
  // the cluster range must change with the family; the router (the only one left on) does not read it
  "enable-ipv4": { plan: [...ROUTER_ONLY, "--enable-ipv4=false", "--enable-ipv6", "--service-cluster-ip-range=fd00:10:96::/112"], baseline: [...ROUTER_ONLY, "--enable-ipv6", "--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112"] },
  "enable-ipv6": { plan: ["--enable-ipv6"] },
  "service-cluster-ip-range": { plan: ["--service-cluster-ip-range=10.100.0.0/16"] },
  "service-external-ip-range": { plan: ["--service-external-ip-range=192.168.50.0/24"] },
  "loadbalancer-ip-range": { plan: ["--loadbalancer-ip-range=192.168.60.0/24"] },
  "run-loadbalancer": { plan: ["--run-loadbalancer"] },
  "loadbalancer-default-class": { plan: ["--run-loadbalancer", "--loadbalancer-default-class=false"], baseline: ["--run-loadbalancer"] },
  "loadbalancer-sync-period": { lanes: ["--run-loadbalancer", "--loadbalancer-sync-period=7s"], baseline: ["--run-loadbalancer"] },
  "strict-external-ip-validation": { plan: ["--strict-external-ip-validation=false"] },
  "service-node-port-range": { plan: ["--service-node-port-range=30000-31000"] },
  "ipvs-permit-all": { plan: ["--ipvs-permit-all=false"] },
  "ipvs-graceful-termination": { driver: ["--ipvs-graceful-termination"] },
  "ipvs-graceful-period": { driver: ["--ipvs-graceful-period=7s"], context: ["--ipvs-graceful-termination"] },
  "masquerade-all": { plan: ["--masquerade-all"] },
  "nodeport-bindon-all-ip": { plan: ["--nodeport-bindon-all-ip"] },
  "hairpin-mode": { plan: ["--hairpin-mode"] },
  "excluded-cidrs": { plan: ["--excluded-cidrs=10.96.0.0/24"] },
  "service-tcp-timeout": { plan: ["--service-tcp-timeout=10s"] },
  "service-tcpfin-timeout": { plan: ["--service-tcpfin-timeout=10s"] },
  "service-udp-timeout": { plan: ["--service-udp-timeout=10s"] },
  "netpol-default-deny": { plan: ["--netpol-default-deny"] },
  "enable-cni": { plan: ["--enable-cni=false"] },
  "auto-mtu": { plan: ["--auto-mtu=false"] },
  "enable-pod-egress": { plan: ["--enable-pod-egress=false"] },
  "enable-overlay": { plan: ["--enable-overlay=false", "--enable-pod-egress=false"], baseline: ["--enable-pod-egress=false"] },
  // the example's nodes share node1's subnet: `full` puts them on tunnels, so encap and port show
  "overlay-type": { plan: ["--overlay-type=full"] },
  "overlay-encap": { plan: ["--overlay-type=full", "--overlay-encap=fou"], baseline: ["--overlay-type=full"] },
  "overlay-encap-port": { plan: ["--overlay-type=full", "--overlay-encap=fou", "--overlay-encap-port=6666"], baseline: ["--overlay-type=full", "--overlay-encap=fou"] },
  "ipvs-sync-period": { lanes: ["--ipvs-sync-period=7s"] },
  "iptables-sync-period": { lanes: ["--iptables-sync-period=7s"] },
  "routes-sync-period": { lanes: ["--routes-sync-period=7s"] },
  // BGP (issue 10): the bgp controller's plan in gobgp syntax
  "cluster-asn": { plan: ["--cluster-asn=65001"] },
  "nodes-full-mesh": { plan: ["--nodes-full-mesh=false"] },
  "enable-ibgp": { plan: ["--enable-ibgp=false"] },
  "peer-router-ips": { plan: PEERS },
  "peer-router-asns": { plan: ["--peer-router-ips=10.0.0.1", "--peer-router-asns=65001"], baseline: PEERS },
  "peer-router-ports": { plan: [...PEERS, "--peer-router-ports=1179"], baseline: PEERS },
  "peer-router-passwords": { plan: [...PEERS, "--peer-router-passwords=c2VjcmV0"], baseline: PEERS },
  "peer-router-passwords-file": { covered: "test/apply/gobgp-driver.test.ts", marker: "passwordsFile", argv: [...PEERS, "--peer-router-passwords-file=/etc/bgp-pw"] },
  "peer-router-multihop-ttl": { plan: [...PEERS, "--peer-router-multihop-ttl=3"], baseline: PEERS },
  "bgp-port": { plan: ["--bgp-port=1179"] },
  "bgp-holdtime": { plan: [...PEERS, "--bgp-holdtime=30s"], baseline: PEERS },
  "bgp-graceful-restart": { plan: GR },
  "bgp-graceful-restart-time": { plan: [...GR, "--bgp-graceful-restart-time=30s"], baseline: GR },
  "bgp-graceful-restart-deferral-time": { plan: [...GR, "--bgp-graceful-restart-deferral-time=1m"], baseline: GR },
  "router-id": { plan: ["--router-id=10.0.0.9"] },
  "override-nexthop": { plan: [...PEERS, "--override-nexthop"], baseline: PEERS },
  "advertise-cluster-ip": { plan: ["--advertise-cluster-ip"] },
  "advertise-external-ip": { plan: ["--advertise-external-ip", "--service-external-ip-range=192.168.50.0/24"], baseline: ["--service-external-ip-range=192.168.50.0/24"] },
  "advertise-loadbalancer-ip": { plan: ["--advertise-loadbalancer-ip", "--loadbalancer-ip-range=192.168.60.0/24"], baseline: ["--loadbalancer-ip-range=192.168.60.0/24"] },
  "advertise-pod-cidr": { plan: [...PEERS, "--advertise-pod-cidr=false"], baseline: PEERS },
  "gobgp-admin-address": { covered: "test/apply/gobgp-driver.test.ts", marker: "gobgp-admin-address", argv: ["--gobgp-admin-address=10.0.0.1"] },
  "gobgp-admin-port": { covered: "test/apply/gobgp-driver.test.ts", marker: "gobgp-admin-port", argv: ["--gobgp-admin-port=50052"] },
  "injected-routes-sync-period": { lanes: ["--injected-routes-sync-period=7s"] },
  "enable-bfd": { plan: [...PEERS, "--enable-bfd"], baseline: PEERS },
  "bfd-port": { plan: [...PEERS, "--enable-bfd", "--bfd-port=3785"], baseline: [...PEERS, "--enable-bfd"] },
  "bfd-detection-multiplier": { plan: [...PEERS, "--enable-bfd", "--bfd-detection-multiplier=5"], baseline: [...PEERS, "--enable-bfd"] },
  "bfd-desired-min-tx-interval": { plan: [...PEERS, "--enable-bfd", "--bfd-desired-min-tx-interval=300"], baseline: [...PEERS, "--enable-bfd"] },
  "bfd-required-min-rx-interval": { plan: [...PEERS, "--enable-bfd", "--bfd-required-min-rx-interval=300"], baseline: [...PEERS, "--enable-bfd"] },
  kubeconfig: { covered: "test/sources/kube-source.test.ts", marker: "kubeconfig", argv: ["--kubeconfig=/x"] },
  master: { covered: "test/sources/kube-source.test.ts", marker: "master", argv: ["--master=https://10.0.0.1:6443"] },
  "cache-sync-timeout": { covered: "test/agent/health.test.ts", marker: "cacheSyncTimeout", argv: ["--cache-sync-timeout=5s"] },
  "cleanup-config": { covered: "test/agent/engine.test.ts", marker: "cleanup", argv: ["--cleanup-config"] },
  "health-addr": { covered: "test/agent/health.test.ts", marker: "healthAddr", argv: ["--health-addr=127.0.0.1"] },
  "health-port": { covered: "test/agent/health.test.ts", marker: "healthPort", argv: ["--health-port=0"] },
  "metrics-addr": { covered: "test/agent/metrics.test.ts", marker: "metricsAddr", argv: ["--metrics-addr=127.0.0.1"] },
  "metrics-port": { covered: "test/agent/metrics.test.ts", marker: "metricsPort", argv: ["--metrics-port=9100"] },
  "metrics-path": { covered: "test/agent/metrics.test.ts", marker: "metricsPath", argv: ["--metrics-path=/m"] },
  v: { covered: "test/agent/runtime-loop.test.ts", marker: "config: { v }", argv: ["-v", "2"] },
  help: { covered: "test/agent/flag-status.test.ts", marker: "--help", argv: ["--help"] },
  version: { covered: "test/agent/flags.test.ts", marker: "-V", argv: ["--version"] },
  "runtime-endpoint": { covered: "test/apply/dsr-pod.test.ts", marker: "--runtime-endpoint", argv: ["--runtime-endpoint=unix:///run/containerd/containerd.sock"] },
};

/** Default-on switches of unbuilt features given `=false`: honoured as is (we never do what they turn off). */
const MOOT: Readonly<Record<string, string>> = {
  "disable-source-dest-check": "--disable-source-dest-check=false",
};

/** A non-default value for each refused flag (with what its validation or gate needs). */
const REFUSED: Readonly<Record<string, readonly string[]>> = {
  "enable-pprof": ["--enable-pprof"],
  "use-nftables-for-netpol": ["--use-nftables-for-netpol"],
  "disable-source-dest-check": ["--disable-source-dest-check=true"],
};

test("every upstream flag has a case here: works (with its evidence) or refused", () => {
  const covered = new Set([...Object.keys(WORKS), ...Object.keys(REFUSED)]);
  assert.deepEqual([...covered].sort(), Object.keys(UPSTREAM_DEFAULTS).sort());
  // And the refused cases are exactly the flags declared unbuilt; the works cases the others
  for (const f of Object.keys(UPSTREAM_DEFAULTS)) assert.equal(FLAG_STATUS[f]?.status === "unbuilt", f in REFUSED, f);
  // And the only non-refused values of unbuilt flags are the declared moot ones
  for (const [f, arg] of Object.entries(MOOT)) assert.deepEqual(refusals(cfg([arg])), [], f);
});

for (const [flag, e] of Object.entries(WORKS)) {
  test(`--${flag} works: a non-default value changes what the agent does`, async () => {
    if ("plan" in e) {
      // Given the example cluster on a fresh node / When planned with and without the value / Then the plans differ
      const [withIt, without] = [await planText(e.plan), await planText(e.baseline ?? [])];
      assert.notEqual(withIt, without);
    } else if ("driver" in e) {
      // Then the IPVS driver is built with different options
      const opts = (argv: readonly string[]) => ipvsDriverOptions(cfg([...(e.context ?? []), ...argv]));
      assert.notDeepEqual(opts(e.driver), opts([]));
    } else if ("lanes" in e) {
      // Then a lane's full-sync period differs
      const period = (argv: readonly string[]) => laneSpecs(cfg(argv)).lanes.map((l) => `${l.name}=${l.periodMs}`).join(",");
      assert.notEqual(period(e.lanes), period(e.baseline ?? []));
    } else {
      // Then it parses, is not refused, and the test that checks its runtime effect exists and uses it
      assert.deepEqual(refusals(cfg(e.argv)), []);
      assert.ok(existsSync(e.covered), e.covered);
      assert.ok(readFileSync(e.covered, "utf8").includes(e.marker), `${e.covered} does not mention ${e.marker}`);
    }
  });
}

test("every refused flag: the one-shot CLI exits 1 with one line naming it", async () => {
  for (const [flag, argv] of Object.entries(REFUSED)) {
    let err = "";
    const code = await run(["--snapshot", EXAMPLE, "--hostname-override", "node1", "--once", "--dry-run", ...argv], {}, { out: () => undefined, err: (s) => { err += s; } });
    assert.equal(code, 1, flag);
    assert.equal(err.split("\n").filter((l) => l !== "").length, 1, `${flag}: ${err}`);
    assert.match(err, new RegExp(`--${flag}=[^:]*: `), flag);
  }
});
