/**
 * Rule position under a concurrent writer (issue 17), on the real kernel in a network
 * namespace with the built CLI. Policy (kube-router's): our jump first, always. Another tool
 * inserting its rule at position 1 of INPUT/FORWARD/OUTPUT (as Docker, Calico and kube-proxy
 * do) displaces our jumps; a sync puts ours back above it, re-plans and re-applies up to 3 times
 * when the other tool strikes between our apply and our check, and only then reports, naming
 * the foreign rule. The foreign rule is never deleted or moved. The long-running agent counts
 * every re-placement in kube_router_jump_replacements_total{chain} and logs at most once a
 * minute per chain.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scrapeIn, spawnAgent, stopAgent, until } from "../support/agent-process.ts";
import { runCli } from "../support/cli.ts";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";

const CLUSTER = join(import.meta.dirname, "../golden/firewall-ingress/cluster.yaml");
const CHAINS = ["INPUT", "FORWARD", "OUTPUT"] as const;
const FOREIGN = "-m comment --comment foreign-first -j ACCEPT";
const METRICS = 20345;

let dir = "";
let ns = "";
const live = new Set<ChildProcess>();

before(() => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-jump-fight-"));
  ns = addNetns("jf");
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
});

after(() => {
  for (const p of live) p.kill("SIGKILL");
  if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const args = (...extra: string[]) => ["--snapshot", CLUSTER, "--hostname-override", "node1", "--run-router=false", "--run-service-proxy=false", "--iptables-backend=nft", "--state-dir", join(dir, "state"), ...extra];
const env = (extra: Record<string, string> = {}) => ({ KUBE_ROUTER_CNI_CONF_FILE: join(dir, "10-kuberouter.conf"), ...extra });
const once = (extra: Record<string, string> = {}) => runCli(args("--once"), { ns, env: env(extra) });
const rules = (chain: string) => nsSh(ns, `iptables-nft -S ${chain}`).split("\n").filter((l) => l.startsWith("-A "));
const foreignCount = (chain: string) => rules(chain).filter((r) => r.includes("foreign-first")).length;
const ourJumpFirst = (chain: string) => /kube-router netpol/.test(rules(chain)[0] ?? "");
const removeForeign = () => {
  for (const c of CHAINS) while (foreignCount(c) > 0) nsSh(ns, `iptables-nft -D ${c} ${FOREIGN}`);
};

/**
 * Another tool keeping its rule first (Calico's "insert" mode, kube-proxy's resync): every
 * `periodS` it deletes its rule and inserts it again at position 1 of each chain. Touching the
 * stop file ends it after a whole round, so exactly one copy is left in each chain.
 */
function startFighter(periodS: number): { stop: () => Promise<void> } {
  const stopFile = join(dir, "fighter.stop");
  rmSync(stopFile, { force: true });
  const round = CHAINS.map((c) => `iptables-nft -D ${c} ${FOREIGN} 2>/dev/null; iptables-nft -I ${c} 1 ${FOREIGN};`).join(" ");
  const p = spawn("ip", ["netns", "exec", ns, "sh", "-c", `while [ ! -e ${stopFile} ]; do ${round} sleep ${periodS}; done`], { stdio: "ignore" });
  live.add(p);
  const exited = new Promise<void>((r) => p.on("exit", () => { live.delete(p); r(); }));
  return { stop: async () => { writeFileSync(stopFile, ""); await exited; } };
}

/**
 * A shim for `iptables-nft-restore` first on PATH: runs the real tool, then (as another writer
 * striking between our apply and our check, every time) inserts the foreign rule at position 1 of INPUT.
 */
function alwaysAfterUs(): string {
  const bin = join(dir, "shim");
  nsSh(ns, `mkdir -p ${bin}`);
  const shim = join(bin, "iptables-nft-restore");
  writeFileSync(shim, `#!/bin/sh\n/usr/sbin/iptables-nft-restore "$@" || exit $?\niptables-nft -I INPUT 1 ${FOREIGN}\n`);
  chmodSync(shim, 0o755);
  return bin;
}

