/**
 * NetworkPolicy conformance with real packets (issue 3): three netns nodes, nine netns pods
 * (namespaces x, y, z × pods a, b, c; see topology.ts), every pod serving TCP and UDP on 80
 * and 81. Each case of cases.ts replaces the snapshot, runs
 * `kube-router --snapshot FILE --once --run-router=false --run-service-proxy=false` in every
 * node, then probes the full 9×9 matrix on tcp/80, tcp/81, udp/80 and udp/81 against the
 * case's hand-written expectation. After every sync: foreign iptables rules and ipsets survive
 * and `--dry-run --once` plans nothing (exit 0; one node per case, in turn). At the end
 * `--cleanup-config` removes all of ours and nothing else.
 *
 * Knobs (development only): KRT_NP_CLI=path/to/main.js runs another build of the CLI;
 * KRT_NP_ONLY=<regex> runs only the matching cases (the others are skipped);
 * KRT_NP_DUMP=<dir> writes iptables-save/ipset save of every node for each failing case.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelSkip } from "../../support/netns.ts";
import { CLI } from "../../support/cli.ts";
import { CASES, type Case } from "./cases.ts";
import { compare, formatDiff, reach } from "./reachability.ts";
import { policiesYaml, snapshotJson } from "./snapshot.ts";
import { NODES, Topology, nodeName, nsRun, podIp, type NodeNum } from "./topology.ts";

const cli = process.env["KRT_NP_CLI"] || CLI;
const only = process.env["KRT_NP_ONLY"] ? new RegExp(process.env["KRT_NP_ONLY"]) : undefined;
const dumpDir = process.env["KRT_NP_DUMP"];

let topo: Topology | undefined;
let dir = "";
/** Set by the first sync: false when this CLI build has no firewall renderer yet. */
let firewallBuilt: boolean | undefined;
/** How many case snapshots were synced (cleanup is only meaningful after one). */
let syncs = 0;

