/** `Retry-After` parsing: seconds or an HTTP-date, bounded to 30 s; anything else ignored. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_RETRY_AFTER_MS, retryAfterMs, retryAfterOf } from "../../src/sources/kube/retry-after.ts";

test("given delay-seconds, then the wait is that many seconds, bounded to 30 s", () => {
  assert.equal(retryAfterMs("0"), 0);
  assert.equal(retryAfterMs(" 5 "), 5000);
  assert.equal(retryAfterMs("3600"), MAX_RETRY_AFTER_MS);
  assert.equal(MAX_RETRY_AFTER_MS, 30_000);
});

test("given an HTTP-date, then the wait is until then (never negative, at most 30 s)", () => {
  const now = Date.parse("Sun, 06 Dec 2026 07:00:00 GMT");
  assert.equal(retryAfterMs("Sun, 06 Dec 2026 07:00:10 GMT", now), 10_000);
  assert.equal(retryAfterMs("Sun, 06 Dec 2026 06:59:00 GMT", now), 0);
  assert.equal(retryAfterMs("Mon, 07 Dec 2026 07:00:00 GMT", now), MAX_RETRY_AFTER_MS);
});

test("given no header or an unreadable one, then there is no wait to honour", () => {
  for (const h of [undefined, "", "soon", "-1", "1.5"]) assert.equal(retryAfterMs(h), undefined, String(h));
  assert.equal(retryAfterMs(["2", "9"]), 2000);
  assert.equal(retryAfterOf({ retryAfterMs: 1500 }), 1500);
  assert.equal(retryAfterOf(new Error("x")), undefined);
  assert.equal(retryAfterOf(null), undefined);
});
