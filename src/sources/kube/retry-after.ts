/**
 * The API server's `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), as
 * sent with 429 Too Many Requests (API priority and fairness) and some 5xx answers: how long to
 * wait before the next request. Bounded to `MAX_RETRY_AFTER_MS`, so a wrong or hostile header
 * never parks an informer for long; an absent or unreadable header gives undefined (the usual
 * backoff applies).
 *
 * @category sources
 */

/** The longest wait a `Retry-After` header can impose (30 s). */
export const MAX_RETRY_AFTER_MS = 30_000;

/** Milliseconds to wait for a `Retry-After` value, in [0, MAX_RETRY_AFTER_MS]; undefined when absent or unreadable. */
export function retryAfterMs(header: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (v === undefined || v === "") return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = /^[A-Za-z]{3}, /.test(v) ? Date.parse(v) : NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The `retryAfterMs` an error carries (ListError, WatchError), if any. */
export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
