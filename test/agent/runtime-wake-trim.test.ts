/**
 * The sync loop's plain-promise pieces (loop.ts `Wake`, heap-trim.ts): the wake-up flag the
 * source's events set, and the one full collection the agent runs once it goes idle after a
 * burst of allocation.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";
import { Wake } from "../../src/agent/runtime/loop.ts";
import { heapTrimmer } from "../../src/agent/runtime/heap-trim.ts";

const never = new AbortController().signal;
/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

test("Wake: offers before a take count as one; a take then waits for the next offer", async () => {
  // Given three offers with no one waiting
  const w = new Wake();
  w.offer(); w.offer(); w.offer();
  // Then the first take returns at once, and the next one waits
  assert.equal(await settlesWithin(w.take(undefined, never), 50), true);
  const second = w.take(undefined, never);
  assert.equal(await settlesWithin(second, 50), false);
  // When an offer comes, the waiting take returns
  w.offer();
  assert.equal(await settlesWithin(second, 50), true);
});

test("Wake: a take returns after its timeout, or as soon as the signal aborts, and leaves no waiter behind", async () => {
  const w = new Wake();
  // Given a take with a 30 ms timeout / Then it returns on its own
  const t0 = performance.now();
  await w.take(30, never);
  assert.ok(performance.now() - t0 >= 25);
  // Given a take without timeout / When the signal aborts / Then it returns
  const stop = new AbortController();
  const waiting = w.take(undefined, stop.signal);
  stop.abort();
  assert.equal(await settlesWithin(waiting, 50), true);
  // And an aborted signal ends a take at once; an offer afterwards is kept for the next take
  assert.equal(await settlesWithin(w.take(undefined, stop.signal), 10), true);
  w.offer();
  assert.equal(await settlesWithin(w.take(undefined, never), 10), true);
});

test("heapTrimmer: after a burst it runs one full collection that gives the garbage back; without growth it does nothing", () => {
  // Given a trimmer and a burst of short-lived allocation (~60 MB)
  const trimmer = heapTrimmer(16 * 1024 * 1024);
  trimmer.trim(); // the baseline
  let burst: { i: number; s: string }[] | undefined = [];
  for (let i = 0; i < 600_000; i++) burst.push({ i, s: `row-${i}-${"x".repeat(40)}` });
  assert.ok(burst.length > 0);
  burst = undefined;
  const before = getHeapStatistics().used_heap_size;
  // When the agent goes idle
  const ran = trimmer.trim();
  // Then it collected, and the heap holds far less
  assert.equal(ran, true);
  const after = getHeapStatistics().used_heap_size;
  assert.ok(after < before - 30 * 1024 * 1024, `used heap ${before} → ${after}`);
  // And right after, with nothing allocated, it does nothing
  assert.equal(trimmer.trim(), false);
});
