/**
 * IPVS driver over the semantic fake (FakeIpvsadm, FakeConntrack), through the engine's
 * observeAll/compilePlan: sync, foreign services left alone, no-op resync writes nothing,
 * partial syncs touch only changed entries, graceful termination with a fake clock, UDP
 * conntrack flush, no IPVS in the kernel, ipvsadm's restore semantics the driver relies on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeExec } from "../../src/apply/fake.ts";
import type { ExecResult } from "../../src/apply/exec.ts";
import { compilePlan } from "../../src/agent/engine.ts";
import { ipvsDriver } from "../../src/apply/ipvs/driver.ts";
import { FakeConntrack, FakeIpvsadm } from "../../src/apply/ipvs/fake.ts";
import { parseIpvsSave } from "../../src/apply/ipvs/parse.ts";
import { diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import { type IpvsReal, type IpvsService, ipvsServiceKey } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";
import { observeWith, syncWith } from "../support/driver-sync.ts";
import { SERVICE_CIDRS, nodeWith, stateOf } from "./ipvs-gen.ts";

/** `ip -j addr show` answers: kube-dummy-if with `dummy` addresses, eth0 with `local` ones. */
function fakeIp(dummy: string[] = [], local: string[] = ["192.168.1.5"]) {
  return {
    handles: (cmd: string) => cmd === "ip",
    run: (_c: string, args: readonly string[]): ExecResult => {
      if (args.join(" ") === "-j addr show") {
        return { code: 0, stdout: JSON.stringify([{ ifname: "eth0", addr_info: local.map((l) => ({ local: l })) }, { ifname: "kube-dummy-if", addr_info: dummy.map((l) => ({ local: l })) }]), stderr: "" };
      }
      if (args.includes("rule")) return { code: 0, stdout: "[]", stderr: "" };
      return { code: 1, stdout: "", stderr: "unexpected" };
    },
  };
}
const svc = (address: string, port: number, extra: Partial<IpvsService> = {}): IpvsService =>
  ({ family: address.includes(":") ? "ipv6" : "ipv4", protocol: "tcp", address, port, scheduler: "rr", flags: [], ...extra });
const real = (s: IpvsService, address: string, port: number, extra: Partial<IpvsReal> = {}): IpvsReal =>
  ({ service: ipvsServiceKey(s), address, port, weight: 1, forward: "masq", ...extra });
const opts = { serviceCidrs: SERVICE_CIDRS, nodePortRange: [30000, 32767] as const };
const writesOf = (calls: readonly { write: boolean; stdin?: string }[]) => calls.filter((c) => c.write).map((c) => c.stdin ?? "");

test("sync over the fake: desired reached in one restore, foreign services untouched, a resync writes nothing", async () => {
  // Given foreign services (a foreign VIP, a foreign port on a local address) and a stale one of ours on kube-dummy-if
  const ipvs = new FakeIpvsadm();
  ipvs.run("ipvsadm", ["--restore"], "-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 192.0.2.99:80 -m -w 1\n-A -t 192.168.1.5:22 -s rr\n-A -t 203.0.113.7:80 -s rr\n-A -t 192.168.1.5:30080 -s rr\n");
  const exec = fakeExec(ipvs, fakeIp(["203.0.113.7"]));
  const A = svc("10.96.0.10", 80); const B = svc("fd00:96::a", 53, { protocol: "udp", persistent: 60 });
  const desired = stateOf([A, B], [real(A, "10.244.0.11", 8080), real(B, "fd00:244::11", 53)]);
  // When synced
  await syncWith([ipvsDriver(opts)], exec, nodeWith(desired));
  // Then one restore ran: ours created, the stale kube-dummy-if and NodePort services deleted, foreign left alone
  assert.deepEqual(writesOf(exec.calls), [
    "-D -t 192.168.1.5:30080\n-D -t 203.0.113.7:80\n-A -t 10.96.0.10:80 -s rr\n-A -u [fd00:96::a]:53 -s rr -p 60\n-a -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1\n-a -u [fd00:96::a]:53 -r [fd00:244::11]:53 -m -w 1\n",
  ]);
  assert.deepEqual([...parseIpvsSave(ipvs.dump()).services.keys()], ["tcp/10.96.0.10/80", "tcp/192.0.2.10/80", "tcp/192.168.1.5/22", "udp/[fd00:96::a]/53"]);
  // And a resync plans nothing, writes nothing
  const again = fakeExec(ipvs, fakeIp(["203.0.113.7"]));
  assert.ok(isEmptyPlan(await syncWith([ipvsDriver(opts)], again, nodeWith(desired))));
  assert.equal(again.writes(), 0);
  // And when every service is rendered, observe reads nothing but `ipvsadm -Sn`
  const lean = fakeExec(new FakeIpvsadm());
  await syncWith([ipvsDriver(opts)], lean, nodeWith(desired));
  assert.deepEqual(lean.calls.filter((c) => !c.write).map((c) => [c.cmd, ...c.args].join(" ")), ["ipvsadm -Sn"]);
});

