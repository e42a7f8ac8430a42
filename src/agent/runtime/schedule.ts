/**
 * The sync scheduler, as plain data and pure functions (no timers, no I/O): one lane per
 * enabled controller, each with its own dirty flag, full-sync period, failure count and retry
 * time. The loop (loop.ts) asks `decide(now)` what to run and when to wake up, runs it, and
 * reports back with `started` / `finished`.
 *
 * Rules (DESIGN.md §6, style §2.10):
 * - a change only marks lanes dirty; a dirty lane syncs partially once the changes have been
 *   quiet for `debounceMs` (but no later than `maxDelayMs` after the first one), and never
 *   sooner than `minIntervalMs` after the lane's previous sync started;
 * - a lane syncs fully at start, every `periodMs`, and after any failure (the next sync of a
 *   failed lane is full, and waits for an exponential backoff: base × 2^(failures−1), capped);
 * - a lane that failed runs alone until it succeeds again, so it cannot fail the others
 *   (batching due lanes into one sync is only an optimisation).
 *
 * @category agent
 */
import type { ControllerName } from "../../render/controller.ts";
import type { SourceKind } from "../../sources/source.ts";

export type SyncKind = "full" | "partial";

export interface Timing {
  /** Quiet time after the last change before a partial sync. */
  readonly debounceMs: number;
  /** Longest a change waits under continuous churn. */
  readonly maxDelayMs: number;
  /** Minimum time between the starts of two syncs of one lane (changes only; full syncs too). */
  readonly minIntervalMs: number;
  /** First retry delay after a failure; doubles per consecutive failure. */
  readonly backoffBaseMs: number;
  /** Cap of the retry delay. */
  readonly backoffMaxMs: number;
  /** While IPVS real servers drain at weight 0, the proxy's next full sync comes within this (upstream: 5 s). */
  readonly drainRecheckMs?: number;
}

export const DEFAULT_TIMING: Timing = Object.freeze({
  debounceMs: 50,
  maxDelayMs: 500,
  minIntervalMs: 1000,
  backoffBaseMs: 1000,
  backoffMaxMs: 30_000,
  drainRecheckMs: 5000,
});

export interface LaneSpec {
  readonly name: ControllerName;
  /** The controller's sync period (`--routes-sync-period`, …). */
  readonly periodMs: number;
  /** Kinds whose changes make this lane dirty. */
  readonly kinds: ReadonlySet<SourceKind>;
  /**
   * Set when a flag of this controller asks for something not built (flag-status.ts): the
   * lane is parked — it never syncs, its objects stay as they are, /healthz reports this line.
   */
  readonly refused?: string;
}

/** One lane's mutable state; read by health and metrics. */
export interface LaneState {
  readonly spec: LaneSpec;
  /** First change not yet picked up by a sync (ms epoch). */
  dirtySince: number | undefined;
  /** Latest change not yet picked up by a sync. */
  lastChangeAt: number | undefined;
  /** The next sync must be full (start, failure, lost in-memory state). */
  needFull: boolean;
  /** When the periodic full sync is due. */
  nextFullAt: number;
  running: boolean;
  lastStartAt: number | undefined;
  /** End of the last sync that succeeded. */
  lastSuccessAt: number | undefined;
  /** Duration of the last finished sync. */
  lastDurationMs: number | undefined;
  /** Consecutive failures. */
  failures: number;
  /** No sync before this time (backoff after a failure). */
  retryAt: number | undefined;
  /** One line: why the last sync failed (cleared on success). */
  lastError: string | undefined;
}

export interface Schedule {
  readonly timing: Timing;
  readonly lanes: readonly LaneState[];
}

/**
 * A fresh schedule: every lane needs a full sync now, except refused lanes, which are parked:
 * marked running for good, so neither `decide` nor the dry-run loop's all-lanes batch (loop.ts
 * takes every lane not running) ever picks them.
 */
export function newSchedule(specs: readonly LaneSpec[], timing: Timing = DEFAULT_TIMING): Schedule {
  return {
    timing,
    lanes: specs.map((spec) => ({
      spec, dirtySince: undefined, lastChangeAt: undefined, needFull: true, nextFullAt: 0, running: spec.refused !== undefined,
      lastStartAt: undefined, lastSuccessAt: undefined, lastDurationMs: undefined, failures: 0, retryAt: undefined, lastError: undefined,
    })),
  };
}

/** Marks the lanes that depend on `kind` dirty (`undefined` = every lane). Returns how many. */
export function markDirty(s: Schedule, kind: SourceKind | undefined, now: number): number {
  let n = 0;
  for (const l of s.lanes) {
    if (kind !== undefined && !l.spec.kinds.has(kind)) continue;
    l.dirtySince ??= now;
    l.lastChangeAt = now;
    n++;
  }
  return n;
}

