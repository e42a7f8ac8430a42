/**
 * The long-running agent: a cluster source, the sync loop, /healthz and /metrics, until
 * `stop` resolves (SIGTERM/SIGINT in the CLI). Resources are scoped (Effect `Scope`): on stop
 * the loop finishes the apply in progress, then the servers close, then the source stops.
 *
 * Resolves to the exit code: 0 after a clean stop, 1 when a server cannot bind (upstream fails
 * startup then too). An API server that cannot be reached is never fatal: the source retries,
 * the loop waits, /healthz says why.
 *
 * @category agent
 */
import { Effect, Exit, Fiber } from "effect";
import type { NodeConfig } from "../../model/config.ts";
import type { ClusterSource } from "../../sources/source.ts";
import type { EngineDeps, SyncOutcome } from "../engine.ts";
import { evaluateHealth, healthReply } from "./health.ts";
import { type HttpServer, type Route, serveHttp } from "./http.ts";
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

  const server = (what: string, host: string, port: number, routes: ReadonlyMap<string, Route>) =>
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => serveHttp(host, port, routes), catch: (e) => new Error(`${what}: ${(e as Error).message}`) }).pipe(
        Effect.tap((s) => Effect.sync(() => log.info({ address: s.address, port: s.port }, `${what} server listening`))),
      ),
      (s) => Effect.promise(() => s.close()),
    );

  const program = Effect.scoped(
    Effect.gen(function* () {
      log.info({ controllers: lanes.map((l) => l.name), dryRun: cfg.dryRun, timing: schedule.timing }, "kube-router agent starting");
      for (const n of notBuilt) log.warn({ controller: n }, `${n} controller is enabled but not built yet; its kernel objects are left as they are`);
      // drivers with a lifecycle (daemons, listeners) start before the first sync and stop last
      yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => startDrivers(o.deps.drivers), catch: (e) => e as Error }),
        () => Effect.promise(() => stopDrivers(o.deps.drivers)).pipe(Effect.tap(() => Effect.sync(() => log.info("drivers stopped")))),
      );
      const { wake, unsubscribe } = yield* subscribe({ schedule, source: o.source, now });
      yield* Effect.addFinalizer(() => Effect.sync(unsubscribe));
      // a driver that sees a change between syncs (gobgpd restarted, learned routes changed,
      // the allocator's Lease taken) wakes the lanes owning its tables
      for (const d of o.deps.drivers) {
        d.subscribe?.((n) => {
          const owns = (name: ControllerName) => tablesOwnedBy(name).some((t) => TABLES[t].driver === d.name);
          if (n.full) log.warn({ driver: d.name, reason: n.reason }, `driver ${d.name}: ${n.reason}`);
          else log.debug({ driver: d.name, reason: n.reason }, `driver ${d.name}: ${n.reason}`);
          if (markLanes(schedule, owns, now(), n.full) > 0) wake.unsafeOffer(undefined);
        });
      }
      yield* Effect.acquireRelease(
        Effect.promise(() => o.source.start()),
        () => Effect.promise(() => o.source.stop()).pipe(Effect.tap(() => Effect.sync(() => log.info("cluster source stopped")))),
      );
      const healthRoute: Route = () => healthReply(health());
      const metricsRoute: Route = async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType });
      const samePort = cfg.metricsPort > 0 && cfg.metricsPort === cfg.healthPort && cfg.metricsAddr === cfg.healthAddr;
      const ports: { health?: number; metrics?: number } = {};
      let hs: HttpServer | undefined;
      if (cfg.healthPort > 0) {
        const routes = new Map<string, Route>([["/healthz", healthRoute]]);
        if (samePort) routes.set(cfg.metricsPath, metricsRoute);
        hs = yield* server("health", cfg.healthAddr, cfg.healthPort, routes);
        ports.health = hs.port;
      }
      if (cfg.metricsPort > 0 && cfg.metricsPort < 65535) {
        if (samePort && hs) ports.metrics = hs.port;
        else ports.metrics = (yield* server("metrics", cfg.metricsAddr, cfg.metricsPort, new Map([[cfg.metricsPath, metricsRoute]]))).port;
      }
      o.onListening?.(ports);
      onStart?.({ schedule, metrics, health });

      const loop = waitForSource({ source: o.source, log, cacheSyncTimeoutMs: cfg.cacheSyncTimeout }).pipe(
        Effect.zipRight(syncLoop({
          schedule, source: o.source, now, log, status, cacheSyncTimeoutMs: cfg.cacheSyncTimeout, allLanes: cfg.dryRun,
          wantFullSync: () => familiesWantingFullSync(o.deps.drivers),
          step: async (names, kind) => {
            const r = await runStep(stepEnv, mem, o.source.snapshot(), names, kind);
            if (r.outcome) o.onSynced?.(r.outcome);
            return r.lanes;
          },
        }, wake)),
      );
      const fiber = yield* Effect.fork(loop);
      const stopped = yield* Effect.race(
        Fiber.await(fiber).pipe(Effect.map(() => "loop-ended" as const)),
        Effect.promise(() => o.stop).pipe(Effect.map(() => "stop" as const)),
      );
      if (stopped === "stop") log.info("stopping: letting the sync in progress finish");
      else log.error("sync loop ended unexpectedly; stopping");
      yield* Fiber.interrupt(fiber);
      log.info("sync loop stopped");
      return stopped === "stop" ? 0 : 1;
    }),
  );

  return Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) {
      log.info({ code: exit.value }, "kube-router agent stopped");
      return exit.value;
    }
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
    log.error({ err: failure instanceof Error ? failure.message : String(exit.cause) }, "kube-router agent failed");
    return 1;
  });
}
