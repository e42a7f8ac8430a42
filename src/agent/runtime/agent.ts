/**
 * The long-running agent: a cluster source, the sync loop, /healthz and /metrics, until
 * `stop` resolves (SIGTERM/SIGINT in the CLI). Resources are released in the reverse order of
 * their acquisition: on stop the loop finishes the apply in progress, then the servers close,
 * then the source stops, then the drivers.
 *
 * Resolves to the exit code: 0 after a clean stop, 1 when a server cannot bind (upstream fails
 * startup then too). An API server that cannot be reached is never fatal: the source retries,
 * the loop waits, /healthz says why.
 *
 * @category agent
 */
import type { NodeConfig } from "../../model/config.ts";
import type { ClusterSource } from "../../sources/source.ts";
import type { EngineDeps, SyncOutcome } from "../engine.ts";
import { evaluateHealth, healthReply } from "./health.ts";
import { type HttpServer, type Route, serveHttp } from "./http.ts";
import { heapTrimmer } from "./heap-trim.ts";
import { laneSpecs } from "./lanes.ts";
import type { Logger } from "./log.ts";
import { type LoopStatus, subscribe, syncLoop, waitForSource } from "./loop.ts";
import { type AgentMetrics, makeMetrics } from "./metrics.ts";
import { DEFAULT_TIMING, type Schedule, type Timing, markLanes, newSchedule } from "./schedule.ts";
import { TABLES, tablesOwnedBy } from "../../model/registry.ts";
import type { ControllerName } from "../../render/controller.ts";
import { type StepEnv, newStepMemory, runStep } from "./step.ts";
import { familiesWantingFullSync, startDrivers, stopDrivers } from "../drivers.ts";

export interface AgentOptions {
  readonly config: NodeConfig;
  readonly nodeName: string;
  readonly deps: EngineDeps;
  readonly source: ClusterSource;
  readonly log: Logger;
  /** Resolves when the agent should stop. */
  readonly stop: Promise<unknown>;
  readonly timing?: Timing;
  /** Health grace added to each period (default 5 s, upstream's documented grace). */
  readonly graceMs?: number;
  readonly hungAfterMs?: number;
  readonly now?: () => number;
  /** Collect default process metrics (default true). */
  readonly processMetrics?: boolean;
  /** Told the bound ports once the servers listen (tests use port 0). */
  readonly onListening?: (ports: { health?: number; metrics?: number }) => void;
  /** Told each finished sync's outcome (read-only: benchmarks and tests watch progress with it). */
  readonly onSynced?: (outcome: SyncOutcome) => void;
}

/** Handles for tests: the schedule, health and metrics of a running agent. */
export interface AgentHandle {
  readonly schedule: Schedule;
  readonly metrics: AgentMetrics;
  health(): ReturnType<typeof evaluateHealth>;
}

