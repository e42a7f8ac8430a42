/**
 * The IPVS driver on a real IPVS kernel. Runs INSIDE the qemu VM only (test/vm/ipvs-vm.test.ts
 * boots it; `node scripts/vm/run-guest-tests.mjs test/vm-guest/ipvs-driver.test.ts` runs just
 * this file); skipped anywhere else. The guest is ours alone: tests work in its root network
 * namespace and leave IPVS empty behind them (the next guest file starts clean).
 *
 * Stories: fixed and random plans reach the kernel through the engine's observeAll/compilePlan
 * (`ipvsadm -Sn` equals desired), foreign services survive, a second sync writes nothing; the
 * fake and the kernel agree on the same restore texts (valid and invalid ones); kube-dummy-if
 * and its VIPs through the ip driver; graceful termination with a real open TCP connection;
 * UDP conntrack entries of a removed real server are flushed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { ipDriver } from "../../src/apply/ip/driver.ts";
import { compileIpvs } from "../../src/apply/ipvs/compile.ts";
import { ipvsDriver } from "../../src/apply/ipvs/driver.ts";
import { FakeIpvsadm } from "../../src/apply/ipvs/fake.ts";
import { parseIpvsSave } from "../../src/apply/ipvs/parse.ts";
import { realExec, recordingExec } from "../../src/apply/exec.ts";
import { diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import { type Address, type IpvsReal, type IpvsService, type Link, emptyNodeState, ipvsRealKey, ipvsServiceKey } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";
import { SERVICE_CIDRS, arbForeign, arbIpvsState, type IpvsState, nodeWith, stateOf, union } from "../apply/ipvs-gen.ts";
import { observeWith, syncWith } from "../support/driver-sync.ts";

const skip = process.env["IVM"] === "1" ? false : "runs only inside the IPVS VM (scripts/vm/run-guest-tests.mjs)";
const sh = (cmd: string, input?: string): string => execFileSync("sh", ["-c", cmd], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
const ipvsadm = (args: string[], input?: string) => {
  const r = spawnSync("ipvsadm", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const exec = realExec();
const kernelState = () => parseIpvsSave(sh("ipvsadm -Sn"));
const sortedLines = (t: string) => t.split("\n").filter(Boolean).sort();
const driver = () => ipvsDriver({ serviceCidrs: SERVICE_CIDRS });

before(() => {
  if (skip) return;
  sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1");
  sh("ipvsadm -C");
});
after(() => {
  if (skip) return;
  sh("ipvsadm -C; ip link del kube-dummy-if 2>/dev/null; ip netns del ivm-pod1 2>/dev/null; ip link del ivm-vpod1 2>/dev/null; true");
});

const svc = (address: string, port: number, extra: Partial<IpvsService> = {}): IpvsService =>
  ({ family: address.includes(":") ? "ipv6" : "ipv4", protocol: "tcp", address, port, scheduler: "rr", flags: [], ...extra });
const real = (s: IpvsService, address: string, port: number, extra: Partial<IpvsReal> = {}): IpvsReal =>
  ({ service: ipvsServiceKey(s), address, port, weight: 1, forward: "masq", ...extra });

test("a fixed plan of every service kind reaches the kernel; a foreign service survives; a second sync writes nothing", { skip }, async () => {
  sh("ipvsadm -C");
  // Given a foreign service (outside our ranges, not on kube-dummy-if)
  sh("ipvsadm -A -t 192.0.2.10:80 -s rr && ipvsadm -a -t 192.0.2.10:80 -r 192.0.2.99:80 -m");
  // And a desired state with TCP/UDP/SCTP, IPv4/IPv6, fwmark v4/v6, persistence and scheduler flags
  const T = svc("10.96.0.10", 80); const U = svc("10.96.0.10", 53, { protocol: "udp", scheduler: "sh", flags: ["flag-1", "flag-2"] });
  const S = svc("10.96.0.11", 9, { protocol: "sctp", scheduler: "dh" }); const T6 = svc("fd00:96::10", 443, { scheduler: "lc", persistent: 300 });
  const F: IpvsService = { family: "ipv4", protocol: "fwmark", address: "", port: 0, fwmark: 4660, scheduler: "mh", flags: ["flag-1"] };
  const F6: IpvsService = { family: "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: 99, scheduler: "rr", flags: [] };
  const desired = stateOf([T, U, S, T6, F, F6], [
    real(T, "10.244.0.11", 8080), real(T, "10.244.0.12", 8080, { weight: 3 }), real(U, "10.244.0.11", 53, { weight: 0 }),
    real(S, "10.244.0.13", 9, { forward: "route" }), real(T6, "fd00:244::11", 8443), real(F, "10.244.0.12", 80, { forward: "tunnel" }),
    real(F6, "fd00:244::12", 80, { forward: "tunnel" }),
  ]);
  // When synced through the engine's observe/compile
  const rec = recordingExec(exec);
  await syncWith([driver()], rec, nodeWith(desired));
  // Then the kernel holds exactly desired plus the foreign service, with ONE restore
  assert.equal(rec.writes(), 1);
  const k = kernelState();
  assert.deepEqual(k.services, sortedTable(union(desired, stateOf([svc("192.0.2.10", 80)], [])).ipvsServices));
  assert.deepEqual(new Map([...k.reals].filter(([, r]) => !r.service.includes("192.0.2"))), sortedTable(desired.ipvsReals));
  assert.ok(k.reals.has("tcp/192.0.2.10/80>192.0.2.99:80"));
  // And a second sync plans nothing and writes nothing
  const again = recordingExec(exec);
  const plan = await syncWith([driver()], again, nodeWith(desired));
  assert.ok(isEmptyPlan(plan));
  assert.equal(again.writes(), 0);
  // And syncing an empty desired state removes ours only: fwmark services count as ours while a
  // DSR policy rule (`fwmark M lookup 78`) names their mark
  sh("ip rule add fwmark 4660 lookup 78 priority 32764");
  await syncWith([driver()], exec, nodeWith(stateOf([], [])));
  assert.deepEqual(sortedLines(sh("ipvsadm -Sn")), [
    "-A -f 99 -6 -s rr", "-A -t 192.0.2.10:80 -s rr",
    "-a -f 99 -6 -r [fd00:244::12]:80 -i -w 1 --tun-type ipip", "-a -t 192.0.2.10:80 -r 192.0.2.99:80 -m -w 1",
  ]);
  sh("ip -6 rule add fwmark 99 lookup 78 priority 32764");
  await syncWith([driver()], exec, nodeWith(stateOf([], [])));
  assert.deepEqual(sortedLines(sh("ipvsadm -Sn")), ["-A -t 192.0.2.10:80 -s rr", "-a -t 192.0.2.10:80 -r 192.0.2.99:80 -m -w 1"]);
  sh("ipvsadm -C; ip rule del fwmark 4660 lookup 78 priority 32764; ip -6 rule del fwmark 99 lookup 78 priority 32764");
});

const DSR_RULES = [1, 4660, 16383].flatMap((m) => [`ip rule add fwmark ${m} lookup 78 priority 32764`, `ip -6 rule add fwmark ${m} lookup 78 priority 32764`]);

test("random plans: from any owned state (+ foreign services) one sync reaches desired, the next writes nothing, and the fake agrees with the kernel", { skip }, async () => {
  // Given DSR policy rules for the generated fwmarks (so fwmark services are ours)
  sh(DSR_RULES.join("; "));
  await fc.assert(fc.asyncProperty(arbIpvsState, arbIpvsState, arbForeign, async (from, to, foreign) => {
    // Given the kernel and the fake both holding `from` + foreign (loaded by one restore)
    sh("ipvsadm -C");
    const seed = compileIpvs(diffNode(nodeWith(union(from, foreign)), emptyNodeState())).restore;
    assert.equal(ipvsadm(["--restore"], seed).stderr, "");
    const fake = new FakeIpvsadm();
    fake.run("ipvsadm", ["--restore"], seed);
    assert.deepEqual(sortedLines(fake.dump()), sortedLines(sh("ipvsadm -Sn")), "seeded alike");
    // When the driver syncs `to` (the plan against what it observes)
    const plan = diffNode(nodeWith(to), await observeWith([driver()], exec, nodeWith(to)));
    const text = compileIpvs(plan).restore;
    const k = ipvsadm(["--restore"], text);
    const f = fake.run("ipvsadm", ["--restore"], text);
    // Then the kernel holds to + foreign, and the fake ended in the same state with the same outcome
    assert.deepEqual({ code: k.code, stderr: k.stderr }, { code: 0, stderr: "" }, text);
    assert.deepEqual({ code: f.code, stderr: f.stderr }, { code: k.code, stderr: k.stderr });
    assert.deepEqual(sortedLines(fake.dump()), sortedLines(sh("ipvsadm -Sn")), text);
    const got = kernelState();
    const want = union(to, foreign);
    assert.deepEqual(got.services, sortedTable(want.ipvsServices));
    assert.deepEqual(got.reals, sortedTable(want.ipvsReals));
    // And a second sync plans nothing (so writes nothing)
    assert.ok(isEmptyPlan(diffNode(nodeWith(to), await observeWith([driver()], exec, nodeWith(to)))));
  }), { numRuns: Number(process.env["IVM_RUNS"] ?? 8), seed: 4 });
  sh(`ipvsadm -C; ${DSR_RULES.map((r) => r.replace(" add ", " del ")).join("; ")}`);
});

test("the fake and the kernel agree on invalid and edge-case restore texts (exit code, stderr, resulting table)", { skip }, () => {
  const seed = "-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1\n-A -u 10.96.0.10:53 -s sh -b flag-1\n";
  const cases = [
    "-A -t 10.96.0.20:80 -s rr\n-A -t 10.96.0.10:80 -s rr\n-A -t 10.96.0.21:80 -s rr\n", // kernel error mid-way: goes on, exit 0
    "-A -t 10.96.0.22:80 -s bogus\n-A -t 10.96.0.23:80 -s rr\n",
    "-E -t 10.96.0.99:80 -s rr\n",
    "-D -t 10.96.0.99:80\n",
    "-d -t 10.96.0.10:80 -r 10.1.1.1:80\n",
    "-e -t 10.96.0.10:80 -r 10.1.1.1:80 -m -w 1\n",
    "-a -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1\n",
    "-a -t 10.96.0.98:80 -r 10.244.0.11:8080 -m -w 1\n",
    "-A -t 10.96.0.30:80 -s rr\n-a -t 10.96.0.10:80 -r [fd00::1]:8080 -m -w 1\n-A -t 10.96.0.31:80 -s rr\n", // userspace error: stops
    "-E -t 10.96.0.10:80 -s wrr -p 60\n-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 5\n",
    "-E -t 10.96.0.10:80 -s rr\n", // -E resets persistence and flags
    "-E -u 10.96.0.10:53 -s rr\n",
    "-A -t 10.96.0.36:0 -s rr\n",
    "-A -t 10.96.0.37:80 -s rr -p 0\n",
    "-A -t 10.96.0.33:80 -s rr -b sh-port\n",
    "-a -t 10.96.0.10:80 -r 10.244.0.50:80 -m -w -1\n",
    "-a -t 10.96.0.10:80 -r 10.244.0.51\n",
    "-D -t 10.96.0.10:80\n-a -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1\n",
    "# a comment\n-A -t 10.96.0.40:80 -s rr\n",
    "\n\n-A -t 10.96.0.41:80 -s rr\n\n",
    "-a -t 10.96.0.10:80 -r 10.244.0.60:8443 -g -w 1\n-a -t 10.96.0.10:80 -r 10.244.0.61:8443 -i -w 1\n", // route/tunnel reals take the service port
    "-A -t 10.96.0.43:53 -s sh -b flag-3\n-A -t 10.96.0.44:53 -s mh -b flag-3,flag-1\n-A -t 10.96.0.45:53 -s rr -b flag-3\n", // flag-3 unprintable for sh/mh
    "-A -t 10.96.0.42:80 -s rr -p\n-A -f 7 -6 -s rr\n-a -f 7 -6 -r [fd00::7]:80 -i -w 2\n",
  ];
  for (const text of cases) {
    sh("ipvsadm -C");
    ipvsadm(["--restore"], seed);
    const fake = new FakeIpvsadm();
    fake.run("ipvsadm", ["--restore"], seed);
    const k = ipvsadm(["--restore"], text);
    const f = fake.run("ipvsadm", ["--restore"], text);
    assert.deepEqual({ code: f.code, stderr: f.stderr.trim().split("\n")[0] }, { code: k.code, stderr: k.stderr.trim().split("\n")[0] }, `outcome of:\n${text}`);
    assert.deepEqual(sortedLines(fake.dump()), sortedLines(sh("ipvsadm -Sn")), `table after:\n${text}`);
  }
  sh("ipvsadm -C");
});

test("kube-dummy-if is a dummy link with the VIPs as addresses through the ip driver, converged and idempotent", { skip }, async () => {
  // Given the desired dummy link with one IPv4 and one IPv6 VIP
  const desired = {
    ...emptyNodeState(),
    links: sortedTable([["kube-dummy-if", { name: "kube-dummy-if", kind: "dummy", up: true } as Link]]),
    addresses: sortedTable(([
      { dev: "kube-dummy-if", cidr: "10.96.0.10/32", scope: "link" }, { dev: "kube-dummy-if", cidr: "fd00:96::10/128" },
    ] as Address[]).map((a) => [`${a.dev}/${a.cidr}`, a] as const)),
  };
  // When synced through the ip driver
  await syncWith([ipDriver()], exec, desired);
  // Then the kernel has a dummy link holding both VIPs, and a second sync writes nothing
  assert.match(sh("ip -d link show kube-dummy-if"), /dummy/);
  assert.match(sh("ip addr show dev kube-dummy-if"), /inet 10\.96\.0\.10\/32 scope link/);
  assert.match(sh("ip addr show dev kube-dummy-if"), /inet6 fd00:96::10\/128/);
  const rec = recordingExec(exec);
  assert.ok(isEmptyPlan(await syncWith([ipDriver()], rec, desired)));
  assert.equal(rec.writes(), 0);
  // And a service on a kube-dummy-if VIP outside the ranges is ours even when no longer rendered
  sh("ip addr add 203.0.113.7/32 dev kube-dummy-if && ipvsadm -A -t 203.0.113.7:80 -s rr");
  await syncWith([driver()], exec, nodeWith(stateOf([], [])));
  assert.equal(sh("ipvsadm -Sn"), "");
});

/** Pod netns ivm-pod1 (10.244.0.11) behind veth, with a TCP echo and UDP server on 8080/53. */
async function pod(): Promise<ChildProcess[]> {
  sh(`ip netns add ivm-pod1 && ip link add ivm-vpod1 type veth peer name eth0 netns ivm-pod1
      ip addr add 10.244.0.1/24 dev ivm-vpod1 && ip link set ivm-vpod1 up
      ip -n ivm-pod1 addr add 10.244.0.11/24 dev eth0 && ip -n ivm-pod1 addr add 10.244.0.12/24 dev eth0
      ip -n ivm-pod1 link set eth0 up && ip -n ivm-pod1 link set lo up && ip -n ivm-pod1 route add default via 10.244.0.1`);
  const srv = spawn("ip", ["netns", "exec", "ivm-pod1", "busybox", "nc", "-ll", "-p", "8080", "-e", "cat"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (sh("ip netns exec ivm-pod1 ss -Htln 'sport = :8080'").trim() !== "") break;
    await sleep(100);
  }
  return [srv];
}

test("graceful termination: a removed real server with an open TCP connection drains at weight 0, then is deleted once its grace period ends", { skip }, async () => {
  sh("ipvsadm -C");
  const procs = await pod();
  let sock: Socket | undefined;
  try {
    // Given a service on a kube-dummy-if VIP with one real server and an open TCP connection through it
    const A = svc("10.96.0.10", 80);
    const r1 = real(A, "10.244.0.11", 8080); const r2 = real(A, "10.244.0.12", 8080);
    let t = 1_000_000;
    const drv = ipvsDriver({ serviceCidrs: SERVICE_CIDRS, graceful: { periodMs: 30_000, now: () => t } });
    await syncWith([drv], exec, nodeWith(stateOf([A], [r1])));
    sock = connect({ host: "10.96.0.10", port: 80 });
    await new Promise<void>((ok, ko) => { sock!.once("connect", ok); sock!.once("error", ko); });
    sock.write("ping\n");
    await new Promise<void>((ok) => sock!.once("data", () => ok()));
    assert.match(sh("ipvsadm -Ln"), /10\.244\.0\.11:8080\s+Masq\s+1\s+1\s+0/);
    // When the endpoint is replaced by another (r1 removed)
    const desired = nodeWith(stateOf([A], [r2]));
    const rec = recordingExec(exec);
    await syncWith([drv], rec, desired);
    // Then r1 stays at weight 0 (its connection keeps working) and r2 is added, in one restore
    assert.match(sh("ipvsadm -Sn"), /-a -t 10\.96\.0\.10:80 -r 10\.244\.0\.11:8080 -m -w 0/);
    assert.equal(rec.calls.filter((c) => c.write).map((c) => c.stdin).join(""), "-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 0\n-a -t 10.96.0.10:80 -r 10.244.0.12:8080 -m -w 1\n");
    sock.write("still\n");
    await new Promise<void>((ok) => sock!.once("data", () => ok()));
    // And while it drains, a resync plans nothing and writes nothing; new connections go to r2 only
    const again = recordingExec(exec);
    assert.ok(isEmptyPlan(await syncWith([drv], again, desired)));
    assert.equal(again.writes(), 0);
    assert.equal(drv.pendingDrains(), 1);
    // When the grace period is over (connection still open)
    t += 30_000;
    const last = recordingExec(exec);
    await syncWith([drv], last, desired);
    // Then r1 is deleted, and the next resync writes nothing
    assert.equal(last.calls.filter((c) => c.write).map((c) => c.stdin).join(""), "-d -t 10.96.0.10:80 -r 10.244.0.11:8080\n");
    assert.doesNotMatch(sh("ipvsadm -Sn"), /10\.244\.0\.11/);
    const done = recordingExec(exec);
    assert.ok(isEmptyPlan(await syncWith([drv], done, desired)));
    assert.equal(done.writes(), 0);
    assert.equal(drv.pendingDrains(), 0);
    // And a removed real server without connections is deleted at once, even with graceful termination
    const idle = recordingExec(exec);
    await syncWith([drv], idle, nodeWith(stateOf([A], [])));
    assert.equal(idle.calls.filter((c) => c.write).map((c) => c.stdin).join(""), "-d -t 10.96.0.10:80 -r 10.244.0.12:8080\n");
  } finally {
    sock?.destroy();
    for (const p of procs) if (p.pid) try { process.kill(p.pid); } catch { /* gone */ }
    sh("ipvsadm -C; ip netns del ivm-pod1 2>/dev/null; ip link del ivm-vpod1 2>/dev/null; true");
  }
});

test("UDP conntrack entries of a removed real server are flushed in one conntrack batch", { skip }, async () => {
  sh("ipvsadm -C; conntrack -F 2>/dev/null; true");
  // Given a UDP service with two real servers and a conntrack entry for each
  const U = svc("10.96.0.10", 53, { protocol: "udp" });
  const a = real(U, "10.244.0.11", 53); const b = real(U, "10.244.0.12", 53);
  await syncWith([driver()], exec, nodeWith(stateOf([U], [a, b])));
  for (const [i, r] of [a, b].entries()) {
    sh(`conntrack -I -p udp -s 10.0.0.${i + 1} -d 10.96.0.10 --sport 1000 --dport 53 -r ${r.address} -q 10.0.0.${i + 1} --reply-port-src 53 --reply-port-dst 1000 -t 100 2>/dev/null`);
  }
  // When real server a is removed
  const rec = recordingExec(exec);
  await syncWith([driver()], rec, nodeWith(stateOf([U], [b])));
  // Then one restore and one conntrack batch ran, and only a's flow is gone
  assert.deepEqual(rec.calls.filter((c) => c.write).map((c) => [c.cmd, ...c.args].join(" ")), ["ipvsadm --restore", "sh -c cat | conntrack -R -"]);
  const flows = sh("conntrack -L -p udp 2>/dev/null");
  assert.doesNotMatch(flows, /src=10\.244\.0\.11/);
  assert.match(flows, /src=10\.244\.0\.12/);
  sh("ipvsadm -C; conntrack -F 2>/dev/null; true");
  void ipvsRealKey;
});

test("IPVS timeouts: the flags' values reach the kernel, an unmanaged field keeps the kernel's value, a second sync writes nothing", { skip }, async () => {
  // Given the kernel's current TCP-FIN timeout (not managed: desired 0)
  const fin = Number(/:\s*\d+\s+(\d+)\s+\d+/.exec(sh("ipvsadm -L --timeout"))![1]);
  const desired = { ...emptyNodeState(), ipvsTimeouts: new Map([["ipvs", { tcp: 301, tcpfin: 0, udp: 47 }]]) };
  // When synced twice
  const first = await syncWith([driver()], exec, desired);
  const rec = recordingExec(exec);
  const second = await syncWith([driver()], rec, desired);
  // Then the kernel has them, TCP-FIN untouched, and the second sync planned and wrote nothing
  assert.equal(first.ipvsTimeouts.length, 1);
  assert.match(sh("ipvsadm -L --timeout"), new RegExp(`301 ${fin} 47`));
  assert.ok(isEmptyPlan(second));
  assert.equal(rec.calls.filter((c) => c.write).length, 0);
});
