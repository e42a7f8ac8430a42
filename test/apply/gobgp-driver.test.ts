/**
 * The gobgp driver (src/apply/gobgp/driver.ts): first over the in-memory fake (no root), then
 * against a real gobgpd v4.8 in a network namespace.
 *
 * Properties: applying a rendered BGP state converges (re-observe ⇒ empty plan); a no-op sync
 * makes no mutating gRPC call; a changed peer is updated in place (UpdatePeer, never
 * delete+add); a gobgpd restart asks for a full sync (wantsFullSync + a notice) and the next
 * sync replays everything; a missing gobgpd fails only observe, with its reason; a dry-run
 * without gobgpd plans everything to create. Also the CLI wiring: `--gobgp-admin-port` and
 * `--gobgp-admin-address` (opt-in admin API), `--peer-router-passwords-file` (read by the driver
 * as a host fact, for render).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gobgpDriverFor, gobgpDriverOptionsFor } from "../../src/agent/drivers.ts";
import { type EngineDeps, syncNode } from "../../src/agent/engine.ts";
import { parseFlags } from "../../src/agent/flags.ts";
import type { SyncNotice } from "../../src/apply/driver.ts";
import { gobgpDriver } from "../../src/apply/gobgp/driver.ts";
import { FakeGobgpBackend } from "../../src/apply/gobgp/fake.ts";
import { buildPath } from "../../src/apply/gobgp/paths.ts";
import type { NodeConfig } from "../../src/model/config.ts";
import type { HostFacts } from "../../src/model/host.ts";
import { isEmptyPlan, planSummary } from "../../src/model/plan.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { addNs, delNs, gobgpBinDir, gobgpSkip, linkNs, rmDir, tempDir, waitFor } from "../support/gobgp.ts";

const CLUSTER = `apiVersion: v1
kind: Node
metadata:
  name: node1
  annotations:
    kube-router.io/node.bgp.communities: "64512:100"
    kube-router.io/path-prepend.as: "65100"
    kube-router.io/path-prepend.repeat-n: "2"
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.99.81.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.99.81.2}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: ClusterIP, clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20], ports: [{port: 80, targetPort: 8080, protocol: TCP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.10]
  conditions: {ready: true}
  nodeName: node1
`;
const snapshot = parseSnapshotText(CLUSTER, "c.yaml").snapshot;
const host: HostFacts = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.99.81.1/24"] }], cniConf: { path: "/nonexistent" } };

function cfg(...argv: string[]): NodeConfig {
  const r = parseFlags(["--hostname-override", "node1", "--run-firewall=false", "--run-service-proxy=false", ...argv], {});
  if ("error" in r) assert.fail(r.error);
  return r.config;
}
const BASE = ["--advertise-cluster-ip", "--peer-router-ips=10.99.81.9", "--peer-router-asns=65009", "--peer-router-passwords=c2VjcmV0"];

function depsWith(driver: ReturnType<typeof gobgpDriver>): EngineDeps {
  return { exec: { run: async () => assert.fail("no process is run") }, drivers: [driver], readHost: async () => host };
}
const sync = (deps: EngineDeps, config: NodeConfig, mode: "apply" | "plan" = "apply", s = snapshot) =>
  syncNode(deps, { mode, config, nodeName: "node1", snapshot: s, controllers: ["bgp"], verify: mode === "apply" });

// ---------------------------------------------------------------------------------------------
// over the fake

test("fake: a rendered BGP state applies in one script, converges, and a no-op sync makes no mutating call", async () => {
  // Given a fresh in-memory gobgpd
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  const deps = depsWith(driver);
  const config = cfg(...BASE);
  // When the node syncs
  const first = await sync(deps, config);
  // Then one gobgp script ran, in gobgp syntax, and the verify pass found nothing left
  assert.deepEqual(first.errors.map(String), []);
  assert.deepEqual(first.scripts.map((s) => s.title), ["gobgp (gRPC)"]);
  const text = first.scripts[0]!.text;
  assert.match(text, /^gobgp global as 64512 router-id 10\.99\.81\.1 /);
  assert.match(text, /gobgp neighbor add 10\.99\.81\.9 as 65009 .*password <set>/);
  assert.doesNotMatch(text, /secret|c2VjcmV0/);
  assert.match(text, /gobgp global rib add 10\.96\.0\.20\/32 nexthop 10\.99\.81\.1 -a ipv4/);
  assert.ok(text.indexOf("gobgp policy prefix") < text.indexOf("gobgp policy add") && text.indexOf("gobgp global rib add") < text.indexOf("gobgp neighbor add"), "sets, policies, paths, then peers");
  // And GoBGP got one AddPathStream for all paths, StartBgp once
  const c1 = backend.api.callCounts();
  assert.equal(c1.byRpc["StartBgp"], 1);
  assert.equal(c1.byRpc["AddPathStream"], 1);
  // When it syncs again with nothing changed
  const again = await sync(deps, config);
  // Then the plan is empty and no mutating call was made
  assert.ok(isEmptyPlan(again.plan), planSummary(again.plan));
  assert.equal(backend.api.callCounts().mutating, c1.mutating);
});

test("fake: a changed peer is updated in place, a removed node's peer is deleted, a withdrawn VIP leaves in one stream", async () => {
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  const deps = depsWith(driver);
  await sync(deps, cfg(...BASE));
  const before = backend.api.callCounts().byRpc;
  // When the hold time changes, node2 leaves and the cluster IP is no longer advertised
  const only1 = parseSnapshotText(CLUSTER.split("---\n").filter((d) => !d.includes("name: node2")).join("---\n"), "c.yaml").snapshot;
  const out = await sync(deps, cfg("--peer-router-ips=10.99.81.9", "--peer-router-asns=65009", "--peer-router-passwords=c2VjcmV0", "--bgp-holdtime=30s"), "apply", only1);
  // Then the external peer is updated in place, node2's peer deleted, the VIP withdrawn
  assert.deepEqual(out.errors.map(String), []);
  assert.deepEqual(out.plan.bgpPeers.map((c) => `${c.op} ${c.key}`), ["update 10.99.81.9", "delete 10.99.81.2"].sort((a, b) => (a.split(" ")[1]! < b.split(" ")[1]! ? -1 : 1)));
  const after = backend.api.callCounts().byRpc;
  const delta = (rpc: string) => (after[rpc] ?? 0) - (before[rpc] ?? 0);
  assert.equal(delta("UpdatePeer"), 1);
  assert.equal(delta("AddPeer"), 0);
  assert.equal(delta("DeletePeer"), 1);
  assert.equal(delta("AddPathStream"), 1, "the withdrawal is one stream");
  assert.match(out.scripts[0]!.text, /gobgp neighbor update 10\.99\.81\.9 as 65009/);
  assert.match(out.scripts[0]!.text, /gobgp global rib del 10\.96\.0\.20\/32 -a ipv4/);
});

test("fake: gobgpd restarted ⇒ a full-sync notice and wantsFullSync; the next sync replays everything", async () => {
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  const notices: SyncNotice[] = [];
  driver.subscribe?.((n) => notices.push(n));
  await driver.start?.();
  const deps = depsWith(driver);
  const config = cfg(...BASE);
  await sync(deps, config);
  assert.equal(driver.wantsFullSync?.(), undefined);
  // When gobgpd dies and comes back empty
  backend.crash();
  // Then the runtime is told at once, and the driver asks for a full sync
  assert.equal(notices.at(-1)?.full, true);
  assert.match(driver.wantsFullSync?.() ?? "", /gobgpd restarted/);
  // When the next (full) sync runs, everything is created again, StartBgp once more
  const replay = await sync(deps, config);
  assert.deepEqual(replay.errors.map(String), []);
  assert.equal(replay.plan.bgpGlobal[0]?.op, "create");
  assert.ok(replay.plan.bgpPaths.length >= 2 && replay.plan.bgpPeers.length === 2, planSummary(replay.plan));
  assert.equal(backend.api.callCounts().byRpc["StartBgp"], 2);
  assert.equal(driver.wantsFullSync?.(), undefined);
  assert.ok(isEmptyPlan((await sync(deps, config)).plan));
});

test("fake: learned paths become host facts, a best-path event wakes the runtime, and learned routes are rendered", async () => {
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  const notices: SyncNotice[] = [];
  driver.subscribe?.((n) => notices.push(n));
  await driver.start?.();
  const deps = depsWith(driver);
  const config = cfg(...BASE);
  await sync(deps, config);
  // When the external peer sends a prefix (and node2's pod CIDR, which the snapshot routes)
  backend.api.learn(buildPath({ prefix: "192.0.2.0/24", nextHop: "10.99.81.9" }), "10.99.81.9");
  backend.api.learn(buildPath({ prefix: "10.244.2.0/24", nextHop: "10.99.81.2" }), "10.99.81.2");
  // Then the runtime is told (partial), and the next render installs only the foreign prefix
  assert.deepEqual(notices.map((n) => n.full), [false, false]);
  const facts = await driver.hostFacts!();
  assert.deepEqual([...facts.learnedPaths!.values()].map((p) => `${p.prefix} via ${p.nextHop} from ${p.peer}`), ["10.244.2.0/24 via 10.99.81.2 from 10.99.81.2", "192.0.2.0/24 via 10.99.81.9 from 10.99.81.9"]);
  const out = await sync(deps, config, "plan");
  assert.deepEqual([...out.desired.routes.values()].map((r) => `${r.dst} via ${r.via} proto ${r.proto}`), ["192.0.2.0/24 via 10.99.81.9 proto 17"]);
});

test("fake: no gobgpd ⇒ start does not throw, observe rejects with the reason, only BGP's tables are left out", async () => {
  const backend = new FakeGobgpBackend();
  backend.startError = "spawn gobgpd ENOENT";
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  await assert.rejects(driver.observe({ run: async () => assert.fail() }, (await sync(depsWith(driver), cfg(), "plan")).desired), /gobgpd not running: spawn gobgpd ENOENT/);
  const out = await sync(depsWith(driver), cfg(), "apply");
  assert.deepEqual(out.failedDrivers, ["gobgp"]);
  assert.match(out.errors.map(String).join("\n"), /gobgpd not running/);
});

test("plan-only without a gobgpd: observe is empty, so the dry-run plans everything to create", async () => {
  const dir = tempDir("plan");
  try {
    const driver = gobgpDriver({ stateDir: dir, planOnly: true });
    await driver.start?.();
    const out = await sync(depsWith(driver), cfg(...BASE), "plan");
    assert.deepEqual(out.errors.map(String), []);
    assert.equal(out.plan.bgpGlobal[0]?.op, "create");
    assert.ok(out.plan.bgpPeers.every((c) => c.op === "create") && out.plan.bgpPeers.length === 2);
    await driver.stop?.();
  } finally {
    rmDir(dir);
  }
});

test("CLI wiring: --gobgp-admin-port is opt-in (given ⇒ on --gobgp-admin-address, 127.0.0.1 by default); --peer-router-passwords-file is read as a host fact", async () => {
  const dir = tempDir("cli");
  try {
    const argv = (...more: string[]) => cfg("--state-dir", dir, "--dry-run", ...more);
    const live = (...more: string[]) => gobgpDriverOptionsFor({ ...argv(...more), dryRun: false });
    // Given no --gobgp-admin-port: no admin API (only the unix socket in the state dir)
    assert.equal(live().adminPort, 0);
    assert.equal(live().stateDir, dir);
    // Given --gobgp-admin-port: on 127.0.0.1 unless --gobgp-admin-address says otherwise
    assert.deepEqual([live("--gobgp-admin-port=50052").adminPort, live("--gobgp-admin-port=50052").adminAddress], [50052, "127.0.0.1"]);
    assert.equal(live("--gobgp-admin-port=50052", "--gobgp-admin-address=10.0.0.1").adminAddress, "10.0.0.1");
    // And a dry-run never starts gobgpd; --run-router=false and --cleanup-config read nothing
    assert.equal(gobgpDriverOptionsFor(argv()).planOnly, true);
    assert.equal(gobgpDriverOptionsFor(argv("--run-router=false")).inert, true);
    // passwordsFile: the driver reads it before render
    const pw = join(dir, "pw");
    writeFileSync(pw, "c2VjcmV0\n");
    const d = gobgpDriverFor(argv(...BASE.slice(0, 3), `--peer-router-passwords-file=${pw}`));
    const facts = await d.hostFacts!();
    assert.deepEqual(facts.peerRouterPasswordsFile, { path: pw, content: "c2VjcmV0\n" });
    await d.stop?.();
  } finally {
    rmDir(dir);
  }
});

// ---------------------------------------------------------------------------------------------
// against a real gobgpd

test("real gobgpd: apply a rendered state, re-observe ⇒ empty plan, no-op sync ⇒ zero mutating calls; kill -9 ⇒ replayed", { skip: gobgpSkip(), timeout: 120_000 }, async (t) => {
  const ns = addNs("drv");
  const other = addNs("drvp");
  const dir = tempDir("drv");
  const driver = gobgpDriver({ stateDir: dir, netns: ns, planOnly: false, gobgpdPath: join(gobgpBinDir(), "gobgpd"), gracefulRestart: false });
  const notices: SyncNotice[] = [];
  driver.subscribe?.((n) => notices.push(n));
  try {
    linkNs(ns, "10.99.81.1", other, "10.99.81.2");
    await driver.start?.();
    const deps = depsWith(driver);
    const config = cfg(...BASE, "--bgp-graceful-restart");
    // When the rendered state is applied
    const t0 = Date.now();
    const first = await sync(deps, config);
    t.diagnostic(`first apply ${Date.now() - t0} ms: ${planSummary(first.plan)}`);
    assert.deepEqual(first.errors.map(String), [], "applied and verified (re-observe gives an empty plan)");
    // And observed again from scratch, the plan is empty
    const plan = await sync(deps, config, "plan");
    assert.ok(isEmptyPlan(plan.plan), planSummary(plan.plan));
    // When a no-op sync runs, no mutating gRPC call is made
    const before = driver.api.callCounts();
    const noop = await sync(deps, config);
    assert.ok(isEmptyPlan(noop.plan));
    const after = driver.api.callCounts();
    assert.equal(after.mutating, before.mutating, JSON.stringify(after.byRpc));
    t.diagnostic(`no-op sync: ${after.read - before.read} read calls, 0 mutating`);
    // And the gobgp CLI sees our state through the socket
    const rib = execFileSync(join(gobgpBinDir(), "gobgp"), ["--target", `unix://${join(dir, "gobgpd.sock")}`, "global", "rib"], { encoding: "utf8" });
    assert.match(rib, /10\.244\.1\.0\/24/);
    assert.match(rib, /10\.96\.0\.20\/32/);
    // When gobgpd is killed
    const pid = driver.backend?.pid?.();
    assert.ok(pid);
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    // Then the supervisor restarts it and the driver asks for a full sync
    await waitFor("restart notice", () => (notices.some((n) => n.full) ? true : undefined), 10_000, 10);
    assert.match(driver.wantsFullSync?.() ?? "", /gobgpd restarted/);
    const replay = await sync(deps, config);
    const replayedMs = Date.now() - killedAt;
    t.diagnostic(`killed → restarted → replayed in ${replayedMs} ms`);
    assert.deepEqual(replay.errors.map(String), []);
    assert.equal(replay.plan.bgpGlobal[0]?.op, "create");
    assert.ok(replayedMs < 2000, `replay took ${replayedMs} ms`);
    const rib2 = execFileSync(join(gobgpBinDir(), "gobgp"), ["--target", `unix://${join(dir, "gobgpd.sock")}`, "global", "rib"], { encoding: "utf8" });
    assert.match(rib2, /10\.96\.0\.20\/32/, "paths back");
    assert.ok(isEmptyPlan((await sync(deps, config, "plan")).plan));
    // When the external peer's hold time and the node's communities change
    const changed = parseSnapshotText(CLUSTER.replace('"64512:100"', '"64512:200"'), "c.yaml").snapshot;
    const config2 = cfg(...BASE, "--bgp-graceful-restart", "--bgp-holdtime=30s");
    const c0 = driver.api.callCounts().byRpc;
    const upd = await sync(deps, config2, "apply", changed);
    // Then the peer is updated in place and the export policy's statements are replaced, converged
    assert.deepEqual(upd.errors.map(String), []);
    assert.deepEqual(upd.plan.bgpPeers.map((c) => `${c.op} ${c.key}`), ["update 10.99.81.9"]);
    assert.deepEqual(upd.plan.bgpPolicies.map((c) => `${c.op} ${c.key}`), ["update kube_router_export"]);
    const c1 = driver.api.callCounts().byRpc;
    assert.deepEqual([(c1["UpdatePeer"] ?? 0) - (c0["UpdatePeer"] ?? 0), (c1["DeletePeer"] ?? 0) - (c0["DeletePeer"] ?? 0), (c1["AddPeer"] ?? 0) - (c0["AddPeer"] ?? 0)], [1, 0, 0]);
    assert.ok(isEmptyPlan((await sync(deps, config2, "plan", changed)).plan));
    // When the BGP port changes (a global config GoBGP cannot change while running)
    const config3 = cfg(...BASE, "--bgp-graceful-restart", "--bgp-holdtime=30s", "--bgp-port=1179");
    const g0 = Date.now();
    const glob = await sync(deps, config3, "apply", changed);
    // Then gobgpd is replaced and the whole state replayed, converged
    assert.deepEqual(glob.errors.map(String), []);
    t.diagnostic(`global change (new gobgpd + replay) in ${Date.now() - g0} ms`);
    assert.equal((await driver.api.getBgp()).listenPort, 1179);
    assert.ok(isEmptyPlan((await sync(deps, config3, "plan", changed)).plan));
  } finally {
    await driver.stop?.();
    delNs(ns);
    delNs(other);
    rmDir(dir);
  }
});

test("fake: given the best-path event stream open, when host facts are read, then no RIB is listed, and a learned or withdrawn path shows from its event alone", async () => {
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  const deps = depsWith(driver);
  const config = cfg(...BASE);
  await sync(deps, config);
  const listPaths = () => backend.api.callCounts().byRpc["ListPath"] ?? 0;
  await new Promise((r) => setImmediate(r)); // the stream's first (init) message
  const n0 = listPaths();
  const before = (await driver.hostFacts!()).learnedPaths;
  assert.equal(before?.size, 0);
  // When a peer sends a path
  const p = buildPath({ prefix: "192.0.2.0/24", nextHop: "10.99.81.9" });
  backend.api.learn(p, "10.99.81.9");
  // Then the next read sees it without listing the RIB
  const facts = await driver.hostFacts!();
  assert.deepEqual([...facts.learnedPaths!.values()].map((x) => x.prefix), ["192.0.2.0/24"]);
  // When the peer withdraws it, then it is gone, still without a ListPath
  backend.api.unlearn(p, "10.99.81.9");
  assert.deepEqual([...(await driver.hostFacts!()).learnedPaths!.values()], []);
  assert.equal(listPaths(), n0);
});

test("fake: given paths learned before the stream opened, when it opens (init), then the learned table holds them, and an unchanged table is the same object (its chunks keep their identity)", async () => {
  const backend = new FakeGobgpBackend();
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  const deps = depsWith(driver);
  const config = cfg(...BASE);
  await sync(deps, config);
  backend.api.learn(buildPath({ prefix: "198.51.100.0/24", nextHop: "10.99.81.9" }), "10.99.81.9");
  // a second driver on the same (started) gobgpd opens its stream now
  const late = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await late.start?.();
  await new Promise((r) => setImmediate(r));
  const a = (await late.hostFacts!()).learnedPaths;
  const b = (await late.hostFacts!()).learnedPaths;
  assert.deepEqual([...a!.keys()], ["198.51.100.0/24"]);
  assert.equal(a, b);
});

test("stop: gobgpd is stopped with SIGTERM (Cease to peers) without graceful restart, killed with it (peers keep our routes as stale)", async () => {
  for (const gracefulRestart of [false, true]) {
    const backend = new FakeGobgpBackend();
    const kills: boolean[] = [];
    const stop = backend.stop.bind(backend);
    backend.stop = async (kill: boolean) => { kills.push(kill); await stop(kill); };
    const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend, gracefulRestart });
    await driver.start?.();
    await driver.stop?.();
    assert.deepEqual(kills, [gracefulRestart]);
    assert.equal(backend.running, false);
  }
});

test("fake: a changed global config (--bgp-port) restarts gobgpd and replays the whole state, then converges", async () => {
  const backend = new FakeGobgpBackend();
  let restarts = 0;
  const restart = backend.restart.bind(backend);
  backend.restart = async () => { restarts++; await restart(); };
  const driver = gobgpDriver({ stateDir: "/run/x", planOnly: false, backend });
  await driver.start?.();
  const deps = depsWith(driver);
  await sync(deps, cfg(...BASE));
  // When the BGP port changes
  const out = await sync(deps, cfg(...BASE, "--bgp-port=1179"));
  // Then the plan says so in gobgp syntax, gobgpd was replaced once, everything is back and converged
  assert.deepEqual(out.errors.map(String), []);
  assert.deepEqual(out.plan.bgpGlobal.map((c) => c.op), ["update"]);
  assert.match(out.scripts[0]!.text, /^gobgp global del all\ngobgp global as 64512 router-id 10\.99\.81\.1 listen-port 1179/);
  assert.equal(restarts, 1);
  assert.equal((await backend.api.listPeer()).length, 2);
  assert.ok(isEmptyPlan((await sync(deps, cfg(...BASE, "--bgp-port=1179"), "plan")).plan));
});
