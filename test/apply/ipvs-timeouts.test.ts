/**
 * IPVS global timeouts: parsed from `ipvsadm -L --timeout`, observed only when managed (and
 * only the managed fields), applied with one `ipvsadm --set`, converged on the fake.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeExec } from "../../src/apply/fake.ts";
import { FakeIpvsadm } from "../../src/apply/ipvs/fake.ts";
import { ipvsDriver } from "../../src/apply/ipvs/driver.ts";
import { parseIpvsTimeouts } from "../../src/apply/ipvs/timeouts.ts";
import { isEmptyPlan } from "../../src/model/plan.ts";
import { emptyNodeState } from "../../src/model/state.ts";
import { ipvsTimeouts } from "../../src/render/proxy/plumbing.ts";
import { observeWith, syncWith } from "../support/driver-sync.ts";

test("given ipvsadm's timeout line, when parsed, then the three values come out; other text is an error", () => {
  assert.deepEqual(parseIpvsTimeouts("Timeout (tcp tcpfin udp): 900 120 300\n"), { tcp: 900, tcpfin: 120, udp: 300 });
  assert.throws(() => parseIpvsTimeouts("nonsense"), /unexpected output/);
});

test("given the flags, when rendered, then whole seconds (at least 1) and nothing at all when every flag is 0", () => {
  assert.deepEqual([...ipvsTimeouts({ serviceTcpTimeout: 300_000, serviceTcpfinTimeout: 0, serviceUdpTimeout: 400 }).values()], [{ tcp: 300, tcpfin: 0, udp: 1 }]);
  assert.equal(ipvsTimeouts({ serviceTcpTimeout: 0, serviceTcpfinTimeout: 0, serviceUdpTimeout: 0 }).size, 0);
});

test("given managed timeouts, when synced on the fake, then one --set applies them, the unmanaged field stays, and the next sync is empty", async () => {
  // Given a fake kernel at 900/120/300 and desired tcp=60, udp=30, tcpfin unmanaged
  const ipvs = new FakeIpvsadm();
  const exec = fakeExec(ipvs);
  const desired = { ...emptyNodeState(), ipvsTimeouts: new Map([["ipvs", { tcp: 60, tcpfin: 0, udp: 30 }]]) };
  // When synced
  const plan = await syncWith([ipvsDriver()], exec, desired);
  // Then one change, applied with one write; the kernel keeps tcpfin 120
  assert.equal(plan.ipvsTimeouts.length, 1);
  assert.equal(exec.writes(), 1);
  assert.deepEqual(ipvs.getTimeouts(), { tcp: 60, tcpfin: 120, udp: 30 });
  // And a second sync plans nothing
  assert.ok(isEmptyPlan(await syncWith([ipvsDriver()], exec, desired)));
  // And without managed timeouts nothing is read
  const observed = await observeWith([ipvsDriver()], exec, emptyNodeState());
  assert.equal(observed.ipvsTimeouts.size, 0);
});
