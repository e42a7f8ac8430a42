/**
 * No silent flags: every upstream flag is declared as working or refused-when-asked, the
 * one-shot CLI refuses with one line naming the flag (exit 1), and the long-running agent
 * logs the line once at error level, reports the owning controller unhealthy in /healthz and
 * keeps the other controllers syncing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "../../src/agent/cli.ts";
import { FLAG_STATUS, refusals } from "../../src/agent/flag-status.ts";
import { parseFlags } from "../../src/agent/flags.ts";
import { evaluateHealth } from "../../src/agent/runtime/health.ts";
import { announceRefusals } from "../../src/agent/runtime/cli-agent.ts";
import { laneSpecs } from "../../src/agent/runtime/lanes.ts";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import { decide, newSchedule } from "../../src/agent/runtime/schedule.ts";
import type { NodeConfig } from "../../src/model/config.ts";
import { freePort, startAgent, until } from "../support/agent-harness.ts";
import { UPSTREAM_DEFAULTS } from "../support/upstream-flags.ts";

function cfg(...argv: string[]): NodeConfig {
  const r = parseFlags(argv, {});
  if ("error" in r) assert.fail(r.error);
  return r.config;
}
const lines = (...argv: string[]) => refusals(cfg(...argv)).map((r) => r.line);

async function cli(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = "";
  let out = "";
  const code = await run(argv, {}, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, err, out };
}

test("every upstream flag has exactly one status declaration, and ours have none", () => {
  // Given upstream's flag list / Then each is declared, and nothing else is
  assert.deepEqual(Object.keys(FLAG_STATUS).sort(), Object.keys(UPSTREAM_DEFAULTS).sort());
});

test("upstream's defaults are never refused: an operator who passes nothing is not told off", () => {
  assert.deepEqual(lines(), []);
  // And the default-on switches of unbuilt features, not given, are not refused either
  assert.deepEqual(lines("--run-router", "--run-firewall", "--run-service-proxy"), []);
});

test("a default-on switch of an unbuilt feature is refused only when given as true", () => {
  // Given --disable-source-dest-check (upstream default true)
  // When given explicitly as true / Then refused with one line naming it and what is missing
  assert.deepEqual(lines("--disable-source-dest-check=true"), [
    "--disable-source-dest-check=true: disabling the AWS EC2 source/destination check is not built; disable it in AWS (router controller)",
  ]);
  assert.equal(lines("--disable-source-dest-check").length, 1);
  // When given as false / Then honoured
  assert.deepEqual(lines("--disable-source-dest-check=false"), []);
  // Same rule for the other default-on switches
  for (const f of ["disable-source-dest-check"]) {
    assert.equal(lines(`--${f}=true`).length, 1, f);
    assert.deepEqual(lines(`--${f}=false`), [], f);
  }
  // And the BGP ones work now (issue 10), whichever way they are given
  for (const f of ["enable-ibgp", "advertise-pod-cidr"]) assert.deepEqual([...lines(`--${f}=true`), ...lines(`--${f}=false`)], [], f);
});

test("a switch of an unbuilt feature is refused only when set, and only while its controller is on; built features' settings never are", () => {
  // Given --use-nftables-for-netpol (off by default, unbuilt) / Then refused when set to true with the firewall on
  assert.deepEqual(lines("--use-nftables-for-netpol").map((l) => l.split(":")[0]), ["--use-nftables-for-netpol=true"]);
  // And an explicit default value asks for nothing, nor does the flag with its controller off (upstream ignores it too)
  assert.deepEqual(lines("--use-nftables-for-netpol=false"), []);
  assert.deepEqual(lines("--run-firewall=false", "--use-nftables-for-netpol"), []);
  // And the overlay (issue 11), BGP (issue 10) and the allocator (issue 13) are built: none of their flags is refused
  assert.deepEqual(lines("--enable-overlay=true", "--overlay-type=full", "--overlay-encap=fou", "--overlay-encap-port=6000"), []);
  assert.deepEqual(lines("--overlay-encap=vxlan", "--overlay-vni=42"), []);
  assert.deepEqual(lines("--peer-router-ips=10.0.0.1", "--peer-router-asns=65000", "--bgp-port=1179", "--bgp-holdtime=30s", "--nodes-full-mesh=false", "--bgp-graceful-restart-time=30s", "--enable-bfd", "--bfd-port=3785"), []);
  assert.deepEqual(lines("--run-loadbalancer", "--loadbalancer-sync-period=7s", "--loadbalancer-default-class=false"), []);
});

test("refusals never print a secret and name the owner", () => {
  const r = refusals(cfg("--peer-router-ips=10.0.0.1", "--peer-router-asns=65000", "--peer-router-passwords=c2VjcmV0", "--disable-source-dest-check=true"));
  assert.deepEqual(r.map((x) => [x.flag, x.owner]), [["disable-source-dest-check", "router"]]);
  assert.doesNotMatch(r.map((x) => x.line).join("\n"), /c2VjcmV0/);
  assert.deepEqual(refusals(cfg("--run-loadbalancer")), [], "the allocator is built (issue 13)");
  assert.deepEqual(refusals(cfg("--enable-pprof")).map((x) => x.owner), ["agent"]);
  assert.deepEqual(refusals(cfg("--use-nftables-for-netpol")).map((x) => x.owner), ["firewall"]);
  assert.deepEqual(refusals(cfg("--run-firewall=false", "--use-nftables-for-netpol")), []);
});

test("one-shot CLI: the issue's command exits 1 with one line naming every refused flag, before touching anything", async () => {
  // Given the command from issue 14 (a dry-run that used to print a plan and exit 2)
  const r = await cli(["--snapshot", "deploy/example/cluster.yaml", "--hostname-override", "node1", "--disable-source-dest-check=true", "--run-loadbalancer=true", "--peer-router-ips=10.0.0.1", "--peer-router-asns=65000", "--once", "--dry-run"]);
  // Then exit 1, nothing on stdout, one line on stderr naming each flag
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.equal(r.err.split("\n").filter((l) => l !== "").length, 1);
  for (const f of ["--disable-source-dest-check=true"]) assert.ok(r.err.includes(f), f);
  // (BGP and the allocator work now: their flags are not refused)
  assert.ok(!r.err.includes("--peer-router-ips"), r.err);
  assert.ok(!r.err.includes("--run-loadbalancer"), r.err);
  // And --cleanup-config is refused the same way
  const c = await cli(["--cleanup-config", "--enable-pprof"]);
  assert.deepEqual([c.code, c.err], [1, "kube-router: --enable-pprof=true: the pprof debug server is not built (Node has no pprof; use node --inspect or --heap-prof) (agent process)\n"]);
  // And --help still works whatever else is given
  assert.equal((await cli(["--help", "--enable-pprof"])).code, 0);
});

test("lanes: a refused controller gets a parked lane that never syncs and is unhealthy with the line", () => {
  // Given the router asked for the AWS source/dest check (BGP with BFD and the overlay are fine), and the firewall on
  const { lanes, refused } = laneSpecs(cfg("--enable-bfd", "--enable-overlay=true", "--disable-source-dest-check=true", "--run-service-proxy=false"));
  const s = newSchedule(lanes);
  // When the scheduler decides / Then the firewall and the bgp controller run, not the parked router
  const d = decide(s, 0);
  assert.equal(d.kind, "run");
  assert.deepEqual(d.kind === "run" ? d.lanes.map((l) => l.spec.name) : [], ["firewall", "bgp", "extender"]);
  // And health names the router's refusal
  const h = evaluateHealth({ now: 0, source: { synced: true, lastEventMs: {} }, lanes: s.lanes, busySince: undefined, graceMs: 5000, hungAfterMs: 60_000, refused });
  assert.deepEqual(h.reasons.filter((r) => r.includes("refused")).sort(), [
    "controller router: refused: --disable-source-dest-check=true: disabling the AWS EC2 source/destination check is not built; disable it in AWS (router controller)",
  ]);
});

test("long-running agent: each refusal is logged once, at error level, with flag and controller keys", () => {
  // Given a config with two refused flags and a memory logger
  const dest = memoryDestination();
  const log = makeLogger({ node: "node1", v: 0, dest });
  // When announced at start / Then two error lines, each the refusal line
  assert.equal(announceRefusals(cfg("--disable-source-dest-check=true", "--enable-pprof"), log), 2);
  const got = dest.lines().map((l) => [l["level"], l["flag"], l["controller"], l["msg"]]);
  assert.deepEqual(got.map((g) => g.slice(1, 3)), [["disable-source-dest-check", "router"], ["enable-pprof", "agent"]]);
  assert.ok(got.every((g) => g[0] === 50 || g[0] === "error"), JSON.stringify(got));
  assert.match(String(got[0]![3]), /^--disable-source-dest-check=true: disabling the AWS/);
});

test("long-running agent: /healthz says the refusal, the refused router never syncs, the firewall does", async () => {
  // Given an agent with the router asked for something unbuilt and the firewall on
  const hp = await freePort();
  const h = await startAgent({ config: { ...cfg("--disable-source-dest-check=true"), hostnameOverride: "node1", runServiceProxy: false, runFirewall: true, healthPort: hp, healthAddr: "127.0.0.1" } });
  try {
    // When the firewall has synced
    await until(() => h.handle.schedule.lanes.find((l) => l.spec.name === "firewall")?.lastSuccessAt !== undefined, 3000, "firewall synced");
    // Then /healthz is 500 naming the router's refusal
    const r = await fetch(`http://127.0.0.1:${hp}/healthz`);
    assert.equal(r.status, 500);
    assert.match(await r.text(), /controller router: refused: --disable-source-dest-check=true: disabling the AWS/);
    // And the router never synced: no route to node2 was installed
    assert.deepEqual(await h.routes(), []);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});
