/**
 * Graceful termination of IPVS real servers (`--ipvs-graceful-termination`,
 * `--ipvs-graceful-period`), kube-router's semantics without its side channel.
 *
 * Design. Render stays pure (it never sees connection counts or the clock), the diff stays
 * generic, compile stays pure; the kernel facts enter through observe, as for every table:
 *
 * - A *candidate* is an observed real server that the rendered scope no longer wants while
 *   its service stays (reals of a deleted service go with it; a disabled or failed proxy
 *   renders no service, so nothing is a candidate then).
 * - In a full sync, observe reads the connection counts (`ipvsadm -Ln`: ActiveConn +
 *   InActConn), but only when there is a candidate, so a steady state costs no extra read.
 *   For each candidate:
 *   - no connection, or its grace period is over → reported as observed: the plan deletes
 *     it and compile writes `-d` (a weight-0 real, or a key in `idle`);
 *   - connections, weight > 0 → reported: the plan deletes it and compile writes `-e … -w 0`
 *     instead; its grace period starts;
 *   - connections, weight 0, within its grace period → draining: NOT reported. The plan
 *     does not mention it, so a no-op resync writes nothing while it drains and the
 *     engine's post-apply verification converges. Once drained (or expired) it is reported
 *     again and deleted by the next full sync.
 * - A partial sync (no observe) cannot know the counts: a deletion there always starts with
 *   weight 0, and a later full sync finishes it. A real that comes back while still in the
 *   kernel at weight 0 is written with `-e` (compile's `draining`), since `-a` would fail.
 *
 * The grace period starts when the real server is first set to weight 0 (or first seen as a
 * candidate). Its length is, as upstream's, per real server: the target pod's
 * `terminationGracePeriodSeconds` when the render gave one (`IpvsReal.graceSeconds`, rendered
 * with `--ipvs-graceful-termination` only), else `--ipvs-graceful-period`. A candidate is no
 * longer rendered, so the tracker remembers each rendered real's period (from the scope of
 * every full observation and from the plan of every apply) until the real leaves the kernel.
 * All of it is kept in memory only, like upstream's: after an agent restart a draining
 * real server gets a fresh period, of `--ipvs-graceful-period` unless rendered again. `pending()` tells the sync loop that a full sync is due
 * (upstream checks every 5 s) so a drained real server does not wait for `--ipvs-sync-period`.
 *
 * @category apply
 */
import type { IpvsReal, NodeState } from "../../model/state.ts";
import type { Table } from "../../model/table.ts";

export interface GracefulOptions {
  /** Grace period in ms (`--ipvs-graceful-period`). */
  readonly periodMs: number;
  /** Clock (ms); tests pass a fake one. */
  readonly now?: () => number;
}

export interface Settled {
  /** Observed reals minus those draining (the ones the plan must not mention). */
  readonly reals: Table<IpvsReal>;
  /** Candidates observed without connections: compile deletes them at once. */
  readonly idle: ReadonlySet<string>;
}

/** Tracks grace periods of draining real servers (one per driver instance). */
export class DrainTracker {
  /** real key → when its grace period started (ms). */
  private readonly since = new Map<string, number>();
  /** real key → its own grace period (ms), remembered from rendered rows carrying one. */
  private readonly periods = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: GracefulOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Candidate real keys of an observation (see the module comment). */
  static candidates(reals: Table<IpvsReal>, scope: Pick<NodeState, "ipvsServices" | "ipvsReals">): string[] {
    return [...reals].filter(([k, r]) => scope.ipvsServices.has(r.service) && !scope.ipvsReals.has(k)).map(([k]) => k);
  }

  /**
   * Applies the rules above to one full observation. `conns` holds ActiveConn + InActConn
   * per real key (read only when there are candidates; a missing key counts as 0).
   */
  settle(reals: Table<IpvsReal>, scope: Pick<NodeState, "ipvsServices" | "ipvsReals">, conns: ReadonlyMap<string, number>): Settled {
    const t = this.now();
    this.remember(scope.ipvsReals);
    const candidates = new Set(DrainTracker.candidates(reals, scope));
    const out = new Map<string, IpvsReal>();
    const idle = new Set<string>();
    for (const [k, r] of reals) {
      if (!candidates.has(k)) { this.since.delete(k); out.set(k, r); continue; }
      const busy = (conns.get(k) ?? 0) > 0;
      const start = this.since.get(k) ?? t;
      if (!this.since.has(k)) this.since.set(k, start);
      const expired = t - start >= this.periodOf(k);
      if (!busy || expired) {
        this.since.delete(k);
        idle.add(k);
        out.set(k, r);
      } else if (r.weight > 0) out.set(k, r); // compile sets weight 0
      // else: draining at weight 0 — not reported
    }
    for (const k of [...this.since.keys()]) if (!reals.has(k)) this.since.delete(k);
    for (const k of [...this.periods.keys()]) if (!reals.has(k) && !scope.ipvsReals.has(k)) this.periods.delete(k);
    return { reals: out, idle };
  }

  /** Records the grace period of rendered reals (a row without one forgets a remembered one). */
  remember(rows: Iterable<readonly [string, IpvsReal]>): void {
    for (const [k, r] of rows) {
      if (r.graceSeconds !== undefined) this.periods.set(k, r.graceSeconds * 1000);
      else this.periods.delete(k);
    }
  }

  /** The grace period of one real server (ms): its pod's when remembered, else the flag's. */
  periodOf(key: string): number {
    return this.periods.get(key) ?? this.opts.periodMs;
  }

  /** Records reals just set to weight 0 (their grace period starts now unless running). */
  started(keys: readonly string[]): void {
    const t = this.now();
    for (const k of keys) if (!this.since.has(k)) this.since.set(k, t);
  }

  /** Keys of real servers draining at weight 0 in the kernel. */
  draining(): ReadonlySet<string> {
    return new Set(this.since.keys());
  }

  /** Number of draining real servers: while > 0 the sync loop should run full syncs often. */
  pending(): number {
    return this.since.size;
  }

  /** Forgets a real that is desired again (after `-e` restored its weight). */
  forget(keys: readonly string[]): void {
    for (const k of keys) this.since.delete(k);
  }
}
