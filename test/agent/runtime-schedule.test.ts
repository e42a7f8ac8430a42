/**
 * The scheduler, as pure data: debounce, maximum delay, minimum interval, periods, failures
 * (full resync after backoff) and isolation (a failing lane runs alone).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { laneSpecs } from "../../src/agent/runtime/lanes.ts";
import { type LaneSpec, type Timing, backoffMs, decide, finished, markDirty, newSchedule, started } from "../../src/agent/runtime/schedule.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";

const timing: Timing = { debounceMs: 100, maxDelayMs: 500, minIntervalMs: 1000, backoffBaseMs: 1000, backoffMaxMs: 8000 };
const router: LaneSpec = { name: "router", periodMs: 60_000, kinds: new Set(["nodes"]) };
const proxy: LaneSpec = { name: "proxy", periodMs: 30_000, kinds: new Set(["services", "nodes"]) };

/** A schedule whose lanes all completed their first full sync at t=0 (ending at t=10). */
function synced(...specs: LaneSpec[]) {
  const s = newSchedule(specs, timing);
  const d = decide(s, 0);
  assert.equal(d.kind, "run");
  if (d.kind !== "run") throw new Error();
  assert.equal(d.sync, "full");
  started(d.lanes, d.sync, 0);
  for (const l of d.lanes) finished(s, l, true, 10);
  return s;
}

test("schedule: every lane syncs fully at start, together", () => {
  const s = newSchedule([router, proxy], timing);
  const d = decide(s, 5);
  assert.deepEqual(d.kind === "run" ? [d.sync, d.lanes.map((l) => l.spec.name)] : d, ["full", ["router", "proxy"]]);
});

test("schedule: a change waits for quiet (debounce), then syncs partially", () => {
  // Given a synced router lane, and changes at 2000 and 2050
  const s = synced(router);
  markDirty(s, "nodes", 2000);
  markDirty(s, "nodes", 2050);
  // Then nothing runs before 2150 (100 ms after the last change)
  assert.deepEqual(decide(s, 2100), { kind: "wait", until: 2150 });
  const d = decide(s, 2150);
  assert.equal(d.kind, "run");
  assert.equal(d.kind === "run" && d.sync, "partial");
});

test("schedule: changes of a kind the lane does not use do not wake it", () => {
  const s = synced(router);
  assert.equal(markDirty(s, "services", 2000), 0);
  assert.deepEqual(decide(s, 5000), { kind: "wait", until: 60_000 });
});

test("schedule: continuous churn still syncs within the maximum delay", () => {
  const s = synced(router);
  for (let t = 2000; t <= 2600; t += 50) markDirty(s, "nodes", t);
  // The first change was at 2000: due at 2500 even though changes keep coming
  const d = decide(s, 2500);
  assert.equal(d.kind, "run");
});

test("schedule: two partial syncs start at least the minimum interval apart", () => {
  const s = synced(router);
  markDirty(s, "nodes", 2000);
  const d = decide(s, 2100);
  if (d.kind !== "run") throw new Error("expected run");
  started(d.lanes, d.sync, 2100);
  finished(s, d.lanes[0]!, true, 2110);
  // A change right after waits until 3100 (1000 ms after the previous start)
  markDirty(s, "nodes", 2200);
  assert.deepEqual(decide(s, 2300), { kind: "wait", until: 3100 });
});

test("schedule: a change during a sync is not lost: another sync follows", () => {
  const s = synced(router);
  markDirty(s, "nodes", 2000);
  const d = decide(s, 2100);
  if (d.kind !== "run") throw new Error("expected run");
  started(d.lanes, d.sync, 2100);
  markDirty(s, "nodes", 2105); // arrives while the sync runs
  assert.deepEqual(decide(s, 2106), { kind: "wait", until: undefined }); // a running lane is never picked
  finished(s, d.lanes[0]!, true, 2110);
  assert.deepEqual(decide(s, 2110), { kind: "wait", until: 3100 });
});

test("schedule: each lane syncs fully every period", () => {
  const s = synced(router, proxy);
  // proxy's period (30 s) comes first, alone, full
  assert.deepEqual(decide(s, 1000), { kind: "wait", until: 30_000 });
  const d = decide(s, 30_000);
  assert.deepEqual(d.kind === "run" ? [d.sync, d.lanes.map((l) => l.spec.name)] : d, ["full", ["proxy"]]);
});

test("schedule: a failure makes the next sync full, after an exponential backoff", () => {
  const s = synced(router);
  markDirty(s, "nodes", 2000);
  const d = decide(s, 2100);
  if (d.kind !== "run") throw new Error("expected run");
  started(d.lanes, "partial", 2100);
  const lane = d.lanes[0]!;
  finished(s, lane, false, 2200, "apply ip: boom");
  // Then the retry is full and waits 1 s, then 2 s, 4 s, capped at 8 s
  assert.deepEqual(decide(s, 2300), { kind: "wait", until: 3200 });
  const r = decide(s, 3200);
  assert.equal(r.kind === "run" && r.sync, "full");
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(timing, n)), [1000, 2000, 4000, 8000, 8000]);
  assert.equal(lane.lastError, "apply ip: boom");
  // And a success clears the failure
  started([lane], "full", 3200);
  finished(s, lane, true, 3300);
  assert.equal(lane.failures, 0);
  assert.equal(lane.lastSuccessAt, 3300);
});

test("schedule: a failing lane runs alone; the others keep their own schedule", () => {
  // Given router failed and is due its retry at the same time proxy has a change
  const s = synced(router, proxy);
  const [r, p] = s.lanes;
  started([r!], "full", 100);
  finished(s, r!, false, 200, "render failed");
  markDirty(s, "services", 1100);
  // Then the failed lane is run alone first, and the healthy one next, partially
  const first = decide(s, 1300);
  assert.deepEqual(first.kind === "run" ? [first.sync, first.lanes.map((l) => l.spec.name)] : first, ["full", ["router"]]);
  started(first.kind === "run" ? first.lanes : [], "full", 1300);
  const second = decide(s, 1300);
  assert.deepEqual(second.kind === "run" ? [second.sync, second.lanes.map((l) => l.spec.name)] : second, ["partial", ["proxy"]]);
  assert.equal(p!.failures, 0);
});

test("schedule: given the route extender off, when the lanes are built, then its lane syncs once at start and then rests through node churn and periods", () => {
  const spec = (on: boolean) => laneSpecs({ ...DEFAULT_CONFIG, runRouteExtender: on }).lanes.find((l) => l.name === "extender")!;
  // with the extender on, it has a period and follows nodes and its ConfigMap
  assert.deepEqual([...spec(true).kinds].sort(), ["configMaps", "nodes"]);
  assert.ok(Number.isFinite(spec(true).periodMs));
  // off: one full sync at start (removes what an earlier run left) …
  const off = spec(false);
  const s = synced(router, off);
  // … then node changes and a day of periods wake the router lane only
  markDirty(s, "nodes", 2000);
  const d = decide(s, 2100);
  assert.deepEqual(d.kind === "run" ? d.lanes.map((l) => l.spec.name) : d, ["router"]);
  started(d.kind === "run" ? d.lanes : [], "partial", 2100);
  for (const l of s.lanes) if (l.running) finished(s, l, true, 2110);
  const later = decide(s, 86_400_000);
  assert.deepEqual(later.kind === "run" ? later.lanes.map((l) => l.spec.name) : later, ["router"]);
  const extenderLane = s.lanes.find((l) => l.spec.name === "extender")!;
  assert.equal(extenderLane.lastStartAt, 0);
});