test("given another tool re-inserting its rule at position 1 of INPUT/FORWARD/OUTPUT every 200 ms, when --once syncs 20 times, then every sync exits 0 with our jumps first and the foreign rule is still there", { skip: kernelSkip }, async () => {
  // Given the other tool fighting for position 1
  const fighter = startFighter(0.2);
  const failures: string[] = [];
  try {
    // When --once syncs 20 times
    for (let i = 0; i < 20; i++) {
      const r = once();
      if (r.code !== 0) failures.push(`run ${i + 1}: exit ${r.code}: ${r.stderr.trim().split("\n").pop()}`);
    }
  } finally {
    await fighter.stop();
  }
  // Then none failed
  assert.deepEqual(failures, [], `${failures.length}/20 one-shot syncs failed`);
  // and the foreign rule was never deleted: one copy in each chain (the tool's own)
  for (const c of CHAINS) assert.equal(foreignCount(c), 1, `${c}: ${rules(c).join(" | ")}`);
  // and one more sync without the fight puts our jumps first, above the foreign rule it keeps
  assert.equal(once().code, 0);
  for (const c of CHAINS) {
    assert.ok(ourJumpFirst(c), `${c}: ${rules(c).join(" | ")}`);
    assert.match(rules(c)[1] ?? "", /foreign-first/);
  }
  removeForeign();
});

test("given another writer that inserts its rule above ours right after every apply, when --once syncs, then it re-applies 3 times, exits 1 naming the foreign rule, and deletes none of it", { skip: kernelSkip }, () => {
  // Given a converged node and a writer striking after every restore
  assert.equal(once().code, 0);
  nsSh(ns, `iptables-nft -I INPUT 1 ${FOREIGN}`);
  const shim = alwaysAfterUs();
  // When --once syncs
  const r = once({ PATH: `${shim}:${process.env["PATH"] ?? ""}` });
  // Then it fails with one error line naming our jump and the foreign rule above it
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^error: not converged after apply: Plan: 0 to add, 1 to change, 0 to destroy\. after 3 re-applies; another writer keeps moving our objects: ipv4 filter INPUT: our jump "kube-router netpol - [A-Z0-9]+" was below the foreign rule "-A INPUT -m comment --comment foreign-first -j ACCEPT"$/);
  assert.match(r.stderr, /warning: another writer moved our objects right after apply; re-applied 3 time\(s\)/);
  // and every rule the writer inserted is still there: 1 before, 1 per apply (the first apply and 3 re-applies)
  assert.equal(foreignCount("INPUT"), 5);
  removeForeign();
});

test("given another writer that inserts its rule above ours after every apply, when the agent runs for a few seconds, then kube_router_jump_replacements_total{chain=\"INPUT\"} counts every re-placement and the agent logs it once", { skip: kernelSkip }, async () => {
  // Given the agent (full firewall sync every second), a foreign rule above ours, and the writer
  nsSh(ns, `iptables-nft -I INPUT 1 ${FOREIGN}`);
  const shim = alwaysAfterUs();
  const a = spawnAgent(ns, args("--iptables-sync-period=1s", `--metrics-port=${METRICS}`, "--metrics-addr=127.0.0.1", "--health-port=0"), env({ PATH: `${shim}:${process.env["PATH"] ?? ""}`, KUBE_ROUTER_SYNC_DEBOUNCE: "20ms" }), live);
  try {
    // When it has run long enough for several full syncs
    const count = () => Number(/kube_router_jump_replacements_total\{chain="INPUT"\} (\d+)/.exec(scrapeIn(ns, METRICS, "/metrics").body)?.[1] ?? 0);
    await until(() => count() >= 6, 20_000, "6 counted re-placements", a, 200);
    // Then each re-placement was counted, and logged once (the next line is due after a minute)
    const logged = a.logs.filter((l) => String(l["msg"]).startsWith("jump re-placed") && l["chain"] === "INPUT");
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.match(String(logged[0]!["msg"]), /ipv4 filter INPUT: our jump "kube-router netpol - [A-Z0-9]+" was below the foreign rule "-A INPUT -m comment --comment foreign-first -j ACCEPT"/);
    assert.equal(a.proc.exitCode, null);
  } finally {
    assert.equal(await stopAgent(a), 0);
  }
  // and no foreign rule was deleted: they only pile up below ours
  assert.ok(foreignCount("INPUT") >= 6);
  removeForeign();
});