/**
 * Marks the lanes `owns` selects as needing a sync now: `full` makes the next one full and due
 * at once (a driver lost its state, e.g. gobgpd restarted); otherwise they are dirty like a
 * source change (debounced). Returns how many lanes were marked.
 */
export function markLanes(s: Schedule, owns: (name: ControllerName) => boolean, now: number, full: boolean): number {
  let n = 0;
  for (const l of s.lanes) {
    if (!owns(l.spec.name) || l.spec.refused !== undefined) continue;
    if (full) {
      l.needFull = true;
      l.nextFullAt = Math.min(l.nextFullAt, now);
    } else {
      l.dirtySince ??= now;
      l.lastChangeAt = now;
    }
    n++;
  }
  return n;
}

/** When a lane may next sync (ms epoch), with the kind of sync; undefined = nothing to do until a change (or ever, for a resting lane). */
export function laneDue(s: Schedule, l: LaneState): { at: number; kind: SyncKind } | undefined {
  if (l.running || l.spec.refused !== undefined) return undefined;
  const t = s.timing;
  const candidates: { at: number; kind: SyncKind }[] = [{ at: l.nextFullAt, kind: "full" }];
  if (l.needFull && l.failures > 0) candidates.push({ at: l.retryAt ?? 0, kind: "full" });
  if (l.dirtySince !== undefined && l.lastChangeAt !== undefined) {
    const quiet = Math.min(l.lastChangeAt + t.debounceMs, l.dirtySince + t.maxDelayMs);
    candidates.push({ at: Math.max(quiet, (l.lastStartAt ?? -Infinity) + t.minIntervalMs), kind: l.needFull ? "full" : "partial" });
  }
  const best = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  const at = Math.max(best.at, l.retryAt ?? -Infinity);
  // a resting lane (periodMs Infinity) after its sync: nothing until it is marked
  if (at === Infinity) return undefined;
  return { at, kind: l.needFull || at >= l.nextFullAt ? "full" : best.kind };
}

export type Decision =
  | { readonly kind: "run"; readonly lanes: readonly LaneState[]; readonly sync: SyncKind }
  | { readonly kind: "wait"; readonly until: number | undefined };

/**
 * What to do at `now`: run a batch of due lanes (a failed lane alone; the others together,
 * full when any of them is due a full sync), or wait until the earliest due time
 * (`undefined`: until a change). Never returns a lane that is running.
 */
export function decide(s: Schedule, now: number): Decision {
  const due: { lane: LaneState; kind: SyncKind }[] = [];
  let until: number | undefined;
  for (const l of s.lanes) {
    const d = laneDue(s, l);
    if (d === undefined) continue;
    if (d.at <= now) due.push({ lane: l, kind: d.kind });
    else until = until === undefined ? d.at : Math.min(until, d.at);
  }
  if (due.length === 0) return { kind: "wait", until };
  const failed = due.find((d) => d.lane.failures > 0);
  if (failed) return { kind: "run", lanes: [failed.lane], sync: failed.kind };
  return { kind: "run", lanes: due.map((d) => d.lane), sync: due.some((d) => d.kind === "full") ? "full" : "partial" };
}

/** Records that `lanes` started a sync of `kind` at `now` (their pending changes are taken). */
export function started(lanes: readonly LaneState[], kind: SyncKind, now: number): void {
  for (const l of lanes) {
    if (l.spec.refused !== undefined) continue;
    l.running = true;
    l.lastStartAt = now;
    l.dirtySince = undefined;
    l.lastChangeAt = undefined;
    if (kind === "full") {
      l.needFull = false;
      l.nextFullAt = now + l.spec.periodMs;
    }
  }
}

/**
 * Records the end of a lane's sync: success clears failures; failure makes the next sync full
 * and sets the retry time by exponential backoff.
 */
export function finished(s: Schedule, l: LaneState, ok: boolean, now: number, error?: string): void {
  if (l.spec.refused !== undefined) return;
  l.running = false;
  l.lastDurationMs = l.lastStartAt === undefined ? undefined : now - l.lastStartAt;
  if (ok) {
    l.failures = 0;
    l.retryAt = undefined;
    l.lastSuccessAt = now;
    l.lastError = undefined;
    return;
  }
  l.failures++;
  l.needFull = true;
  l.retryAt = now + backoffMs(s.timing, l.failures);
  l.lastError = error;
}

/** Retry delay after `failures` consecutive failures: base × 2^(failures−1), capped. */
export function backoffMs(t: Timing, failures: number): number {
  return Math.min(t.backoffMaxMs, t.backoffBaseMs * 2 ** Math.max(0, failures - 1));
}

/** Marks every lane as needing a full sync (the in-memory applied state is no longer trusted). */
export function requireFull(s: Schedule): void {
  for (const l of s.lanes) l.needFull = true;
}