interface Run { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Runs the CLI inside node N's netns; never throws. */
function kr(n: NodeNum, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn("ip", ["netns", "exec", topo!.nodeNs(n), process.execPath, cli, ...args], {
      env: { ...process.env, KUBE_ROUTER_CNI_CONF_FILE: join(dir, `cni${n}`, "10-kuberouter.conflist") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { if (p.pid !== undefined) process.kill(p.pid, "SIGKILL"); }, 30_000);
    p.on("close", (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

const syncArgs = (n: NodeNum, snapshot: string) => [
  "--snapshot", snapshot, "--once", "--run-router=false", "--run-service-proxy=false",
  `--hostname-override=${nodeName(n)}`, "--state-dir", join(dir, `state${n}`),
];

/** Writes the case's snapshot over the previous one and syncs every node at once. */
async function apply(c: Pick<Case, "policies" | "nsLabels" | "podLabels">): Promise<Run[]> {
  const snapshot = join(dir, "snapshot.json");
  writeFileSync(snapshot, snapshotJson(c));
  const runs = await Promise.all(NODES.map((n) => kr(n, syncArgs(n, snapshot))));
  syncs++;
  firewallBuilt ??= !runs.some((r) => /firewall controller is enabled but not built/.test(r.stderr));
  return runs;
}

const FOREIGN_SET = "foreign-np-set";
/** Another tool's chain, a rule in FORWARD above where we insert (position 1) and an ipset. */
function addForeign(n: NodeNum): void {
  nsRun(topo!.nodeNs(n), `
iptables -N FOREIGN-NP
iptables -A FOREIGN-NP -s 192.0.2.1/32 -j RETURN
iptables -I FORWARD 1 -s 192.0.2.0/24 -j FOREIGN-NP
ipset create ${FOREIGN_SET} hash:ip
ipset add ${FOREIGN_SET} 192.0.2.7`);
}
function foreignProblems(n: NodeNum): string[] {
  const out = nsRun(topo!.nodeNs(n), `iptables -S FORWARD; iptables -S FOREIGN-NP; ipset list ${FOREIGN_SET}`);
  const problems: string[] = [];
  if (!out.includes("-A FORWARD -s 192.0.2.0/24 -j FOREIGN-NP")) problems.push(`${nodeName(n)}: foreign FORWARD rule gone`);
  if (!out.includes("-A FOREIGN-NP -s 192.0.2.1/32 -j RETURN")) problems.push(`${nodeName(n)}: foreign chain rule gone`);
  if (!out.includes("192.0.2.7")) problems.push(`${nodeName(n)}: foreign ipset member gone`);
  return problems;
}

function dump(label: string): void {
  if (!dumpDir || !topo) return;
  mkdirSync(dumpDir, { recursive: true });
  for (const n of NODES) {
    const text = nsRun(topo.nodeNs(n), "iptables-save; echo; ipset save");
    writeFileSync(join(dumpDir, `${label.replace(/[^\w.-]+/g, "_")}.${nodeName(n)}.txt`), text);
  }
}

before(async () => {
  if (kernelSkip) return;
  if (!existsSync(cli)) throw new Error(`${cli} missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), "krt-np-"));
  topo = new Topology();
  await topo.build();
  for (const n of NODES) addForeign(n);
});

after(() => {
  topo?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("netpol harness: every pod reaches every pod; a hand-written REJECT and DROP are seen as blocked", { skip: kernelSkip }, async () => {
  // Given the bare topology (no kube-router yet)
  // Then the full matrix is reachable
  const open = await topo!.probeAll();
  const none = compare(reach(true), open);
  assert.deepEqual(none, [], formatDiff(reach(true), open, none));
  // When node-2 rejects tcp/81 to x/b and udp/80 to y/a, and drops tcp/80 from z/c
  const rules = [
    `-d ${podIp("x/b")}/32 -p tcp --dport 81 -j REJECT`,
    `-d ${podIp("y/a")}/32 -p udp --dport 80 -j REJECT`,
    `-s ${podIp("z/c")}/32 -p tcp --dport 80 -j DROP`,
  ];
  nsRun(topo!.nodeNs(2), rules.map((r) => `iptables -I FORWARD 1 ${r}`).join("\n"));
  try {
    const seen = await topo!.probeAll();
    // Then exactly those probes fail (same-node and cross-node), REJECTs fast, DROPs after a retry
    const want = reach(true).deny("*", "x/b", ["tcp/81"]).deny("*", "y/a", ["udp/80"]).deny("z/c", "*", ["tcp/80"]);
    const wrong = compare(want, seen);
    assert.deepEqual(wrong, [], formatDiff(want, seen, wrong));
    const rejected = seen["tcp/81"]["x/a"]["x/b"];
    assert.equal(rejected.how, "ECONNREFUSED");
    assert.equal(rejected.tries, 1);
    assert.equal(seen["udp/80"]["z/a"]["y/a"].how, "ECONNREFUSED", "a REJECTed UDP probe fails with ICMP port unreachable");
    const dropped = seen["tcp/80"]["z/c"]["x/a"];
    assert.deepEqual([dropped.how, dropped.tries], ["timeout", 2]);
  } finally {
    nsRun(topo!.nodeNs(2), rules.map((r) => `iptables -D FORWARD ${r}`).join("\n"));
  }
});

CASES.forEach((c, i) => {
  const label = `netpol ${String(i + 1).padStart(2, "0")}: ${c.name}`;
  test(label, { skip: kernelSkip }, async (t) => {
    if (only && !only.test(label)) return t.skip("not selected by KRT_NP_ONLY");
    if (firewallBuilt === false && c.policies.length > 0) return t.skip("this kube-router build has no firewall renderer yet");
    // Given the case's policies (and labels) replace the previous snapshot
    // When every node syncs once
    const t0 = performance.now();
    const runs = await apply(c);
    const t1 = performance.now();
    const problems: string[] = [];
    runs.forEach((r, k) => { if (r.code !== 0) problems.push(`${nodeName(NODES[k]!)}: sync exited ${r.code}: ${r.stderr.trim()}`); });
    if (firewallBuilt === false && c.policies.length > 0) return t.skip("this kube-router build has no firewall renderer yet");
    // Then the matrix is as the spec says
    const seen = await topo!.probeAll();
    const t2 = performance.now();
    const wrong = compare(c.expect, seen);
    if (wrong.length > 0) problems.push(formatDiff(c.expect, seen, wrong));
    // And every node still reaches its own pods, whatever the policies (spec: always allowed)
    const fromNodes = await topo!.probeLocalPods();
    for (const n of NODES) {
      for (const [id, row] of Object.entries(fromNodes[n])) {
        for (const [probe, r] of Object.entries(row)) if (!r.ok) problems.push(`${nodeName(n)} -> its pod ${id} ${probe}: blocked (${r.how}), the local node must always reach its pods`);
      }
    }
    // And foreign rules survived
    for (const n of NODES) problems.push(...foreignProblems(n));
    // And a dry run right after the converged sync plans nothing (one node per case, in turn)
    const dryNode = NODES[i % NODES.length]!;
    const dry = await kr(dryNode, [...syncArgs(dryNode, join(dir, "snapshot.json")), "--dry-run"]);
    if (dry.code !== 0) problems.push(`${nodeName(dryNode)}: --dry-run after the sync exited ${dry.code}:\n${dry.stdout}${dry.stderr}`);
    const ms = (a: number, b: number) => `${Math.round(b - a)} ms`;
    t.diagnostic(`sync ${ms(t0, t1)}, probes ${ms(t1, t2)}, checks and dry-run ${ms(t2, performance.now())}`);
    if (problems.length > 0) {
      dump(label);
      const warnings = [...new Set(runs.flatMap((r) => r.stderr.split("\n").filter((l) => l.trim())))];
      assert.fail(`${label}\npolicies:\n${policiesYaml(c.policies)}\n${problems.join("\n")}${warnings.length ? `\nkube-router said:\n${warnings.join("\n")}` : ""}`);
    }
  });
});

test("netpol: our jumps sit above the foreign FORWARD rule", { skip: kernelSkip }, (t) => {
  if (firewallBuilt !== true) return t.skip("this kube-router build has no firewall renderer yet");
  for (const n of NODES) {
    const fwd = nsRun(topo!.nodeNs(n), "iptables -S FORWARD").split("\n").filter((l) => l.startsWith("-A"));
    assert.match(fwd[0] ?? "", /-j KUBE-ROUTER-FORWARD/, `${nodeName(n)} FORWARD:\n${fwd.join("\n")}`);
    assert.ok(fwd.some((l) => l.includes("FOREIGN-NP")), `${nodeName(n)}: foreign rule kept`);
  }
});

test("netpol: --cleanup-config removes every chain and set of ours and leaves the foreign ones", { skip: kernelSkip }, async (t) => {
  if (syncs === 0) return t.skip("no case synced");
  // Given the nodes hold our chains and sets from the last cases
  // When every node cleans up
  const runs = await Promise.all(NODES.map((n) => kr(n, ["--cleanup-config", "--state-dir", join(dir, `state${n}`)])));
  runs.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}: ${r.stdout}${r.stderr}`));
  for (const n of NODES) {
    const save = nsRun(topo!.nodeNs(n), "iptables-save");
    const sets = nsRun(topo!.nodeNs(n), "ipset list -n").trim().split("\n").filter(Boolean);
    // Then nothing of ours is left
    assert.doesNotMatch(save, /KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-|KUBE-SRC-|KUBE-DST-|kube-router netpol/, `${nodeName(n)}:\n${save}`);
    assert.deepEqual(sets, [FOREIGN_SET], `${nodeName(n)} ipsets`);
    // And the foreign chain, FORWARD rule and set are still there
    assert.deepEqual(foreignProblems(n), []);
  }
  // And a second cleanup has nothing left to do
  const again = await Promise.all(NODES.map((n) => kr(n, ["--cleanup-config", "--dry-run", "--state-dir", join(dir, `state${n}`)])));
  again.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}: ${r.stdout}${r.stderr}`));
});
