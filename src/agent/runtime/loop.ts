/**
 * The sync loop, in Effect 3: wait for the source's initial lists (never prune before), then
 * repeatedly ask the scheduler what is due, run it, and record the result. Source events only
 * mark lanes dirty and wake the loop (a sliding queue of size 1 is the wake-up flag).
 *
 * The step (one engine sync) runs uninterruptibly: interrupting the loop (shutdown) waits for
 * the apply in progress to finish, then stops. Never fails; every error is logged and becomes
 * a lane failure (full resync after backoff).
 *
 * @category agent
 */
import { Duration, Effect, Queue } from "effect";
import type { ClusterSource } from "../../sources/source.ts";
import type { Logger } from "./log.ts";
import { type Schedule, type SyncKind, decide, finished, markDirty, started } from "./schedule.ts";
import type { ControllerName } from "../../render/controller.ts";
import type { LaneResult } from "./step.ts";
import { type DriverFamily, TABLES, tablesOwnedBy } from "../../model/registry.ts";

/** Shared, mutable view of the loop for health: when the sync in progress started. */
export interface LoopStatus {
  busySince: number | undefined;
}

export interface LoopEnv {
  readonly schedule: Schedule;
  readonly source: ClusterSource;
  /** Runs one sync of the lanes against the source's current snapshot. */
  readonly step: (lanes: readonly ControllerName[], kind: SyncKind) => Promise<readonly LaneResult[]>;
  readonly now: () => number;
  readonly log: Logger;
  readonly status: LoopStatus;
  /** How long one `waitSynced` call may take before it is logged and retried (`--cache-sync-timeout`). */
  readonly cacheSyncTimeoutMs: number;
  /** Sync every lane in each step (dry-run: each logged plan is the whole node's). */
  readonly allLanes?: boolean;
  /**
   * Driver families asking for a full sync (e.g. IPVS real servers draining): every lane that
   * owns tables of one of them gets its next full sync within `timing.drainRecheckMs`.
   */
  readonly wantFullSync?: () => readonly DriverFamily[];
}

/** Default of `timing.drainRecheckMs`: upstream checks draining real servers every 5 s. */
export const DRAIN_RECHECK_MS = 5000;

/**
 * Subscribes to the source and returns the wake-up queue; pair with the returned unsubscribe.
 * A change marks the lanes depending on its kind dirty ("relisted" marks them all).
 */
export const subscribe = (env: Pick<LoopEnv, "schedule" | "source" | "now">) =>
  Effect.gen(function* () {
    const wake = yield* Queue.sliding<void>(1);
    const unsubscribe = env.source.onChange((c) => {
      if (markDirty(env.schedule, c.type === "relisted" ? undefined : c.kind, env.now()) > 0) wake.unsafeOffer(undefined);
    });
    return { wake, unsubscribe };
  });

/** Waits until the source has every initial list, logging each `--cache-sync-timeout` that passes. */
export const waitForSource = (env: Pick<LoopEnv, "source" | "log" | "cacheSyncTimeoutMs">) =>
  Effect.gen(function* () {
    for (let attempt = 1; ; attempt++) {
      const ok = yield* Effect.promise(() => env.source.waitSynced(env.cacheSyncTimeoutMs));
      if (ok) {
        env.log.info({ attempt }, "cluster source synced: every initial list is in");
        return;
      }
      const err = env.source.status().error;
      env.log.warn(
        { attempt, waitedMs: env.cacheSyncTimeoutMs, ...(err ? { err } : {}) },
        `cluster source not synced after --cache-sync-timeout${err ? ` (${err})` : ""}; nothing is changed until it is; still retrying`,
      );
    }
  });

/** The loop proper (after the source synced). Runs until interrupted. */
export const syncLoop = (env: LoopEnv, wake: Queue.Queue<void>) =>
  Effect.gen(function* () {
    for (;;) {
      const d = decide(env.schedule, env.now());
      if (d.kind === "wait") {
        const take = Queue.take(wake);
        if (d.until === undefined) yield* take;
        else yield* Effect.race(take, Effect.sleep(Duration.millis(Math.max(0, d.until - env.now()))));
        continue;
      }
      const lanes = env.allLanes ? env.schedule.lanes.filter((l) => !l.running) : d.lanes;
      const t0 = env.now();
      started(lanes, d.sync, t0);
      env.status.busySince = t0;
      const results = yield* Effect.uninterruptible(
        Effect.promise(() => env.step(lanes.map((l) => l.spec.name), d.sync).catch((e: unknown) =>
          lanes.map((l) => ({ lane: l.spec.name, ok: false, error: (e as Error).message }) as LaneResult))),
      );
      const t1 = env.now();
      env.status.busySince = undefined;
      const wanting = new Set(env.wantFullSync?.() ?? []);
      for (const l of lanes) {
        const r = results.find((x) => x.lane === l.spec.name);
        finished(env.schedule, l, r?.ok ?? false, t1, r?.error);
        if (r && !r.ok) {
          const say = l.failures === 1 ? env.log.warn.bind(env.log) : env.log.debug.bind(env.log);
          say({ controller: l.spec.name, failures: l.failures, retryInMs: (l.retryAt ?? t1) - t1 }, `controller ${l.spec.name}: sync failed; full resync after backoff`);
        }
        // a driver asking for a full sync (IPVS real servers draining at weight 0 finish once
        // their connections are gone or their grace period ends): the lanes owning its tables
        if (wanting.size > 0 && tablesOwnedBy(l.spec.name).some((t) => wanting.has(TABLES[t].driver))) l.nextFullAt = Math.min(l.nextFullAt, t1 + (env.schedule.timing.drainRecheckMs ?? DRAIN_RECHECK_MS));
      }
    }
  });

