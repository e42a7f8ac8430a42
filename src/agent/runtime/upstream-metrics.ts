/**
 * Wires upstream's remaining metric names into a running agent without touching the engine:
 * the per-tool timings (tool-timings.ts) around the Exec the drivers use, and — when the
 * service proxy runs — the per-Service IPVS metrics (service-stats.ts), read at scrape time
 * and mapped to Services with the host facts of the last sync.
 *
 * Use: `exec = m.wrapExec(exec)` before building the engine deps, `m.sawSync(outcome)` from
 * the agent's onSynced callback, `m.register(registry, drivers)` once the agent's registry exists
 * (with the drivers, the BGP metrics read our gobgpd: bgp-metrics.ts).
 *
 * @category agent
 */
import type { Registry } from "prom-client";
import type { Exec } from "../../apply/exec.ts";
import { readIpvsStats } from "../../apply/ipvs/stats.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import type { Driver } from "../../apply/driver.ts";
import type { NodePlan } from "../../model/plan.ts";
import { bgpMetrics } from "./bgp-metrics.ts";
import { proxyOwners, registerServiceStats } from "./service-stats.ts";
import { timedExec, toolTimings } from "./tool-timings.ts";

export interface UpstreamMetrics {
  /** The Exec to give the drivers: every call timed. */
  wrapExec(inner: Exec): Exec;
  /** Records the host facts a sync rendered with (for mapping IPVS services to Services). */
  sawSync(outcome: { readonly host?: HostFacts; readonly plan?: NodePlan; readonly ran?: number }): void;
  /** Registers the metrics (once per registry); with the drivers, the BGP ones read our gobgpd. */
  register(registry: Registry, drivers?: readonly Driver[]): void;
}

export function upstreamMetrics(o: {
  readonly config: NodeConfig;
  readonly nodeName: string;
  readonly snapshot: () => ClusterSnapshot;
  /** Told each new failure line of the per-Service read (the same line is told once). */
  readonly onError?: (line: string) => void;
}): UpstreamMetrics {
  const timings = toolTimings();
  const bgp = bgpMetrics();
  let exec: Exec | undefined;
  let lastHost: HostFacts | undefined;
  let said = "";
  return {
    wrapExec(inner) {
      exec = timedExec(inner, timings);
      return exec;
    },
    sawSync(outcome) {
      if (outcome.host) lastHost = outcome.host;
      if (outcome.plan !== undefined) bgp.sawSync({ plan: outcome.plan, ran: outcome.ran ?? 0 });
    },
    register(registry, drivers) {
      timings.register(registry);
      if (o.config.runRouter) bgp.register(registry, drivers ?? []);
      const run = exec;
      if (!o.config.runServiceProxy || run === undefined) return;
      registerServiceStats(registry, {
        read: () => readIpvsStats(run),
        owners: proxyOwners({ config: o.config, nodeName: o.nodeName, snapshot: o.snapshot, host: () => lastHost }),
        onError: (line) => { if (line !== said) o.onError?.(line); said = line; },
      });
    },
  };
}
