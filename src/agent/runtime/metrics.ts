/**
 * Prometheus metrics (prom-client, a private Registry, `kube_router_` prefix).
 *
 * Ours (Prometheus unit rules; `controller` is the sync lane: router, proxy, firewall):
 * - `kube_router_sync_duration_seconds{controller,mode}` histogram, mode = full | partial
 * - `kube_router_syncs_total{controller,mode,result}` counter, result = success | failure
 * - `kube_router_sync_changes_total{table,op}` changes applied, op = create | update | delete
 *   (ipset members count as create/delete of the `ipsets` table)
 * - `kube_router_sync_failures_total{controller}` failed syncs (render, observe or apply)
 * - `kube_router_last_successful_sync_timestamp_seconds{controller}`
 * - `kube_router_jump_replacements_total{chain}` our jumps put back after a foreign rule was
 *   inserted above them (an endless fight with another writer shows as a steady rate)
 * - `kube_router_desired_objects{table}` objects in the desired state after the last sync
 * - `kube_router_informer_last_event_timestamp_seconds{resource}` from the source
 * - `kube_router_input_warnings{kind}` input objects skipped or defaulted, now
 * - `kube_router_render_warnings{controller}` warnings of each lane's last render (objects it
 *   skipped or failed closed on), and `controller="input"`: the input objects skipped or
 *   defaulted now (the sum of `input_warnings`), so `sum(kube_router_render_warnings) > 0` is
 *   the one alert for "some object is not applied as written" (issue 17); neither name is
 *   upstream's (features §6.3 has no warning metric)
 * - `kube_router_source_synced` 1 once every kind's initial list is in
 * - `kube_router_build_info{version,nodeversion,goversion}` 1 (goversion = the runtime, for
 *   upstream's dashboards)
 * - default process metrics (`kube_router_process_*`, `kube_router_nodejs_*`)
 *
 * Upstream names that map (features §6.3), same meaning, in seconds:
 * `kube_router_host_routes_sync_time` (router lane), `kube_router_controller_iptables_sync_time`
 * (firewall lane), `kube_router_controller_ipvs_services_sync_time` (proxy lane) histograms;
 * `kube_router_host_routes_synced`, `kube_router_controller_ipvs_services`,
 * `kube_router_controller_policy_chains`, `kube_router_controller_policy_ipsets` gauges;
 * `kube_router_host_routes_added` / `_removed` counters (routes the sync created / deleted in
 * the kernel: every route table change we apply, the proxy's VIP routes included);
 * `kube_router_controller_policy_chains_sync_time` (the firewall lane's sync: upstream times
 * the policy-chain build inside its netpol sync, and our firewall renders and applies its
 * chains in one lane sync). The per-tool timings are in tool-timings.ts, the per-Service IPVS
 * metrics in service-stats.ts (both registered by the CLI's agent, cli-agent.ts).
 *
 * @category agent
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { InputWarning } from "../../model/cluster.ts";
import { type NodePlan, planTables } from "../../model/plan.ts";
import { type NodeState, TABLE_NAMES } from "../../model/state.ts";
import type { ControllerName } from "../../render/controller.ts";
import type { SourceStatus } from "../../sources/source.ts";
import { VERSION } from "../version.ts";
import type { SyncKind } from "./schedule.ts";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const P = "kube_router_";

/** What the metrics read at scrape time from the running agent. */
export interface MetricsSources {
  readonly sourceStatus: () => SourceStatus | undefined;
  readonly warnings: () => readonly InputWarning[];
}

export interface AgentMetrics {
  readonly registry: Registry;
  /** One lane's sync finished (ok = no render, observe or apply error for it). */
  syncDone(controller: ControllerName, mode: SyncKind, seconds: number, ok: boolean, nowMs: number): void;
  /** A plan was applied: count its changes per table and op. */
  applied(plan: NodePlan): void;
  /** The desired state after a sync (gauges of object counts). */
  desired(state: NodeState): void;
  /** Render warnings per controller of the last sync. */
  renderWarnings(counts: Readonly<Record<string, number>>): void;
  /** Best-effort steps (flow or cache cleanups) that failed without failing the sync. */
  bestEffortFailed(n: number): void;
  /** One of our jumps put back at its position in builtin `chain` after another writer displaced it. */
  jumpReplaced(chain: string): void;
}

