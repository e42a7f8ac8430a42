/**
 * The healthcheck driver: table `healthChecks`, the healthCheckNodePort listeners
 * (kube-router-features.md §3.2) served in-process by server.ts.
 *
 * Observe reports the listeners running now (what each port answers); a change runs ONE
 * reconcile of the whole set: listeners no longer wanted close, new ones open, a count
 * change updates the answer in place (a port never closes for it). The dry-run text says
 * what each listener answers. A port that cannot be bound fails the script with one line
 * per port (the engine then observes again next sync and retries); listeners that did bind
 * stay up.
 *
 * @category apply
 */
import { healthCheckKey } from "../../model/state.ts";
import type { HealthCheck, NodeState } from "../../model/state.ts";
import type { NodePlan } from "../../model/plan.ts";
import { patchTable, sortedTable } from "../../model/table.ts";
import { type Driver, ORDER, type Script } from "../driver.ts";
import { type HealthCheckOptions, type HealthCheckServers, healthCheckServers } from "./server.ts";

/** What a listener answers, as one line (dry-run and golden text). */
export function healthCheckLine(h: HealthCheck): string {
  return `listen :${h.port} GET /healthz → ${h.localEndpoints > 0 ? `200 "${h.localEndpoints} Service Endpoints found"` : `503 "No Service Endpoints Found"`} (Service ${h.namespace}/${h.name})`;
}

/** The healthcheck driver over `servers` (default: real listeners on all addresses). */
export function healthCheckDriver(servers: HealthCheckServers = healthCheckServers(), opts: HealthCheckOptions = {}): Driver {
  const bind = opts.host ? ` on ${opts.host}` : "";
  return {
    name: "healthcheck",
    tables: ["healthChecks"],
    async observe(): Promise<Partial<NodeState>> {
      return { healthChecks: sortedTable(servers.checks().map((h) => [healthCheckKey(h), h] as const)) };
    },
    scripts(plan: NodePlan): Script[] {
      if (plan.healthChecks.length === 0) return [];
      const lines = plan.healthChecks.map((c) => (c.op === "delete" ? `close :${c.before.port} (Service ${c.before.namespace}/${c.before.name})` : `${c.op === "update" ? "update" : "start"} ${healthCheckLine(c.after)}`));
      return [{
        order: ORDER.inProcess,
        title: "healthCheckNodePort listeners (in-process)",
        text: `${lines.map((l) => `${l}${bind}`).join("\n")}\n`,
        run: async () => {
          const now = new Map(servers.checks().map((h) => [healthCheckKey(h), h] as const));
          const want = patchTable(now, plan.healthChecks);
          const r = await servers.reconcile([...want.values()]);
          if (r.errors.length > 0) throw new Error(r.errors.join("; "));
        },
      }];
    },
    stop: () => servers.close(),
  };
}
