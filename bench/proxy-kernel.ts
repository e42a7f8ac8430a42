/**
 * The proxy's cold start, ipset + iptables side, in a fresh network namespace (root): our
 * apply — the ipset and iptables drivers' scripts for the cold plan of the proxy's desired
 * state, run through the real exec inside the namespace — against the bare tools loading the
 * same text (`ipset restore -exist` + `iptables-restore --noflush --wait`, one process each).
 * Several runs, each in a fresh namespace; medians and their ratio.
 */
import { performance } from "node:perf_hooks";
import type { Exec } from "../src/apply/exec.ts";
import { realExec } from "../src/apply/exec.ts";
import { ipsetDriver } from "../src/apply/ipset/driver.ts";
import { detectBackend } from "../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../src/apply/iptables/driver.ts";
import { diffNode } from "../src/model/plan.ts";
import { type NodeState, emptyNodeState } from "../src/model/state.ts";
import type { RenderInput } from "../src/render/controller.ts";
import { renderProxy } from "../src/render/proxy/index.ts";
import { addNetns, delNetns } from "../test/support/netns.ts";
import type { GeneratedCluster } from "./gen.ts";
import { median, round3 } from "./stats.ts";

/** An Exec that runs every command inside netns `ns`. */
function inNetns(exec: Exec, ns: string): Exec {
  return { run: (cmd, args, o) => exec.run("ip", ["netns", "exec", ns, cmd, ...args], o) };
}

export async function proxyColdStart(input: RenderInput, _g: GeneratedCluster, runs = 5): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { skipped: "needs root" };
  const r = renderProxy(input);
  if (!("ok" in r)) throw new Error(r.error);
  const desired = { ...emptyNodeState(), ...r.ok.state } as NodeState;
  // The host kernel has no xt_ipvs: rules with `-m ipvs` (nat) cannot load here and are left out
  // of both sides; the rest (filter chain + INPUT jump, every ipset) is what is compared.
  const noIpvs = <T extends { rule?: string; rules?: readonly string[] }>(t: ReadonlyMap<string, T>) =>
    new Map([...t].filter(([, v]) => !(v.rule ?? "").includes("-m ipvs") && !(v.rules ?? []).some((x) => x.includes("-m ipvs"))));
  const only: NodeState = { ...emptyNodeState(), ipsets: desired.ipsets, chains: noIpvs(desired.chains), jumps: noIpvs(desired.jumps) };
  const plan = diffNode(only, emptyNodeState());
  const host = realExec();
  const backend = await detectBackend(host, undefined);
  const drivers = [ipsetDriver(), iptablesDriver(backend)];
  const scripts = drivers.flatMap((d) => d.scripts(plan)).sort((a, b) => a.order - b.order);
  const ours: number[] = [];
  const bare: number[] = [];
  // bare content: every ipset script's stdin in one ipset restore, every iptables stdin per family/table
  const ipsetText = scripts.filter((s) => s.text.startsWith("ipset")).map((s) => s.text.replace(/^[^\n]*\n/, "").replace(/EOF\n$/, "")).join("");
  const iptTexts = scripts.filter((s) => /^ip6?tables/.test(s.text)).map((s) => ({ cmd: backend.restore[s.title.includes("ipv6") ? "ipv6" : "ipv4"], stdin: s.text.replace(/^[^\n]*\n/, "").replace(/EOF\n$/, "") }));
  for (let i = 0; i < runs * 2; i++) {
    const ns = addNetns("bnode");
    try {
      const exec = inNetns(host, ns);
      const t = performance.now();
      if (i % 2 === 0) {
        for (const s of scripts) await s.run(exec);
        ours.push(performance.now() - t);
      } else {
        await exec.run("ipset", ["restore", "-exist"], { stdin: ipsetText, write: true });
        for (const x of iptTexts) await exec.run(x.cmd, ["--noflush", "--wait"], { stdin: x.stdin, write: true });
        bare.push(performance.now() - t);
      }
    } finally {
      delNetns(ns);
    }
  }
  const o = median(ours);
  const b = median(bare);
  return { scripts: scripts.map((s) => s.title), oursMs: round3(o), bareMs: round3(b), ratio: round3(o / b), target: "≤ 1.5" };
}
