/**
 * What the conformance test files share: the topology's lifetime, running the built CLI in a
 * node netns, writing a case's snapshot, syncing every node, foreign rules, and the per-case
 * check (plan scope for incremental steps, the reachability matrix, node → local pod, foreign
 * rules, dry-run after the sync), with a readable failure message.
 *
 * Knobs (development only): KRT_NP_CLI=path/to/main.js runs another build of the CLI;
 * KRT_NP_ONLY=<regex> runs only the matching cases (the others are skipped);
 * KRT_NP_DUMP=<dir> writes iptables-save/ipset save of every node for each failing case;
 * KRT_NP_FLAGS="--flag=value …" adds flags to every sync (e.g. --iptables-backend=legacy; the
 * foreign-rule and cleanup checks look at the nft tables only).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { CLI } from "../../support/cli.ts";
import type { Case } from "./cases.ts";
import { compare, formatDiff } from "./reachability.ts";
import { policiesYaml, snapshotJson } from "./snapshot.ts";
import { NODES, Topology, nodeName, nsRun, type NodeNum } from "./topology.ts";

export const only = process.env["KRT_NP_ONLY"] ? new RegExp(process.env["KRT_NP_ONLY"]) : undefined;
const dumpDir = process.env["KRT_NP_DUMP"];
const extraFlags = (process.env["KRT_NP_FLAGS"] ?? "").split(/\s+/).filter(Boolean);

export interface Run { readonly code: number; readonly stdout: string; readonly stderr: string }

export const FOREIGN_SET = "foreign-np-set";
/** Everything of ours in iptables-save / ipset output (chains, sets, jump comments). */
export const OURS = /KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-|KUBE-SRC-|KUBE-DST-|kube-router netpol/;
const NOT_BUILT = /firewall controller is enabled but not built/;

interface PlanChange { readonly op: string; readonly key: string }
interface JsonPlan {
  readonly plan: {
    readonly chains: readonly PlanChange[];
    readonly jumps: readonly PlanChange[];
    readonly ipsets: readonly PlanChange[];
    readonly ipsetMembers: readonly { readonly set: string }[];
  } & Record<string, readonly unknown[]>;
}

/** Why the dry-run plan of one node is more than the case's `incremental` mode allows (empty if fine). */
export function incrementalProblems(mode: NonNullable<Case["incremental"]>, node: string, plan: JsonPlan["plan"]): string[] {
  const out: string[] = [];
  const chain = (c: PlanChange) => c.key.split("/").pop() ?? c.key;
  const bad = (what: string, list: readonly PlanChange[]) => {
    if (list.length > 0) out.push(`${node}: ${mode} change, but the plan also has ${what}: ${list.map((c) => `${c.op} ${c.key}`).join(", ")}`);
  };
  for (const [table, changes] of Object.entries(plan)) {
    if (!["chains", "jumps", "ipsets", "ipsetMembers"].includes(table) && changes.length > 0) out.push(`${node}: plan touches ${table}`);
  }
  bad("jump changes", plan.jumps);
  if (mode === "members") {
    bad("chain changes", plan.chains);
    bad("whole-set changes", plan.ipsets);
  } else if (mode === "pod-chain") {
    bad("other chain changes", plan.chains.filter((c) => !(c.op === "update" && chain(c).startsWith("KUBE-POD-FW-")) && !(c.op === "create" && chain(c).startsWith("KUBE-NWPLCY-"))));
    bad("whole-set changes", plan.ipsets);
  } else {
    bad("other chain changes", plan.chains.filter((c) => !(c.op === "update" && chain(c).startsWith("KUBE-NWPLCY-"))));
  }
  return out;
}

/** One conformance run: a topology, a scratch dir, the CLI and what the syncs found out. */
export class Suite {
  readonly cli = process.env["KRT_NP_CLI"] || CLI;
  topo: Topology | undefined;
  dir = "";
  /** Set by the first sync: false when this CLI build has no firewall renderer yet. */
  firewallBuilt: boolean | undefined;
  /** How many snapshots were synced (cleanup is only meaningful after one). */
  syncs = 0;

  constructor(readonly opts: { readonly ipv6?: boolean } = {}) {}

  /** Builds the topology and inserts the foreign rules; pair with `teardown()` in `after`. */
  async setup(): Promise<void> {
    if (!existsSync(this.cli)) throw new Error(`${this.cli} missing: run npm run build first`);
    this.dir = mkdtempSync(join(tmpdir(), "krt-np-"));
    process.once("exit", this.removeDir); // also when a signal ends the run (topology.ts exits then)
    this.topo = new Topology(this.opts);
    await this.topo.build();
    for (const n of NODES) this.addForeign(n);
  }

  teardown(): void {
    this.topo?.destroy();
    this.removeDir();
    process.removeListener("exit", this.removeDir);
  }

