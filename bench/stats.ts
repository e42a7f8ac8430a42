/**
 * Timing helpers: wall-clock samples in milliseconds and their median.
 */

/** A measured quantity: every sample (ms) and their median. */
export interface Samples {
  readonly median: number;
  readonly samples: readonly number[];
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Samples from a list of ms values. */
export const samplesOf = (xs: readonly number[]): Samples => ({ median: median(xs), samples: xs.map(round3) });

/** Rounds to 3 decimals (µs resolution is plenty in a results file). */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Wall ms of one synchronous call, and its result. */
export function timed<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

/** Wall ms of one asynchronous call, and its result. */
export async function timedAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed; returns the samples. */
export function repeat(runs: number, warmup: number, fn: () => unknown): Samples {
  for (let i = 0; i < warmup; i++) fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(timed(fn).ms);
  return samplesOf(xs);
}

/** Peak resident set size of this process so far, in MiB. */
export const peakRssMiB = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
