/**
 * The Lease elector (apply/kube-status/lease.ts) over an in-memory Lease with resourceVersion
 * preconditions and a test clock: one leader of two; a holder that stops renewing loses the
 * Lease after the lease duration (as seen by the other's clock); a released Lease is taken at
 * once; a leader that cannot renew for the renew deadline steps down.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type LeaseApi, type LeaseRecord, LeaseElector } from "../../src/apply/kube-status/lease.ts";

function memoryLease() {
  let rec: LeaseRecord | undefined;
  let rv = 0;
  let down = false;
  const api: LeaseApi = {
    async read() { if (down) throw new Error("connection refused"); return rec; },
    async write(next, resourceVersion) {
      if (down) throw new Error("connection refused");
      if (resourceVersion === undefined ? rec !== undefined : rec?.resourceVersion !== resourceVersion) return "conflict";
      rec = { ...next, resourceVersion: String(++rv) };
      return "ok";
    },
  };
  return { api, get: () => rec, setDown: (d: boolean) => { down = d; } };
}

test("two candidates: one leader; the other takes over only after the holder stopped renewing for the lease duration", async () => {
  let now = 1_000_000;
  const lease = memoryLease();
  const changes: string[] = [];
  const a = new LeaseElector(lease.api, { identity: "a", now: () => now, onChange: (l) => changes.push(`a ${l}`) });
  const b = new LeaseElector(lease.api, { identity: "b", now: () => now, onChange: (l) => changes.push(`b ${l}`) });
  await a.tryOnce();
  await b.tryOnce();
  assert.deepEqual([a.isLeader(), b.isLeader(), lease.get()?.holderIdentity], [true, false, "a"]);
  // a renews every 2 s; b never gets it
  for (let i = 0; i < 10; i++) { now += 2000; await a.tryOnce(); await b.tryOnce(); }
  assert.deepEqual([a.isLeader(), b.isLeader()], [true, false]);
  // a stops renewing (crashed): b takes it once the record is 15 s old on b's clock, not before
  now += 2000; await b.tryOnce();
  now += 12_000; await b.tryOnce();
  assert.equal(b.isLeader(), false, "14 s: not yet");
  now += 2000; await b.tryOnce();
  assert.deepEqual([b.isLeader(), lease.get()?.holderIdentity, lease.get()?.leaseTransitions], [true, "b", 1]);
  // and a, were it to come back, sees b's Lease and does not lead (its own renew is stale too)
  await a.tryOnce();
  assert.equal(a.isLeader(), false);
});

test("a leader that cannot reach the API steps down after the renew deadline; a released Lease is taken at once", async () => {
  let now = 5_000_000;
  const lease = memoryLease();
  const a = new LeaseElector(lease.api, { identity: "a", now: () => now });
  const b = new LeaseElector(lease.api, { identity: "b", now: () => now });
  await a.tryOnce();
  assert.equal(a.isLeader(), true);
  lease.setDown(true);
  now += 9000; await a.tryOnce();
  assert.equal(a.isLeader(), true, "9 s without renew: still leader");
  now += 2000; await a.tryOnce();
  assert.equal(a.isLeader(), false, "11 s: stepped down (renew deadline 10 s)");
  lease.setDown(false);
  await a.tryOnce();
  assert.equal(a.isLeader(), true);
  // release: stop() clears the holder; b takes it on its next round, no waiting
  a.start();
  await a.stop();
  assert.equal(lease.get()?.holderIdentity, "");
  await b.tryOnce();
  assert.equal(b.isLeader(), true);
});
