/**
 * The sync loop: wait for the source's initial lists (never prune before), then repeatedly ask
 * the scheduler what is due, run it, and record the result. Source events only mark lanes
 * dirty and wake the loop (`Wake`, a one-slot flag).
 *
 * A step (one engine sync) is never cut short: stopping (the `signal` aborting) ends a wait at
 * once, but lets the apply in progress finish, then the loop returns. Never fails; every error
 * is logged and becomes a lane failure (full resync after backoff).
 *
 * Plain promises, not Effect: the loop needs a flag, a timer and an abort signal, and loading
 * the `effect` package cost the agent 40 MiB of RSS (issue 15).
 *
 * @category agent
 */
import type { ClusterSource } from "../../sources/source.ts";
import type { Logger } from "./log.ts";
import { type Schedule, type SyncKind, decide, finished, markDirty, started } from "./schedule.ts";
import type { ControllerName } from "../../render/controller.ts";
import type { LaneResult } from "./step.ts";
import { type DriverFamily, TABLES, tablesOwnedBy } from "../../model/registry.ts";

/**
 * The loop's wake-up flag: `offer` sets it, or wakes the waiter at once; several offers before
 * a `take` count as one. One waiter at a time (the loop).
 */
export class Wake {
  private pending = false;
  private waiter: (() => void) | undefined;

  /** Sets the flag, or wakes the waiting `take`. */
  offer(): void {
    const w = this.waiter;
    if (w) w();
    else this.pending = true;
  }

  /**
   * Resolves once the flag is set (at once when it already is; the flag is cleared), after
   * `ms` (never, when undefined), or when `signal` aborts, whichever comes first. Never rejects.
   */
  take(ms: number | undefined, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.waiter = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** `p`'s value, or `undefined` as soon as `signal` aborts (p's outcome is then ignored). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener("abort", onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener("abort", onAbort); reject(e); },
    );
  });
}

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
  /** Told once each time the loop, after running syncs, has nothing due (heap-trim.ts). */
  readonly idle?: () => void;
}

/** Default of `timing.drainRecheckMs`: upstream checks draining real servers every 5 s. */
export const DRAIN_RECHECK_MS = 5000;

/**
 * Subscribes to the source and returns the wake-up flag; pair with the returned unsubscribe.
 * A change marks the lanes depending on its kind dirty ("relisted" marks them all).
 */
export function subscribe(env: Pick<LoopEnv, "schedule" | "source" | "now">): { wake: Wake; unsubscribe: () => void } {
  const wake = new Wake();
  const unsubscribe = env.source.onChange((c) => {
    if (markDirty(env.schedule, c.type === "relisted" ? undefined : c.kind, env.now()) > 0) wake.offer();
  });
  return { wake, unsubscribe };
}

/**
 * Waits until the source has every initial list, logging each `--cache-sync-timeout` that
 * passes. Resolves true once synced, false when `signal` aborts first.
 */
export async function waitForSource(env: Pick<LoopEnv, "source" | "log" | "cacheSyncTimeoutMs">, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const ok = await unlessAborted(env.source.waitSynced(env.cacheSyncTimeoutMs), signal);
    if (ok === undefined) return false;
    if (ok) {
      env.log.info({ attempt }, "cluster source synced: every initial list is in");
      return true;
    }
    const err = env.source.status().error;
    env.log.warn(
      { attempt, waitedMs: env.cacheSyncTimeoutMs, ...(err ? { err } : {}) },
      `cluster source not synced after --cache-sync-timeout${err ? ` (${err})` : ""}; nothing is changed until it is; still retrying`,
    );
  }
}

/** The loop proper (after the source synced). Runs until `signal` aborts, then resolves. */
export async function syncLoop(env: LoopEnv, wake: Wake, signal: AbortSignal): Promise<void> {
  let ranSinceIdle = false;
  while (!signal.aborted) {
    const d = decide(env.schedule, env.now());
    if (d.kind === "wait") {
      if (ranSinceIdle) {
        ranSinceIdle = false;
        env.idle?.();
        continue; // time passed: decide again
      }
      await wake.take(d.until === undefined ? undefined : Math.max(0, d.until - env.now()), signal);
      continue;
    }
    const lanes = env.allLanes ? env.schedule.lanes.filter((l) => !l.running) : d.lanes;
    const t0 = env.now();
    started(lanes, d.sync, t0);
    env.status.busySince = t0;
    ranSinceIdle = true;
    const results = await env.step(lanes.map((l) => l.spec.name), d.sync).catch((e: unknown) =>
      lanes.map((l) => ({ lane: l.spec.name, ok: false, error: (e as Error).message }) as LaneResult));
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
}