/** Runs the agent until `stop`; see the module comment. `onStart` receives test handles. */
export function runAgent(o: AgentOptions, onStart?: (h: AgentHandle) => void): Promise<number> {
  const now = o.now ?? Date.now;
  const cfg = o.config;
  const { lanes, notBuilt, refused } = laneSpecs(cfg);
  const schedule = newSchedule(lanes, o.timing ?? DEFAULT_TIMING);
  const status: LoopStatus = { busySince: undefined };
  const metrics = makeMetrics({ sourceStatus: () => o.source.status(), warnings: () => o.source.warnings() }, { defaults: o.processMetrics !== false });
  const health = () => evaluateHealth({ now: now(), source: o.source.status(), lanes: schedule.lanes, busySince: status.busySince, graceMs: o.graceMs ?? 5000, hungAfterMs: o.hungAfterMs ?? 15 * 60_000, refused, notes: o.deps.drivers.flatMap((d) => { const n = d.note?.(); return n ? [n] : []; }) });
  const mem = newStepMemory();
  const stepEnv: StepEnv = { deps: o.deps, config: cfg, nodeName: o.nodeName, dryRun: cfg.dryRun, log: o.log, metrics, now };
  const log = o.log;

  /** Resources taken so far, released last-first by `release` (each failure logged, never thrown). */
  const taken: (() => Promise<void> | void)[] = [];
  const release = async (): Promise<void> => {
    for (const undo of taken.reverse()) {
      try {
        await undo();
      } catch (e) {
        log.error({ err: (e as Error).message }, "stopping: a resource did not release cleanly");
      }
    }
  };
  const server = async (what: string, host: string, port: number, routes: ReadonlyMap<string, Route>): Promise<HttpServer> => {
    const s = await serveHttp(host, port, routes).catch((e: unknown) => { throw new Error(`${what}: ${(e as Error).message}`); });
    taken.push(() => s.close());
    log.info({ address: s.address, port: s.port }, `${what} server listening`);
    return s;
  };

  const run = async (): Promise<number> => {
    log.info({ controllers: lanes.map((l) => l.name), dryRun: cfg.dryRun, timing: schedule.timing }, "kube-router agent starting");
    for (const n of notBuilt) log.warn({ controller: n }, `${n} controller is enabled but not built yet; its kernel objects are left as they are`);
    // drivers with a lifecycle (daemons, listeners) start before the first sync and stop last
    await startDrivers(o.deps.drivers);
    taken.push(async () => { await stopDrivers(o.deps.drivers); log.info("drivers stopped"); });
    const { wake, unsubscribe } = subscribe({ schedule, source: o.source, now });
    taken.push(unsubscribe);
    // a driver that sees a change between syncs (gobgpd restarted, learned routes changed,
    // the allocator's Lease taken) wakes the lanes owning its tables
    for (const d of o.deps.drivers) {
      d.subscribe?.((n) => {
        const owns = (name: ControllerName) => tablesOwnedBy(name).some((t) => TABLES[t].driver === d.name);
        if (n.full) log.warn({ driver: d.name, reason: n.reason }, `driver ${d.name}: ${n.reason}`);
        else log.debug({ driver: d.name, reason: n.reason }, `driver ${d.name}: ${n.reason}`);
        if (markLanes(schedule, owns, now(), n.full) > 0) wake.offer();
      });
    }
    await o.source.start();
    taken.push(async () => { await o.source.stop(); log.info("cluster source stopped"); });
    const healthRoute: Route = () => healthReply(health());
    const metricsRoute: Route = async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType });
    const samePort = cfg.metricsPort > 0 && cfg.metricsPort === cfg.healthPort && cfg.metricsAddr === cfg.healthAddr;
    const ports: { health?: number; metrics?: number } = {};
    let hs: HttpServer | undefined;
    if (cfg.healthPort > 0) {
      const routes = new Map<string, Route>([["/healthz", healthRoute]]);
      if (samePort) routes.set(cfg.metricsPath, metricsRoute);
      hs = await server("health", cfg.healthAddr, cfg.healthPort, routes);
      ports.health = hs.port;
    }
    if (cfg.metricsPort > 0 && cfg.metricsPort < 65535) {
      if (samePort && hs) ports.metrics = hs.port;
      else ports.metrics = (await server("metrics", cfg.metricsAddr, cfg.metricsPort, new Map([[cfg.metricsPath, metricsRoute]]))).port;
    }
    o.onListening?.(ports);
    onStart?.({ schedule, metrics, health });

    const stopping = new AbortController();
    const trimmer = heapTrimmer();
    const loop = (async () => {
      if (!(await waitForSource({ source: o.source, log, cacheSyncTimeoutMs: cfg.cacheSyncTimeout }, stopping.signal))) return;
      await syncLoop({
        schedule, source: o.source, now, log, status, cacheSyncTimeoutMs: cfg.cacheSyncTimeout, allLanes: cfg.dryRun,
        wantFullSync: () => familiesWantingFullSync(o.deps.drivers),
        idle: () => trimmer.trim(),
        step: async (names, kind) => {
          const r = await runStep(stepEnv, mem, o.source.snapshot(), names, kind);
          if (r.outcome) o.onSynced?.(r.outcome);
          return r.lanes;
        },
      }, wake, stopping.signal);
    })();
    const stopped = await Promise.race([
      loop.then(() => "loop-ended" as const, (e: unknown) => { log.error({ err: (e as Error).message }, "sync loop failed"); return "loop-ended" as const; }),
      o.stop.then(() => "stop" as const),
    ]);
    if (stopped === "stop") log.info("stopping: letting the sync in progress finish");
    else log.error("sync loop ended unexpectedly; stopping");
    stopping.abort();
    await loop.catch(() => undefined);
    log.info("sync loop stopped");
    return stopped === "stop" ? 0 : 1;
  };

  return run().then(
    async (code) => {
      await release();
      log.info({ code }, "kube-router agent stopped");
      return code;
    },
    async (e: unknown) => {
      await release();
      log.error({ err: e instanceof Error ? e.message : String(e) }, "kube-router agent failed");
      return 1;
    },
  );
}