/** Creates the registry and every metric. `defaults` adds process metrics (off in unit tests for speed). */
export function makeMetrics(src: MetricsSources, opts: { defaults?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: P });

  const duration = new Histogram({ name: `${P}sync_duration_seconds`, help: "Duration of one controller's sync, by mode (full: observes the kernel; partial: diffs against the last applied state).", labelNames: ["controller", "mode"], buckets: BUCKETS, registers });
  const syncs = new Counter({ name: `${P}syncs_total`, help: "Syncs run, by controller, mode and result.", labelNames: ["controller", "mode", "result"], registers });
  const changes = new Counter({ name: `${P}sync_changes_total`, help: "Changes applied to the node, by table and op.", labelNames: ["table", "op"], registers });
  const failures = new Counter({ name: `${P}sync_failures_total`, help: "Failed syncs (render, observe or apply), by controller.", labelNames: ["controller"], registers });
  const lastOk = new Gauge({ name: `${P}last_successful_sync_timestamp_seconds`, help: "Unix time of the last successful sync, by controller.", labelNames: ["controller"], registers });
  const bestEffort = new Counter({ name: `${P}best_effort_failures_total`, help: "Best-effort steps (e.g. the UDP conntrack flush) that failed; they never fail a sync.", registers });
  const replaced = new Counter({ name: `${P}jump_replacements_total`, help: "Our jumps put back at the top of a builtin chain after another writer inserted a rule above them, by chain (policy: our jump first, always; the foreign rule is never moved).", labelNames: ["chain"], registers });
  const renderWarnings = new Gauge({
    name: `${P}render_warnings`, labelNames: ["controller"], registers,
    help: "Warnings of the controller's last render: objects it skipped or failed closed on (e.g. a NetworkPolicy with an invalid CIDR); controller=\"input\": input objects skipped or defaulted right now (by kind in kube_router_input_warnings).",
    collect() { this.set({ controller: "input" }, src.warnings().length); },
  });
  const desired = new Gauge({ name: `${P}desired_objects`, help: "Objects in the node's desired state after the last sync, by table.", labelNames: ["table"], registers });
  new Gauge({
    name: `${P}informer_last_event_timestamp_seconds`, help: "Unix time of the last list/watch event applied, by resource.", labelNames: ["resource"], registers,
    collect() {
      this.reset();
      for (const [k, ms] of Object.entries(src.sourceStatus()?.lastEventMs ?? {})) if (ms !== undefined) this.set({ resource: k }, ms / 1000);
    },
  });
  new Gauge({
    name: `${P}source_synced`, help: "1 once the cluster source has every kind's initial list.", registers,
    collect() { this.set(src.sourceStatus()?.synced ? 1 : 0); },
  });
  new Gauge({
    name: `${P}input_warnings`, help: "Input objects skipped or defaulted right now, by kind.", labelNames: ["kind"], registers,
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const w of src.warnings()) by.set(w.kind, (by.get(w.kind) ?? 0) + 1);
      for (const [kind, n] of by) this.set({ kind }, n);
    },
  });
  new Gauge({ name: `${P}build_info`, help: "Build information (value 1).", labelNames: ["version", "nodeversion", "goversion"], registers })
    .set({ version: VERSION, nodeversion: process.version, goversion: process.version }, 1);

  // Upstream names (deprecated aliases kept for upstream's Grafana dashboard).
  const legacyTime: Partial<Record<ControllerName, Histogram>> = {
    router: new Histogram({ name: `${P}host_routes_sync_time`, help: "Time taken to sync host routes (seconds; upstream name).", buckets: BUCKETS, registers }),
    firewall: new Histogram({ name: `${P}controller_iptables_sync_time`, help: "Time taken to sync iptables (seconds; upstream name).", buckets: BUCKETS, registers }),
    proxy: new Histogram({ name: `${P}controller_ipvs_services_sync_time`, help: "Time taken to sync ipvs services (seconds; upstream name).", buckets: BUCKETS, registers }),
  };
  const policyChainsTime = new Histogram({ name: `${P}controller_policy_chains_sync_time`, help: "Time taken to sync the network policy chains: the firewall lane's sync (seconds; upstream name).", buckets: BUCKETS, registers });
  const routesSynced = new Gauge({ name: `${P}host_routes_synced`, help: "Count of host routes currently synced (upstream name).", registers });
  const routesAdded = new Counter({ name: `${P}host_routes_added`, help: "Total count of host routes added (upstream name).", registers });
  const routesRemoved = new Counter({ name: `${P}host_routes_removed`, help: "Total count of host routes removed (upstream name).", registers });
  const ipvsServices = new Gauge({ name: `${P}controller_ipvs_services`, help: "Number of ipvs services in the instance (upstream name).", registers });
  const policyChains = new Gauge({ name: `${P}controller_policy_chains`, help: "Active policy chains (upstream name).", registers });
  const policyIpsets = new Gauge({ name: `${P}controller_policy_ipsets`, help: "Active policy ipsets (upstream name).", registers });

  return {
    registry,
    syncDone(controller, mode, seconds, ok, nowMs) {
      duration.observe({ controller, mode }, seconds);
      legacyTime[controller]?.observe(seconds);
      if (controller === "firewall") policyChainsTime.observe(seconds);
      syncs.inc({ controller, mode, result: ok ? "success" : "failure" });
      if (ok) lastOk.set({ controller }, nowMs / 1000);
      else failures.inc({ controller });
    },
    applied(plan) {
      for (const t of planTables(plan)) {
        if (t.counts.add > 0) changes.inc({ table: t.table, op: "create" }, t.counts.add);
        if (t.counts.change > 0) changes.inc({ table: t.table, op: "update" }, t.counts.change);
        if (t.counts.destroy > 0) changes.inc({ table: t.table, op: "delete" }, t.counts.destroy);
      }
      const added = plan.routes.filter((c) => c.op === "create").length;
      const removed = plan.routes.filter((c) => c.op === "delete").length;
      if (added > 0) routesAdded.inc(added);
      if (removed > 0) routesRemoved.inc(removed);
    },
    bestEffortFailed(n) {
      if (n > 0) bestEffort.inc(n);
    },
    jumpReplaced(chain) {
      replaced.inc({ chain });
    },
    renderWarnings(counts) {
      for (const [controller, n] of Object.entries(counts)) renderWarnings.set({ controller }, n);
    },
    desired(state) {
      for (const t of TABLE_NAMES) desired.set({ table: t }, state[t].size);
      routesSynced.set(state.routes.size);
      ipvsServices.set(state.ipvsServices.size);
      policyChains.set([...state.chains.values()].filter((c) => c.name.startsWith("KUBE-NWPLCY-") || c.name.startsWith("KUBE-POD-FW-")).length);
      policyIpsets.set([...state.ipsets.values()].filter((s) => /^(inet6:)?KUBE-(SRC|DST)-/.test(s.name)).length);
    },
  };
}
