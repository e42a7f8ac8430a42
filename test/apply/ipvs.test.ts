/**
 * IPVS driver, pure parts: `ipvsadm -Sn` / `-Ln` parsing (captured from ipvsadm 1.31 on the
 * Debian 6.1 kernel in the VM), the restore text compiled from plans, ownership.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileIpvs, serviceFromKey } from "../../src/apply/ipvs/compile.ts";
import { ownsIpvsService, parsePortRange } from "../../src/apply/ipvs/owned.ts";
import { parseIpvsConns, parseIpvsSave } from "../../src/apply/ipvs/parse.ts";
import { canonicalSchedFlags } from "../../src/apply/ipvs/syntax.ts";
import { diffNode, emptyPlan } from "../../src/model/plan.ts";
import type { IpvsReal, IpvsService } from "../../src/model/state.ts";
import { nodeWith, stateOf } from "./ipvs-gen.ts";

// Captured in the VM (`ipvsadm -Sn`), services in the kernel's hash order.
const SAVED = `-A -t 10.96.0.10:80 -s rr
-a -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 1
-A -t 10.96.0.12:80 -s rr -p 360
-A -t 10.96.0.13:80 -s wrr -p 10 -M 255.255.255.0
-A -u 10.96.0.10:53 -s sh -b sh-fallback,sh-port
-a -u 10.96.0.10:53 -r 10.244.0.11:53 -m -w 0
-A --sctp-service 10.96.0.11:9 -s dh
-a --sctp-service 10.96.0.11:9 -r 10.244.0.13:9 -g -w 1
-A -t [fd00::10]:443 -s lc -p 300
-a -t [fd00::10]:443 -r [fd00:244::11]:8443 -m -w 3
-A -f 99 -6 -s rr
-a -f 99 -6 -r [fd00:244::12]:80 -i -w 1 --tun-type ipip
-A -f 4660 -s mh -b mh-fallback,mh-port
-a -f 4660 -r 10.244.0.12:80 -i -w 1 --tun-type ipip
`;

const LISTED = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.10:80 rr
  -> 10.244.0.11:80               Masq    1      1          2         
UDP  10.96.0.10:53 sh (sh-fallback,sh-port)
  -> 10.244.0.11:53               Masq    0      0          0         
TCP  [fd00::10]:443 lc persistent 300
  -> [fd00:244::11]:8443          Masq    3      0          4         
FWM  99 IPv6 rr
  -> [fd00:244::12]:80            Tunnel  1      5          0         
`;

test("ipvsadm -Sn: every service kind parses into canonical model objects", () => {
  // Given the captured dump; When parsed
  const d = parseIpvsSave(SAVED);
  // Then services are keyed and canonical (flags as flag-N, bare -M dropped, fwmark family from -6)
  assert.deepEqual([...d.services.keys()], [
    "fwmark/ipv4/4660", "fwmark/ipv6/99", "sctp/10.96.0.11/9", "tcp/10.96.0.10/80", "tcp/10.96.0.12/80", "tcp/10.96.0.13/80", "tcp/[fd00::10]/443", "udp/10.96.0.10/53",
  ]);
  assert.deepEqual(d.services.get("udp/10.96.0.10/53"), { family: "ipv4", protocol: "udp", address: "10.96.0.10", port: 53, scheduler: "sh", flags: ["flag-1", "flag-2"] });
  assert.deepEqual(d.services.get("tcp/10.96.0.12/80"), { family: "ipv4", protocol: "tcp", address: "10.96.0.12", port: 80, scheduler: "rr", flags: [], persistent: 360 });
  assert.deepEqual(d.services.get("fwmark/ipv6/99"), { family: "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: 99, scheduler: "rr", flags: [] });
  // And reals carry weight and forwarding method
  assert.deepEqual(d.reals.get("tcp/[fd00::10]/443>[fd00:244::11]:8443"), { service: "tcp/[fd00::10]/443", address: "fd00:244::11", port: 8443, weight: 3, forward: "masq" });
  assert.deepEqual(d.reals.get("fwmark/ipv4/4660>10.244.0.12:80"), { service: "fwmark/ipv4/4660", address: "10.244.0.12", port: 80, weight: 1, forward: "tunnel" });
  assert.equal(d.reals.get("sctp/10.96.0.11/9>10.244.0.13:9")?.forward, "route");
  assert.equal(d.reals.size, 6);
});

test("ipvsadm -Sn: empty dump and malformed lines", () => {
  assert.equal(parseIpvsSave("").services.size, 0);
  assert.throws(() => parseIpvsSave("-X -t 1.2.3.4:80\n"), /ipvsadm -Sn line 1: expected -A or -a/);
  assert.throws(() => parseIpvsSave("-A -t 1.2.3:80 -s rr\n"), /bad service address/);
  assert.throws(() => parseIpvsSave("-A -t 1.2.3.4:80 --bogus\n"), /unknown option --bogus/);
});

test("ipvsadm -Ln: ActiveConn + InActConn per real server key", () => {
  const c = parseIpvsConns(LISTED);
  assert.deepEqual([...c].sort(), [
    ["fwmark/ipv6/99>[fd00:244::12]:80", 5],
    ["tcp/10.96.0.10/80>10.244.0.11:80", 3],
    ["tcp/[fd00::10]/443>[fd00:244::11]:8443", 4],
    ["udp/10.96.0.10/53>10.244.0.11:53", 0],
  ]);
});

test("scheduler flags: ipvsadm's scheduler-specific names map to flag-N, sorted and unique", () => {
  assert.deepEqual(canonicalSchedFlags(["sh-port", "sh-fallback"]), ["flag-1", "flag-2"]);
  assert.deepEqual(canonicalSchedFlags(["flag-3", "mh-fallback", "flag-1"]), ["flag-1", "flag-3"]);
});

test("service keys round-trip through serviceFromKey", () => {
  assert.deepEqual(serviceFromKey("udp/[fd00::a]/53"), { family: "ipv6", protocol: "udp", address: "fd00::a", port: 53 });
  assert.deepEqual(serviceFromKey("fwmark/ipv6/7"), { family: "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: 7 });
  assert.equal(serviceFromKey("nope"), undefined);
});

const svc = (address: string, port = 80, extra: Partial<IpvsService> = {}): IpvsService =>
  ({ family: address.includes(":") ? "ipv6" : "ipv4", protocol: "tcp", address, port, scheduler: "rr", flags: [], ...extra });
const real = (s: IpvsService, address: string, port = 8080, extra: Partial<IpvsReal> = {}): IpvsReal =>
  ({ service: `${s.protocol}/${s.family === "ipv6" ? `[${s.address}]` : s.address}/${s.port}`, address, port, weight: 1, forward: "masq", ...extra });

test("compile: one restore text; services before their reals; reals of a deleted service not deleted alone", () => {
  // Given an observed state with A (2 reals), B (1 real) and a desired one without B, with C new, A's scheduler changed, one A real gone, one new
  const A = svc("10.96.0.10"); const B = svc("10.96.0.11", 53, { protocol: "udp" }); const C = svc("fd00:96::10", 443, { persistent: 300 });
  const observed = stateOf([A, B], [real(A, "10.244.0.11"), real(A, "10.244.0.12"), real(B, "10.244.0.13", 53)]);
  const A2 = { ...A, scheduler: "wrr", flags: ["flag-2"] };
  const desired = stateOf([A2, C], [real(A2, "10.244.0.11", 8080, { weight: 3 }), real(A2, "10.244.0.14"), real(C, "fd00:244::11", 8443)]);
  // When the plan is compiled
  const c = compileIpvs(diffNode(nodeWith(desired), nodeWith(observed)));
  // Then: -d of A's real, -D B (its real goes with it), -E A, -A C, -e weight, -a new reals
  assert.equal(c.restore, [
    "-d -t 10.96.0.10:80 -r 10.244.0.12:8080",
    "-D -u 10.96.0.11:53",
    "-E -t 10.96.0.10:80 -s wrr -b flag-2",
    "-A -t [fd00:96::10]:443 -s rr -p 300",
    "-e -t 10.96.0.10:80 -r 10.244.0.11:8080 -m -w 3",
    "-a -t 10.96.0.10:80 -r 10.244.0.14:8080 -m -w 1",
    "-a -t [fd00:96::10]:443 -r [fd00:244::11]:8443 -m -w 1",
    "",
  ].join("\n"));
  // And the UDP real of the deleted service gets its conntrack entries flushed
  assert.equal(c.conntrack, "-D -p udp --orig-dst 10.96.0.11 --orig-port-dst 53 --reply-src 10.244.0.13\n");
});

test("compile: fwmark services, forwarding change = -d then -a, IPv6 conntrack lines", () => {
  const F: IpvsService = { family: "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: 4660, scheduler: "mh", flags: ["flag-1", "flag-2"] };
  const U = svc("fd00:96::a", 53, { protocol: "udp" });
  const observed = stateOf([U], [real(U, "fd00:244::11", 53), real(U, "fd00:244::12", 53, { forward: "route" })]);
  const desired = stateOf([F, U], [{ service: "fwmark/ipv6/4660", address: "fd00:244::12", port: 80, weight: 1, forward: "tunnel" }, real(U, "fd00:244::12", 53)]);
  const c = compileIpvs(diffNode(nodeWith(desired), nodeWith(observed)));
  assert.equal(c.restore, [
    "-d -u [fd00:96::a]:53 -r [fd00:244::11]:53",
    "-d -u [fd00:96::a]:53 -r [fd00:244::12]:53",
    "-A -f 4660 -6 -s mh -b flag-1,flag-2",
    "-a -f 4660 -6 -r [fd00:244::12]:80 -i -w 1",
    "-a -u [fd00:96::a]:53 -r [fd00:244::12]:53 -m -w 1",
    "",
  ].join("\n"));
  assert.equal(c.conntrack, "-D -f ipv6 -p udp --orig-dst fd00:96::a --orig-port-dst 53 --reply-src fd00:244::11\n");
});

test("compile: graceful deletion sets weight 0 unless idle or already 0; a draining real coming back is edited", () => {
  const A = svc("10.96.0.10", 53, { protocol: "udp" });
  const busy = real(A, "10.244.0.11", 53); const idle = real(A, "10.244.0.12", 53); const zero = real(A, "10.244.0.13", 53, { weight: 0 });
  const back = real(A, "10.244.0.14", 53);
  const plan = diffNode(nodeWith(stateOf([A], [back])), nodeWith(stateOf([A], [busy, idle, zero])));
  const c = compileIpvs(plan, { graceful: true, idle: new Set(["udp/10.96.0.10/53>10.244.0.12:53"]), draining: new Set(["udp/10.96.0.10/53>10.244.0.14:53"]) });
  assert.equal(c.restore, [
    "-e -u 10.96.0.10:53 -r 10.244.0.11:53 -m -w 0",
    "-d -u 10.96.0.10:53 -r 10.244.0.12:53",
    "-d -u 10.96.0.10:53 -r 10.244.0.13:53",
    "-e -u 10.96.0.10:53 -r 10.244.0.14:53 -m -w 1",
    "",
  ].join("\n"));
  assert.deepEqual(c.drained, ["udp/10.96.0.10/53>10.244.0.11:53"]);
  // only the reals really deleted get their UDP flows flushed, in one batch
  assert.equal(c.conntrack.split("\n").filter(Boolean).length, 2);
});

test("compile: an empty plan compiles to nothing", () => {
  assert.deepEqual(compileIpvs(emptyPlan()), { restore: "", conntrack: "", drained: [] });
});

test("ownership: rendered VIPs, kube-dummy-if, service ranges, NodePorts on local addresses, DSR marks; excluded CIDRs", () => {
  const base = { renderedVips: new Set(["10.96.0.10"]), renderedMarks: new Set<string>() };
  const o = { ...base, dummyVips: new Set(["203.0.113.7"]), localAddrs: new Set(["192.168.1.5"]), serviceCidrs: ["10.96.0.0/12"], nodePortRange: [30000, 32767] as const, dsrMarks: new Set(["ipv4/42"]), excludedCidrs: ["10.100.0.0/16"] };
  assert.equal(ownsIpvsService(svc("10.96.0.10"), o), true);
  assert.equal(ownsIpvsService(svc("10.96.5.5"), o), true);
  assert.equal(ownsIpvsService(svc("10.100.0.1"), o), false, "excluded");
  assert.equal(ownsIpvsService(svc("203.0.113.7"), o), true, "on kube-dummy-if");
  assert.equal(ownsIpvsService(svc("192.168.1.5", 30080), o), true, "NodePort");
  assert.equal(ownsIpvsService(svc("192.168.1.5", 80), o), false, "local address, foreign port");
  assert.equal(ownsIpvsService(svc("192.0.2.1"), o), false, "foreign");
  assert.equal(ownsIpvsService({ ...svc(""), protocol: "fwmark", fwmark: 42 }, o), true);
  assert.equal(ownsIpvsService({ ...svc(""), protocol: "fwmark", fwmark: 43 }, o), false);
  assert.equal(ownsIpvsService(svc("192.0.2.1"), { ...o, ownAll: true }), true);
  assert.deepEqual(parsePortRange("30000-32767"), [30000, 32767]);
  assert.equal(parsePortRange("9-1"), undefined);
});