test("a partial sync (plan against the last applied state) writes only the changed real server", () => {
  // Given 50 services × 3 reals as last applied, and one endpoint replaced
  const svcs = Array.from({ length: 50 }, (_, i) => svc(`10.96.0.${i + 1}`, 80));
  const reals = svcs.flatMap((s, i) => [11, 12, 13].map((h) => real(s, `10.244.${i}.${h}`, 8080)));
  const before = nodeWith(stateOf(svcs, reals));
  const after = nodeWith(stateOf(svcs, reals.map((r) => (r.address === "10.244.7.12" ? { ...r, address: "10.244.7.99" } : r))));
  // When planned and compiled
  const scripts = compilePlan([ipvsDriver(opts)], diffNode(after, before));
  // Then one script with exactly the two changed lines
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0]!.text, "ipvsadm --restore <<'EOF'\n-d -t 10.96.0.8:80 -r 10.244.7.12:8080\n-a -t 10.96.0.8:80 -r 10.244.7.99:8080 -m -w 1\nEOF\n");
});

test("graceful termination over the fake: weight 0 while connections remain, hidden while draining, deleted when drained or expired", async () => {
  let t = 0;
  const ipvs = new FakeIpvsadm();
  const drv = ipvsDriver({ ...opts, graceful: { periodMs: 30_000, now: () => t } });
  const A = svc("10.96.0.10", 80);
  const r1 = real(A, "10.244.0.11", 8080); const r2 = real(A, "10.244.0.12", 8080); const r3 = real(A, "10.244.0.13", 8080);
  await syncWith([drv], fakeExec(ipvs), nodeWith(stateOf([A], [r1, r2, r3])));
  ipvs.setConns("tcp/10.96.0.10/80", "10.244.0.11", 8080, 1, 0);
  ipvs.setConns("tcp/10.96.0.10/80", "10.244.0.12", 8080, 0, 2);
  // When r1 (1 active), r2 (2 inactive) and r3 (idle) are removed
  const desired = nodeWith(stateOf([A], []));
  const e1 = fakeExec(ipvs);
  await syncWith([drv], e1, desired);
  // Then the busy ones go to weight 0 and the idle one is deleted, in one restore
  assert.deepEqual(writesOf(e1.calls), ["-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 0\n-e -t 10.96.0.10:80 -r 10.244.0.12:8080 -m -w 0\n-d -t 10.96.0.10:80 -r 10.244.0.13:8080\n"]);
  assert.equal(drv.pendingDrains(), 2);
  // And a resync while they drain writes nothing and plans nothing
  t = 10_000;
  const e2 = fakeExec(ipvs);
  assert.ok(isEmptyPlan(await syncWith([drv], e2, desired)));
  assert.equal(e2.writes(), 0);
  // When r2 drains: it is deleted; r1 stays
  ipvs.setConns("tcp/10.96.0.10/80", "10.244.0.12", 8080, 0, 0);
  const e3 = fakeExec(ipvs);
  await syncWith([drv], e3, desired);
  assert.deepEqual(writesOf(e3.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.12:8080\n"]);
  // When the grace period ends with r1 still busy: it is deleted
  t = 30_000;
  const e4 = fakeExec(ipvs);
  await syncWith([drv], e4, desired);
  assert.deepEqual(writesOf(e4.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.11:8080\n"]);
  assert.equal(drv.pendingDrains(), 0);
  // And once drained, resyncs write nothing and read nothing extra
  const e5 = fakeExec(ipvs);
  assert.ok(isEmptyPlan(await syncWith([drv], e5, desired)));
  assert.deepEqual(e5.calls.map((c) => [c.cmd, ...c.args].join(" ")), ["ipvsadm -Sn"]);
});

test("graceful termination: a draining real server that comes back is restored with -e; a partial-sync deletion starts at weight 0", async () => {
  let t = 0;
  const ipvs = new FakeIpvsadm();
  const drv = ipvsDriver({ ...opts, graceful: { periodMs: 30_000, now: () => t } });
  const A = svc("10.96.0.10", 80);
  const r1 = real(A, "10.244.0.11", 8080);
  const withR1 = nodeWith(stateOf([A], [r1])); const without = nodeWith(stateOf([A], []));
  await syncWith([drv], fakeExec(ipvs), withR1);
  ipvs.setConns("tcp/10.96.0.10/80", "10.244.0.11", 8080, 1);
  // partial sync: plan against the last applied state, no observe
  const e1 = fakeExec(ipvs);
  for (const s of compilePlan([drv], diffNode(without, withR1))) await s.run(e1);
  assert.deepEqual(writesOf(e1.calls), ["-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 0\n"]);
  // the endpoint comes back in the next partial sync: -a would fail, -e restores the weight
  const e2 = fakeExec(ipvs);
  for (const s of compilePlan([drv], diffNode(withR1, without))) await s.run(e2);
  assert.deepEqual(writesOf(e2.calls), ["-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1\n"]);
  assert.equal(drv.pendingDrains(), 0);
  assert.match(ipvs.dump(), /-r 10\.244\.0\.11:8080 -m -w 1/);
});

test("UDP real servers removed: their conntrack flows are flushed in one batch after the restore", async () => {
  const ipvs = new FakeIpvsadm();
  const ct = new FakeConntrack();
  const U = svc("10.96.0.10", 53, { protocol: "udp" }); const U6 = svc("fd00:96::a", 53, { protocol: "udp" }); const T = svc("10.96.0.10", 80);
  await syncWith([ipvsDriver(opts)], fakeExec(ipvs, ct), nodeWith(stateOf([U, U6, T], [real(U, "10.244.0.11", 53), real(U, "10.244.0.12", 53), real(U6, "fd00:244::11", 53), real(T, "10.244.0.11", 8080)])));
  ct.flows.push({ origDst: "10.96.0.10", origPortDst: 53, replySrc: "10.244.0.11" }, { origDst: "10.96.0.10", origPortDst: 53, replySrc: "10.244.0.12" });
  // When one UDP real, the whole IPv6 UDP service and the TCP real are removed
  const exec = fakeExec(ipvs, ct);
  await syncWith([ipvsDriver(opts)], exec, nodeWith(stateOf([U, T], [real(U, "10.244.0.12", 53)])));
  // Then one conntrack batch names the UDP ones only, after the restore
  assert.deepEqual(exec.calls.filter((c) => c.write).map((c) => c.cmd), ["ipvsadm", "sh"]);
  assert.deepEqual(ct.deletes, [
    "-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.0.11",
    "-D -f ipv6 -p udp --orig-dst fd00:96::a --orig-port-dst 53 --reply-src fd00:244::11",
  ]);
  assert.deepEqual(ct.flows, [{ origDst: "10.96.0.10", origPortDst: 53, replySrc: "10.244.0.12" }]);
});

test("no IPVS in the kernel (or no ipvsadm): observe returns empty tables with a reason instead of failing", async () => {
  const noIpvs = { handles: (c: string) => c === "ipvsadm", run: (): ExecResult => ({ code: 2, stdout: "", stderr: "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n" }) };
  const drv = ipvsDriver(opts);
  const got = await observeWith([drv], fakeExec(noIpvs), nodeWith(stateOf([], [])));
  assert.equal(got.ipvsServices.size + got.ipvsReals.size, 0);
  assert.match(drv.unavailable() ?? "", /no ip_vs in the kernel.*modprobe ip_vs ip_vs_rr/);
  // an unhandled command (fake exit 127) is a real failure, not "unavailable"
  await assert.rejects(observeWith([ipvsDriver(opts)], fakeExec(), nodeWith(stateOf([], []))), /ipvsadm -Sn: exit 127/);
});

test("a restore line the kernel refuses fails the script even though ipvsadm exits 0", async () => {
  const ipvs = new FakeIpvsadm();
  ipvs.run("ipvsadm", ["--restore"], "-A -t 10.96.0.10:80 -s rr\n");
  const A = svc("10.96.0.10", 80); const B = svc("10.96.0.11", 80);
  // a plan made against a stale view: creates A (exists) then B
  const scripts = compilePlan([ipvsDriver(opts)], diffNode(nodeWith(stateOf([A, B], [])), nodeWith(stateOf([], []))));
  await assert.rejects(scripts[0]!.run(fakeExec(ipvs)), /ipvsadm --restore: .*Service already exists/);
  // ipvsadm went on: B exists now
  assert.match(ipvs.dump(), /10\.96\.0\.11:80/);
});

test("fake ipvsadm: restore semantics measured on the real tool", () => {
  const f = new FakeIpvsadm();
  // kernel errors continue, the exit status is the last line's
  assert.deepEqual(f.run("ipvsadm", ["--restore"], "-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80\n"), { code: 0, stdout: "", stderr: "Service already exists\n" });
  assert.equal(f.run("ipvsadm", ["--restore"], "-D -t 10.0.0.9:80\n").code, 255);
  // userspace errors stop the restore
  const r = f.run("ipvsadm", ["--restore"], "-A -t 10.0.0.3:80 -s rr\n-a -t 10.0.0.3:80 -r [fd00::1]:80 -m\n-A -t 10.0.0.4:80 -s rr\n");
  assert.equal(r.code, 2);
  assert.doesNotMatch(f.dump(), /10\.0\.0\.4/);
  // defaults: wlc, -p 360, -g, weight 1, service port; route reals take the service port
  f.run("ipvsadm", ["--restore"], "-A -t 10.0.0.5:80 -p\n-a -t 10.0.0.5:80 -r 10.1.0.1\n-a -t 10.0.0.5:80 -r 10.1.0.2:8080 -g\n");
  assert.match(f.dump(), /-A -t 10\.0\.0\.5:80 -s wlc -p 360\n-a -t 10\.0\.0\.5:80 -r 10\.1\.0\.1:80 -g -w 1\n-a -t 10\.0\.0\.5:80 -r 10\.1\.0\.2:80 -g -w 1\n/);
  // flags print under the scheduler's names; flag-3 of sh is stored but not printed
  f.run("ipvsadm", ["--restore"], "-A -u 10.0.0.6:53 -s sh -b flag-1,flag-2\n-A -u 10.0.0.7:53 -s sh -b flag-3\n");
  assert.match(f.dump(), /-A -u 10\.0\.0\.6:53 -s sh -b sh-fallback,sh-port\n/);
  assert.match(f.dump(), /-A -u 10\.0\.0\.7:53 -s sh -b \n/);
  assert.deepEqual(parseIpvsSave(f.dump()).services.get("udp/10.0.0.7/53")?.flags, []);
  // timeouts
  f.run("ipvsadm", ["--set", "900", "0", "60"], "");
  assert.deepEqual(f.getTimeouts(), { tcp: 900, tcpfin: 120, udp: 60 });
  void sortedTable;
});

test("graceful termination: each real server drains for its pod's terminationGracePeriodSeconds when rendered with one, else --ipvs-graceful-period", async () => {
  // Given --ipvs-graceful-period 30 s, and reals rendered with a pod grace of 5 s (r1), 120 s (r2) and none (r3)
  let t = 0;
  const ipvs = new FakeIpvsadm();
  const drv = ipvsDriver({ ...opts, graceful: { periodMs: 30_000, now: () => t } });
  const A = svc("10.96.0.10", 80);
  const r1 = real(A, "10.244.0.11", 8080, { graceSeconds: 5 }); const r2 = real(A, "10.244.0.12", 8080, { graceSeconds: 120 }); const r3 = real(A, "10.244.0.13", 8080);
  const all = nodeWith(stateOf([A], [r1, r2, r3]));
  await syncWith([drv], fakeExec(ipvs), all);
  // And a resync plans nothing: graceSeconds is not kernel state, yet no diff arises over it
  assert.ok(isEmptyPlan(await syncWith([drv], fakeExec(ipvs), all)));
  // When all three go while each still has a connection
  for (const r of [r1, r2, r3]) ipvs.setConns("tcp/10.96.0.10/80", r.address, 8080, 1);
  const none = nodeWith(stateOf([A], []));
  await syncWith([drv], fakeExec(ipvs), none);
  assert.equal(drv.pendingDrains(), 3);
  // Then at 5 s only r1 (its pod's 5 s) is deleted
  t = 5_000;
  const e1 = fakeExec(ipvs);
  await syncWith([drv], e1, none);
  assert.deepEqual(writesOf(e1.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.11:8080\n"]);
  // And at 30 s r3 (no pod grace: the flag's 30 s), while r2 keeps draining
  t = 30_000;
  const e2 = fakeExec(ipvs);
  await syncWith([drv], e2, none);
  assert.deepEqual(writesOf(e2.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.13:8080\n"]);
  // And r2 goes only at 120 s, its pod's period beyond the flag's
  t = 119_000;
  assert.deepEqual(writesOf((await (async () => { const e = fakeExec(ipvs); await syncWith([drv], e, none); return e; })()).calls), []);
  t = 120_000;
  const e3 = fakeExec(ipvs);
  await syncWith([drv], e3, none);
  assert.deepEqual(writesOf(e3.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.12:8080\n"]);
  assert.equal(drv.pendingDrains(), 0);
});

test("graceful termination: a partial-sync deletion drains for the period the real was rendered with", async () => {
  // Given r1 rendered with a pod grace of 5 s (flag: 30 s) and applied by a partial sync (no observe)
  let t = 0;
  const ipvs = new FakeIpvsadm();
  const drv = ipvsDriver({ ...opts, graceful: { periodMs: 30_000, now: () => t } });
  const A = svc("10.96.0.10", 80);
  const r1 = real(A, "10.244.0.11", 8080, { graceSeconds: 5 });
  const empty = nodeWith(stateOf([A], [])); const withR1 = nodeWith(stateOf([A], [r1]));
  await syncWith([drv], fakeExec(ipvs), empty);
  for (const s of compilePlan([drv], diffNode(withR1, empty))) await s.run(fakeExec(ipvs));
  ipvs.setConns("tcp/10.96.0.10/80", "10.244.0.11", 8080, 1);
  // When it goes by another partial sync: weight 0
  for (const s of compilePlan([drv], diffNode(empty, withR1))) await s.run(fakeExec(ipvs));
  assert.match(ipvs.dump(), /-r 10\.244\.0\.11:8080 -m -w 0/);
  // Then the full sync at 5 s deletes it though it is still busy (its own period is over)
  t = 5_000;
  const e = fakeExec(ipvs);
  await syncWith([drv], e, empty);
  assert.deepEqual(writesOf(e.calls), ["-d -t 10.96.0.10:80 -r 10.244.0.11:8080\n"]);
});
