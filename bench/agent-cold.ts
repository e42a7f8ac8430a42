/**
 * Cold start of the BUILT agent (issue 15): from process start to a converged kernel, the API
 * list included, against the API double serving a generated cluster (default L), router and
 * firewall on, in apply mode inside a fresh fixture namespace. (This host has no IPVS: the
 * proxy is off here; its ipsets and chains are in bench/resync.ts's cold row over the fake.)
 * BGP is the router's lane with iBGP off (`--enable-ibgp=false`: a 5,000-peer full mesh is not
 * what is measured here).
 *
 * Compared with what the issue names: the agent's own list time (process start to "cluster
 * source synced", read from its log) plus one bare restore per tool of the same content (the
 * namespace's state after convergence, dumped, then `ipset restore`, `iptables-restore` per
 * family and one `ip -batch` of its links, addresses, rules and proto-17 routes into a second
 * fresh namespace by one shell). Target: ours ≤ 1.3× that sum.
 *
 *   node --import tsx bench/agent-cold.ts [L] [--runs 3] [--json FILE]
 *
 * Needs root and `npm run build`. Prints a table (medians) and one JSON line per run.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBuiltAgent } from "./agent-harness.ts";
import { dropAllFixtures, dropFixture, makeFixture } from "./fixture.ts";
import { generateCluster } from "./gen.ts";
import { formatTable } from "./report.ts";
import { type SizeName, type SizeSpec, sizeByName } from "./sizes.ts";
import { median, timed } from "./stats.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "3" }, json: { type: "string" } } });
const named = sizeByName(positionals[0] ?? "L");
if (!named) throw new Error(`unknown size ${positionals[0]}`);
const spec: SizeSpec = named;
const g = generateCluster(spec.name as SizeName);

const inNs = (ns: string, cmd: string, args: readonly string[]): string =>
  execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });

/** The iptables save/restore pair holding our chains in `ns` (nft or legacy, whichever the agent used). */
function iptablesFamily(ns: string): "nft" | "legacy" {
  return inNs(ns, "iptables-nft-save", []).includes("KUBE-ROUTER") ? "nft" : "legacy";
}

/** One `ip -batch` recreating the namespace's links, addresses, rules and proto-17 routes the agent made. */
function ipBatchOf(ns: string): string {
  const lines: string[] = [];
  for (const l of inNs(ns, "ip", ["-o", "-d", "link", "show", "type", "bridge"]).split("\n")) {
    const name = /^\d+: ([^:@]+)[:@]/.exec(l)?.[1];
    if (name !== undefined) lines.push(`link add ${name} type bridge`, `link set ${name} up`);
  }
  for (const l of inNs(ns, "ip", ["-o", "addr", "show", "type", "bridge"]).split("\n")) {
    const m = /^\d+: (\S+)\s+(inet6?) (\S+)/.exec(l);
    if (m && !m[3]!.startsWith("fe80:")) lines.push(`addr add ${m[3]} dev ${m[1]}`);
  }
  for (const fam of ["-4", "-6"]) {
    for (const l of inNs(ns, "ip", [fam, "rule", "show"]).split("\n")) {
      const m = /^(\d+):\s+(.*\blookup (?!main|local|default)\S+.*)$/.exec(l.trim());
      if (m) lines.push(`rule add priority ${m[1]} ${m[2]!.replace(/\s+$/, "")}`);
    }
    for (const l of inNs(ns, "ip", [fam, "-o", "route", "show", "table", "all", "proto", "17"]).split("\n")) if (l.trim() !== "") lines.push(`route add ${l.trim()}`);
  }
  return `${lines.join("\n")}\n`;
}

interface Run { listMs: number; convergedMs: number; bareMs: number; ipsetLines: number; iptablesLines: number; ipLines: number }

