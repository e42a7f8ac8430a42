/**
 * Upstream's per-tool timing histograms (features §6.3), measured around the Exec every
 * driver runs its tools through, so no driver or engine code changes:
 *
 * | upstream name (seconds) | our phase: each call of |
 * |---|---|
 * | `controller_iptables_v4_save_time` / `_v6_` | `iptables[-nft\|-legacy]-save` / `ip6tables…-save` (observe; backend detection at start) |
 * | `controller_iptables_v4_restore_time` / `_v6_` | `iptables[-nft\|-legacy]-restore` / `ip6tables…-restore` (apply) |
 * | `controller_policy_ipset_v4_restore_time` / `_v6_` | `ipset restore` touching IPv4 / IPv6 sets (one restore carries every controller's sets, so one with both families counts in both) |
 * | `controller_routes_sync_time` | `ip … -batch` that adds or deletes routes (apply) |
 *
 * Upstream measures the firewall's own saves and restores; ours are shared by the three
 * controllers (one `iptables-restore --noflush` per family and table per sync), so these
 * time every controller's part. Failed calls are timed too (a slow failure is still slow).
 *
 * @category agent
 */
import { Histogram, type Registry } from "prom-client";
import type { Exec, ExecCall } from "../../apply/exec.ts";

export type ToolPhase =
  | "iptables_v4_save" | "iptables_v6_save" | "iptables_v4_restore" | "iptables_v6_restore"
  | "policy_ipset_v4_restore" | "policy_ipset_v6_restore" | "routes_sync";

const METRIC: Readonly<Record<ToolPhase, { name: string; help: string }>> = {
  iptables_v4_save: { name: "controller_iptables_v4_save_time", help: "Time to run iptables-save (IPv4)" },
  iptables_v6_save: { name: "controller_iptables_v6_save_time", help: "Time to run ip6tables-save (IPv6)" },
  iptables_v4_restore: { name: "controller_iptables_v4_restore_time", help: "Time to run iptables-restore (IPv4)" },
  iptables_v6_restore: { name: "controller_iptables_v6_restore_time", help: "Time to run ip6tables-restore (IPv6)" },
  policy_ipset_v4_restore: { name: "controller_policy_ipset_v4_restore_time", help: "Time to run ipset restore for IPv4 sets" },
  policy_ipset_v6_restore: { name: "controller_policy_ipset_v6_restore_time", help: "Time to run ipset restore for IPv6 sets" },
  routes_sync: { name: "controller_routes_sync_time", help: "Time to apply one ip -batch of route changes" },
};

const IPT = /^(ip6?)tables(?:-nft|-legacy)?-(save|restore)$/;
const IPSET_LINE = /^(?:create|add|del|flush|destroy|swap|rename)\s+(\S+)(.*)$/;

/** The phases one tool call counts in (usually none or one). Pure. */
export function phasesOf(call: ExecCall): ToolPhase[] {
  const ipt = IPT.exec(call.cmd);
  if (ipt) return [`iptables_${ipt[1] === "ip6" ? "v6" : "v4"}_${ipt[2] as "save" | "restore"}`];
  if (call.cmd === "ipset" && call.args[0] === "restore") {
    let v4 = false;
    let v6 = false;
    for (const line of (call.stdin ?? "").split("\n")) {
      const m = IPSET_LINE.exec(line.trim());
      if (!m) continue;
      if (m[1]!.startsWith("inet6:") || /\bfamily inet6\b/.test(m[2]!)) v6 = true;
      else v4 = true;
    }
    return [...(v4 ? ["policy_ipset_v4_restore" as const] : []), ...(v6 ? ["policy_ipset_v6_restore" as const] : [])];
  }
  if (call.cmd === "ip" && call.args.includes("-batch") && /^route (add|del|replace|change)\b/m.test(call.stdin ?? "")) return ["routes_sync"];
  return [];
}

export interface ToolTimings {
  /** Records one finished call. */
  observe(call: ExecCall, seconds: number): void;
  /** Adds the histograms (with what was observed so far) to a registry. */
  register(registry: Registry): void;
}

/** The seven histograms, registered nowhere until `register`. */
export function toolTimings(): ToolTimings {
  const hs = new Map<ToolPhase, Histogram>();
  for (const [phase, m] of Object.entries(METRIC) as [ToolPhase, { name: string; help: string }][]) {
    hs.set(phase, new Histogram({ name: `kube_router_${m.name}`, help: `${m.help} (seconds; upstream name).`, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [] }));
  }
  return {
    observe(call, seconds) {
      for (const p of phasesOf(call)) hs.get(p)!.observe(seconds);
    },
    register(registry) {
      for (const h of hs.values()) registry.registerMetric(h);
    },
  };
}

/** Wraps an Exec so every call's wall time reaches `timings` (success or failure). */
export function timedExec(inner: Exec, timings: Pick<ToolTimings, "observe">): Exec {
  return {
    async run(cmd, args, o = {}) {
      const t0 = performance.now();
      try {
        return await inner.run(cmd, args, o);
      } finally {
        timings.observe({ cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) }, (performance.now() - t0) / 1000);
      }
    },
  };
}
