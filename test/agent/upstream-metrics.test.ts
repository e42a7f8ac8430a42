/**
 * Upstream's metric names over real HTTP (features §6.3): every non-BGP name is served with
 * upstream's type and labels; the per-Service IPVS metrics come from one ipvsadm read per
 * scrape, mapped to Services through the proxy's render; the per-tool timings count the
 * tools the sync ran; the BGP names read the node's gobgpd (here the in-memory fake) and the
 * applied plans.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Exec } from "../../src/apply/exec.ts";
import { upstreamMetrics } from "../../src/agent/runtime/upstream-metrics.ts";
import { FLAG_STATUS } from "../../src/agent/flag-status.ts";
import { phasesOf } from "../../src/agent/runtime/tool-timings.ts";
import type { EndpointSliceInfo, ServiceInfo } from "../../src/model/cluster.ts";
import { baseConfig, freePort, snapshotOf, startAgent, until } from "../support/agent-harness.ts";
import { MemorySource } from "../support/memory-source.ts";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ipvsadm/${name}`, import.meta.url), "utf8");

/** Upstream's names (features §6.3) with their types; BGP's are pending. */
const UPSTREAM: Readonly<Record<string, "counter" | "gauge" | "histogram">> = {
  build_info: "gauge",
  controller_routes_sync_time: "histogram",
  host_routes_sync_time: "histogram", host_routes_synced: "gauge", host_routes_added: "counter", host_routes_removed: "counter",
  controller_iptables_sync_time: "histogram",
  controller_iptables_v4_save_time: "histogram", controller_iptables_v6_save_time: "histogram",
  controller_iptables_v4_restore_time: "histogram", controller_iptables_v6_restore_time: "histogram",
  controller_policy_chains_sync_time: "histogram",
  controller_policy_ipset_v4_restore_time: "histogram", controller_policy_ipset_v6_restore_time: "histogram",
  controller_policy_chains: "gauge", controller_policy_ipsets: "gauge",
  controller_ipvs_services_sync_time: "histogram", controller_ipvs_services: "gauge", controller_ipvs_metrics_export_time: "histogram",
  service_total_connections: "counter", service_packets_in: "counter", service_packets_out: "counter", service_bytes_in: "counter", service_bytes_out: "counter",
  service_pps_in: "gauge", service_pps_out: "gauge", service_cps: "gauge", service_bps_in: "gauge", service_bps_out: "gauge",
  bgp_peer_info: "gauge", controller_bgp_advertisements_received: "counter", controller_bgp_advertisements_sent: "counter", controller_bgp_internal_peers_sync_time: "histogram",
};

const web: ServiceInfo = {
  namespace: "default", name: "web", labels: {}, annotations: {}, type: "NodePort", clusterIPs: ["10.96.0.10"], externalIPs: [],
  loadBalancerIngress: [], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }], sessionAffinity: "None",
  externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
};
const webSlice: EndpointSliceInfo = {
  namespace: "default", name: "web-1", serviceName: "web", addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: [{ addresses: ["10.244.1.5"], ready: true, serving: true, terminating: false, nodeName: "node1" }],
};

/** Answers the two stats listings from the fixtures (the fake kernel has no counters), counting them. */
function withStats(inner: Exec, counter: { reads: number }): Exec {
  return {
    run(cmd, args, o) {
      if (cmd === "ipvsadm" && args.includes("--stats")) { counter.reads++; return Promise.resolve({ code: 0, stdout: fixture("stats-exact.txt"), stderr: "" }); }
      if (cmd === "ipvsadm" && args.includes("--rate")) { counter.reads++; return Promise.resolve({ code: 0, stdout: fixture("rate-exact.txt"), stderr: "" }); }
      return inner.run(cmd, args, o);
    },
  };
}