async function runOnce(): Promise<Run> {
  const scratch = mkdtempSync(join(tmpdir(), "krt-bench-cold-"));
  const fx = makeFixture(g.selfIp, g.nodePrefix);
  const bare = makeFixture(g.selfIp, g.nodePrefix);
  try {
    const agent = await startBuiltAgent({
      fx, spec,
      agentArgs: ["--hostname-override", g.selfNode, "--run-router=true", "--run-firewall=true", "--run-service-proxy=false", "--enable-ibgp=false", "--health-port=0", "--metrics-port=0", "--state-dir", join(scratch, "state")],
      env: { KUBE_ROUTER_CNI_CONF_FILE: join(scratch, "cni", "10-kuberouter.conflist") },
    });
    let listMs: number;
    let convergedMs: number;
    try {
      const listed = agent.waitLog(/cluster source synced/);
      const synced = agent.waitLog(/"msg":"sync: /);
      listMs = (await listed).ms;
      const first = await synced;
      convergedMs = first.ms;
      if (!first.line.includes('"ok":true')) throw new Error(`first sync not ok: ${first.line.slice(0, 400)}`);
    } finally {
      await agent.stop();
    }
    // the same content, restored by the bare tools into a fresh namespace
    const ipt = iptablesFamily(fx.node);
    const files = { ipset: join(scratch, "ipset"), v4: join(scratch, "v4"), v6: join(scratch, "v6"), ip: join(scratch, "ip") };
    const ipset = inNs(fx.node, "ipset", ["save"]);
    const v4 = inNs(fx.node, `iptables-${ipt}-save`, []);
    const v6 = inNs(fx.node, `ip6tables-${ipt}-save`, []);
    const ip = ipBatchOf(fx.node);
    writeFileSync(files.ipset, ipset);
    writeFileSync(files.v4, v4);
    writeFileSync(files.v6, v6);
    writeFileSync(files.ip, ip);
    const script = `ipset restore < ${files.ipset} && iptables-${ipt}-restore < ${files.v4} && ip6tables-${ipt}-restore < ${files.v6} && ip -batch ${files.ip}`;
    const bareMs = timed(() => {
      try { execFileSync("ip", ["netns", "exec", bare.node, "sh", "-c", script], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" }); } catch (e) { throw new Error(`bare restore: ${String((e as { stderr?: string }).stderr ?? e).trim()}`); }
    }).ms;
    const count = (s: string) => s.split("\n").filter((l) => l.trim() !== "").length;
    return { listMs, convergedMs, bareMs, ipsetLines: count(ipset), iptablesLines: count(v4) + count(v6), ipLines: count(ip) };
  } finally {
    dropFixture(fx);
    dropFixture(bare);
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.on("SIGINT", () => { dropAllFixtures(); process.exit(130); });
try {
  const runs: Run[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    process.stderr.write(`[bench agent-cold] ${spec.name} run ${i + 1}/${values.runs}\n`);
    const r = await runOnce();
    process.stderr.write(`${JSON.stringify(r)}\n`);
    runs.push(r);
  }
  const m = (f: (r: Run) => number) => median(runs.map(f));
  const ours = m((r) => r.convergedMs);
  const sum = m((r) => r.listMs + r.bareMs);
  const r0 = runs[0]!;
  process.stdout.write(formatTable([
    [spec.name, "agent cold start (built, apply)", ours.toFixed(0), sum.toFixed(0), `${(ours / sum).toFixed(2)}x`, "", "",
      `target ≤1.3x; list ${m((r) => r.listMs).toFixed(0)} ms + bare restores ${m((r) => r.bareMs).toFixed(0)} ms (${r0.ipsetLines} ipset, ${r0.iptablesLines} iptables, ${r0.ipLines} ip lines); runs ${runs.map((r) => (r.convergedMs / (r.listMs + r.bareMs)).toFixed(2)).join(" ")}`],
  ]));
  if (values.json) writeFileSync(values.json, JSON.stringify(runs, null, 2));
} finally {
  dropAllFixtures();
}
process.exit(0);