  private readonly removeDir = () => {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  };

  ns(n: NodeNum): string { return this.topo!.nodeNs(n); }
  get snapshotPath(): string { return join(this.dir, "snapshot.json"); }
  stateDir(n: NodeNum): string { return join(this.dir, `state${n}`); }

  /** Runs the CLI inside node N's netns; never throws. */
  kr(n: NodeNum, args: readonly string[]): Promise<Run> {
    return new Promise((resolve) => {
      const p = spawn("ip", ["netns", "exec", this.ns(n), process.execPath, this.cli, ...args], {
        env: { ...process.env, KUBE_ROUTER_CNI_CONF_FILE: join(this.dir, `cni${n}`, "10-kuberouter.conflist") },
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

  /** `--snapshot … --once` with the router and proxy off, as the issue prescribes. */
  syncArgs(n: NodeNum): string[] {
    return [
      "--snapshot", this.snapshotPath, "--once", "--run-router=false", "--run-service-proxy=false",
      `--hostname-override=${nodeName(n)}`, "--state-dir", this.stateDir(n),
      ...(this.opts.ipv6 ? ["--enable-ipv6=true"] : []),
      ...extraFlags,
    ];
  }

  /** Writes the case's snapshot over the previous one. */
  writeSnapshot(c: Case): void {
    writeFileSync(this.snapshotPath, snapshotJson(c, { ipv6: this.opts.ipv6 ?? false }));
  }

  /** Syncs every node at once from the current snapshot. */
  async syncAll(): Promise<Run[]> {
    const runs = await Promise.all(NODES.map((n) => this.kr(n, this.syncArgs(n))));
    this.syncs++;
    this.firewallBuilt ??= !runs.some((r) => NOT_BUILT.test(r.stderr));
    return runs;
  }

  /** A dry run on each node; resolves to the runs. */
  dryRunAll(extra: readonly string[] = []): Promise<Run[]> {
    return Promise.all(NODES.map((n) => this.kr(n, [...this.syncArgs(n), "--dry-run", ...extra])));
  }

  /** Another tool's chain, a rule in FORWARD above where we insert (position 1) and an ipset (IPv6 too when dual-stack). */
  private addForeign(n: NodeNum): void {
    nsRun(this.ns(n), `
iptables -N FOREIGN-NP
iptables -A FOREIGN-NP -s 192.0.2.1/32 -j RETURN
iptables -I FORWARD 1 -s 192.0.2.0/24 -j FOREIGN-NP
ipset create ${FOREIGN_SET} hash:ip
ipset add ${FOREIGN_SET} 192.0.2.7`);
    if (this.opts.ipv6) {
      nsRun(this.ns(n), `
ip6tables -N FOREIGN-NP
ip6tables -A FOREIGN-NP -s 2001:db8::1/128 -j RETURN
ip6tables -I FORWARD 1 -s 2001:db8::/64 -j FOREIGN-NP`);
    }
  }

  /** What is missing of the foreign rules in node N (empty when all there). */
  foreignProblems(n: NodeNum): string[] {
    const out = nsRun(this.ns(n), `iptables -S FORWARD; iptables -S FOREIGN-NP; ipset list ${FOREIGN_SET}`);
    const problems: string[] = [];
    if (!out.includes("-A FORWARD -s 192.0.2.0/24 -j FOREIGN-NP")) problems.push(`${nodeName(n)}: foreign FORWARD rule gone`);
    if (!out.includes("-A FOREIGN-NP -s 192.0.2.1/32 -j RETURN")) problems.push(`${nodeName(n)}: foreign chain rule gone`);
    if (!out.includes("192.0.2.7")) problems.push(`${nodeName(n)}: foreign ipset member gone`);
    if (this.opts.ipv6) {
      const out6 = nsRun(this.ns(n), "ip6tables -S FORWARD; ip6tables -S FOREIGN-NP");
      if (!out6.includes("-A FORWARD -s 2001:db8::/64 -j FOREIGN-NP")) problems.push(`${nodeName(n)}: foreign ip6tables FORWARD rule gone`);
      if (!out6.includes("-A FOREIGN-NP -s 2001:db8::1/128 -j RETURN")) problems.push(`${nodeName(n)}: foreign ip6tables chain rule gone`);
    }
    return problems;
  }

  private dump(label: string): void {
    if (!dumpDir || !this.topo) return;
    mkdirSync(dumpDir, { recursive: true });
    for (const n of NODES) {
      const text = nsRun(this.ns(n), `iptables-save; echo; ${this.opts.ipv6 ? "ip6tables-save; echo; " : ""}ipset save`);
      writeFileSync(join(dumpDir, `${label.replace(/[^\w.-]+/g, "_")}.${nodeName(n)}.txt`), text);
    }
  }

  /**
   * Runs one case as a test: replace the snapshot, (incremental steps: check the plan's scope),
   * sync every node, then check the matrix, node → local pods, foreign rules, and a dry run on
   * one node (`i` picks which, in turn). Fails with every problem at once.
   */
  async runCase(t: TestContext, label: string, c: Case, i: number): Promise<void> {
    if (only && !only.test(label)) return t.skip("not selected by KRT_NP_ONLY");
    const notBuilt = () => this.firewallBuilt === false && c.policies.length > 0;
    if (notBuilt()) return t.skip("this kube-router build has no firewall renderer yet");
    const topo = this.topo!;
    // Given the case's policies (and labels) replace the previous snapshot
    const t0 = performance.now();
    const problems: string[] = [];
    this.writeSnapshot(c);
    // (and, for an incremental step, the plan from the previous state touches only what changed)
    if (c.incremental) {
      const mode = c.incremental;
      const plans = await this.dryRunAll(["-o", "json"]);
      plans.forEach((r, k) => {
        const node = nodeName(NODES[k]!);
        if (r.code !== 0 && r.code !== 2) return problems.push(`${node}: --dry-run -o json exited ${r.code}: ${r.stderr.trim()}`);
        try {
          problems.push(...incrementalProblems(mode, node, (JSON.parse(r.stdout) as JsonPlan).plan));
        } catch (e) {
          problems.push(`${node}: --dry-run -o json printed no plan (${(e as Error).message}):\n${r.stdout}`);
        }
      });
    }
    // When every node syncs once
    const runs = await this.syncAll();
    const t1 = performance.now();
    runs.forEach((r, k) => { if (r.code !== 0) problems.push(`${nodeName(NODES[k]!)}: sync exited ${r.code}: ${r.stderr.trim()}`); });
    if (notBuilt()) return t.skip("this kube-router build has no firewall renderer yet");
    // Then the matrix is as the spec says
    const seen = await topo.probeAll();
    const t2 = performance.now();
    const wrong = compare(c.expect, seen);
    if (wrong.length > 0) problems.push(formatDiff(c.expect, seen, wrong));
    // And every node still reaches its own pods, whatever the policies (always allowed)
    const fromNodes = await topo.probeLocalPods();
    for (const n of NODES) {
      for (const [id, row] of Object.entries(fromNodes[n])) {
        for (const [probe, r] of Object.entries(row)) {
          if (!r.ok) problems.push(`${nodeName(n)} -> its pod ${id} ${probe}: blocked (${r.how}), the local node must always reach its pods`);
        }
      }
    }
    // And foreign rules survived
    for (const n of NODES) problems.push(...this.foreignProblems(n));
    // And a dry run right after the converged sync plans nothing (one node per case, in turn)
    const dryNode = NODES[i % NODES.length]!;
    const dry = await this.kr(dryNode, [...this.syncArgs(dryNode), "--dry-run"]);
    if (dry.code !== 0) problems.push(`${nodeName(dryNode)}: --dry-run after the sync exited ${dry.code}:\n${dry.stdout}${dry.stderr}`);
    const ms = (a: number, b: number) => `${Math.round(b - a)} ms`;
    t.diagnostic(`sync ${ms(t0, t1)}, probes ${ms(t1, t2)}, checks and dry-run ${ms(t2, performance.now())}`);
    if (problems.length > 0) {
      this.dump(label);
      const said = [...new Set(runs.flatMap((r) => r.stderr.split("\n").filter((l) => l.trim())))];
      assert.fail(`${label}\npolicies:\n${policiesYaml(c.policies)}\n${problems.join("\n")}${said.length ? `\nkube-router said:\n${said.join("\n")}` : ""}`);
    }
  }

  /** --cleanup-config on every node: nothing of ours left (IPv4 and IPv6), foreign rules and set kept, a second cleanup is a no-op. */
  async checkCleanup(): Promise<void> {
    const runs = await Promise.all(NODES.map((n) => this.kr(n, ["--cleanup-config", "--state-dir", this.stateDir(n)])));
    runs.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}: ${r.stdout}${r.stderr}`));
    for (const n of NODES) {
      const save = nsRun(this.ns(n), "iptables-save; ip6tables-save");
      const sets = nsRun(this.ns(n), "ipset list -n").trim().split("\n").filter(Boolean);
      assert.doesNotMatch(save, OURS, `${nodeName(n)}:\n${save}`);
      assert.deepEqual(sets, [FOREIGN_SET], `${nodeName(n)} ipsets`);
      assert.deepEqual(this.foreignProblems(n), []);
    }
    const again = await Promise.all(NODES.map((n) => this.kr(n, ["--cleanup-config", "--dry-run", "--state-dir", this.stateDir(n)])));
    again.forEach((r, k) => assert.equal(r.code, 0, `${nodeName(NODES[k]!)}: ${r.stdout}${r.stderr}`));
  }
}