test("upstream metrics over HTTP: every name with its type and labels; per-Service stats from one read per scrape; BGP peers from gobgpd", async () => {
  // Given an agent with the proxy, firewall and router, a NodePort Service web, metrics on, and the upstream wiring cli-agent.ts uses
  const mp = await freePort();
  const source = new MemorySource(snapshotOf(1, 2));
  source.put("services", "default/web", web);
  source.put("endpointSlices", "default/web-1", webSlice);
  const config = { runServiceProxy: true, runFirewall: true, metricsPort: mp, metricsAddr: "127.0.0.1" };
  const counter = { reads: 0 };
  const um = upstreamMetrics({ config: { ...baseConfig, ...config }, nodeName: "node1", snapshot: () => source.snapshot() });
  const h = await startAgent({
    source, config,
    wrapExec: (e) => um.wrapExec(withStats(e, counter)),
    onSynced: (outcome) => um.sawSync(outcome),
    onStart: (handle, drivers) => um.register(handle.metrics.registry, drivers),
  });
  try {
    await until(() => h.handle.health().ok, 3000, "healthy");
    // When /metrics is scraped
    const body = await (await fetch(`http://127.0.0.1:${mp}/metrics`)).text();
    // Then every upstream name is there with upstream's type
    for (const [name, type] of Object.entries(UPSTREAM)) assert.match(body, new RegExp(`^# TYPE kube_router_${name} ${type}$`, "m"), name);
    assert.equal(Object.keys(UPSTREAM).length, 33);
    // And the BGP peer (node2) is reported from gobgpd, with session state and prefix counts; the pod route was advertised
    assert.match(body, /^kube_router_bgp_peer_info\{address="10\.250\.0\.12",type="internal",asn="64512",state="active"\} 1$/m);
    assert.match(body, /^kube_router_bgp_peer_session_state\{address="10\.250\.0\.12"\} 3$/m);
    assert.match(body, /^# TYPE kube_router_bgp_peer_prefixes_sent gauge$/m);
    assert.match(body, /^kube_router_controller_bgp_advertisements_sent\{type="pod-route"\} 1$/m);
    // And web's ClusterIP and NodePort services carry upstream's labels and the kernel's numbers
    const cluster = 'svc_namespace="default",service_name="web",service_vip="10.96.0.10",protocol="tcp",port="80"';
    const nodePort = 'svc_namespace="default",service_name="web",service_vip="10.250.0.11",protocol="tcp",port="80"';
    assert.match(body, new RegExp(`^kube_router_service_total_connections\\{${cluster}\\} 12$`, "m"));
    assert.match(body, new RegExp(`^kube_router_service_bytes_out\\{${cluster}\\} 1234567890123$`, "m"));
    assert.match(body, new RegExp(`^kube_router_service_bps_out\\{${cluster}\\} 95000$`, "m"));
    assert.match(body, new RegExp(`^kube_router_service_packets_in\\{${nodePort}\\} 40$`, "m"));
    assert.match(body, new RegExp(`^kube_router_service_cps\\{${cluster}\\} 2$`, "m"));
    // And kernel services that are not a Service's (foreign, other ports, DSR marks) are not reported
    assert.equal(body.split("\n").filter((l) => l.startsWith("kube_router_service_total_connections{")).length, 2);
    // And one scrape read the kernel once: two ipvsadm processes for ten metrics
    assert.equal(counter.reads, 2);
    assert.match(body, /^kube_router_controller_ipvs_metrics_export_time_count 1$/m);
    // And the sync's own tools were timed: iptables saves and restores, ipset restores, route batches
    for (const name of ["controller_iptables_v4_save_time", "controller_iptables_v4_restore_time", "controller_policy_ipset_v4_restore_time", "controller_routes_sync_time", "controller_policy_chains_sync_time"]) {
      assert.match(body, new RegExp(`^kube_router_${name}_count [1-9]\\d*$`, "m"), name);
    }
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("per-tool phases: which calls count in which upstream histogram", () => {
  const call = (cmd: string, args: string[], stdin?: string) => phasesOf({ cmd, args, write: false, ...(stdin !== undefined ? { stdin } : {}) });
  assert.deepEqual(call("iptables-nft-save", []), ["iptables_v4_save"]);
  assert.deepEqual(call("ip6tables-legacy-restore", ["--noflush"]), ["iptables_v6_restore"]);
  assert.deepEqual(call("iptables-restore", ["--noflush", "--wait"]), ["iptables_v4_restore"]);
  assert.deepEqual(call("ipset", ["restore", "-exist"], "create kube-router-svip hash:ip family inet\nadd kube-router-svip 10.96.0.10\n"), ["policy_ipset_v4_restore"]);
  assert.deepEqual(call("ipset", ["restore", "-exist"], "add inet6:kube-router-svip fd00::10\nadd KUBE-SRC-ABC 10.0.0.1\n"), ["policy_ipset_v4_restore", "policy_ipset_v6_restore"]);
  assert.deepEqual(call("ip", ["-force", "-batch", "-"], "route replace 10.244.2.0/24 via 10.250.0.12 proto 17 table main\n"), ["routes_sync"]);
  assert.deepEqual(call("ip", ["-force", "-batch", "-"], "link add kube-bridge type bridge\n"), []);
  assert.deepEqual(call("ipset", ["save"]), []);
  assert.deepEqual(call("ipvsadm", ["-Ln", "--stats", "--exact"]), []);
});

test("upstream metrics: 33/33 names accounted for, BGP's four included (issue 10 landed)", () => {
  // Given upstream's 33 names / Then every one is in the served table checked over HTTP above
  assert.equal(new Set(Object.keys(UPSTREAM)).size, 33);
  for (const name of ["bgp_peer_info", "controller_bgp_advertisements_received", "controller_bgp_advertisements_sent", "controller_bgp_internal_peers_sync_time"]) assert.ok(name in UPSTREAM, name);
  // And the BGP flags work: none is in the refusal table
  for (const flag of ["peer-router-ips", "peer-router-asns", "enable-ibgp", "bgp-port", "advertise-cluster-ip", "bgp-graceful-restart"]) assert.equal(FLAG_STATUS[flag]?.status, "works", `--${flag}`);
});
