/**
 * What follows each sync of the service proxy outside the kernel tables: the
 * healthCheckNodePort servers, and the DSR tunnels inside pods' network namespaces.
 * Both are derived from the same pure render as the sync (renderProxyFull, memoised).
 *
 * Guarantees: never throws (problems are logged one line each); a DSR tunnel is set up once
 * per (pod, pod IP, VIP, container) — later syncs spawn nothing for it, so the cost follows
 * what changed, not how many DSR endpoints exist; a container restart (new ID) sets it up again.
 *
 * @category agent
 */
import { type ContainerRuntime, cliRuntime, reconcileDsrPods } from "../../apply/dsr-pod/driver.ts";
import type { Exec } from "../../apply/exec.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import { renderProxyFull } from "../../render/proxy/index.ts";
import type { HealthCheckServers } from "../healthcheck/index.ts";
import type { SyncOutcome } from "../engine.ts";
import type { Logger } from "./log.ts";

export interface AfterSyncDeps {
  readonly config: NodeConfig;
  readonly nodeName: string;
  readonly exec: Exec;
  /** Used only when the sync's outcome carries no host facts. */
  readonly readHost: () => Promise<HostFacts>;
  readonly log: Logger;
  readonly healthChecks?: HealthCheckServers;
  /** Defaults to crictl/docker through `exec` (`--runtime-endpoint`). */
  readonly runtime?: ContainerRuntime;
}

/** Returns the after-sync hook; it renders with the host facts the sync itself used. */
export function proxyAfterSync(d: AfterSyncDeps): (snapshot: ClusterSnapshot, outcome?: Pick<SyncOutcome, "host">) => Promise<void> {
  const runtime = d.runtime ?? cliRuntime(d.exec, d.config.runtimeEndpoint);
  const tunnelsDone = new Set<string>();
  return async (snapshot, outcome) => {
    const render = renderProxyFull({ snapshot, config: d.config, host: outcome?.host ?? (await d.readHost()), nodeName: d.nodeName });
    if (d.healthChecks) {
      const r = await d.healthChecks.reconcile(render.healthChecks);
      for (const e of r.errors) d.log.warn({ component: "healthcheck" }, e);
      if (r.started.length + r.stopped.length > 0) d.log.info({ component: "healthcheck", started: r.started, stopped: r.stopped }, "healthCheckNodePort servers reconciled");
    }
    const key = (t: (typeof render.dsrPods)[number]) => `${t.pod}|${t.podIp}|${t.vip}|${t.containerId ?? ""}`;
    const wanted = render.dsrPods.filter((t) => !tunnelsDone.has(key(t)));
    const live = new Set(render.dsrPods.map(key));
    for (const k of [...tunnelsDone]) if (!live.has(k)) tunnelsDone.delete(k);
    if (wanted.length === 0) return;
    const r = await reconcileDsrPods(d.exec, runtime, wanted);
    for (const t of wanted) if (r.done.includes(t.pod)) tunnelsDone.add(key(t));
    for (const e of r.errors) d.log.warn({ component: "dsr" }, e);
  };
}
