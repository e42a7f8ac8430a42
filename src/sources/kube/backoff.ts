/**
 * Exponential backoff for informer restarts: `initialMs`, then ×`factor` per consecutive
 * failure up to `maxMs`, each delay multiplied by a random factor in [1 − jitter, 1 + jitter]
 * (capped at `maxMs`). `random` is injectable, so tests get exact delays (jitter 0, or a fixed
 * random). `reset()` after a success starts over at `initialMs`.
 *
 * @category sources
 */

export interface BackoffOptions {
  /** First delay (default 500 ms). */
  readonly initialMs?: number;
  /** Largest delay (default 10 s, DESIGN §10 "backoff capped at ~10 s"). */
  readonly maxMs?: number;
  /** Growth per failure (default 2). */
  readonly factor?: number;
  /** Relative jitter, 0..1 (default 0.2). */
  readonly jitter?: number;
  /** Source of randomness in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 10_000;
    this.factor = opts.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    const jittered = base * (1 - this.jitter + 2 * this.jitter * this.random());
    return Math.round(Math.min(this.maxMs, Math.max(0, jittered)));
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
