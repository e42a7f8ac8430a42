/**
 * Pure conversions between plain routes/peers and GoBGP v4 wire messages: what we build is what
 * we parse back, IPv6 uses MP_REACH with the IPv6 next hop, bad input fails with one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FAMILY_IPV6, buildPath, communityToNumber, communityToString, parsePath } from "../../src/apply/gobgp/paths.ts";
import { peerFromWire, peerToWire, withGobgpDefaults } from "../../src/apply/gobgp/peers.ts";

test("given an IPv4 route with communities and an AS path, when built and parsed back, then nothing is lost", () => {
  const w = buildPath({ prefix: "10.244.1.0/24", nextHop: "192.0.2.1", communities: ["65000:100", "0:1"], asPath: [65001, 65001] });
  assert.deepEqual(w.family, { afi: "AFI_IP", safi: "SAFI_UNICAST" });
  assert.deepEqual(w.pattrs[0], { origin: { origin: 0 } });
  assert.deepEqual(w.pattrs[1], { nextHop: { nextHop: "192.0.2.1" } });
  const back = parsePath({ ...w, neighborIp: "" });
  assert.deepEqual(back, { prefix: "10.244.1.0/24", nextHop: "192.0.2.1", communities: ["65000:100", "0:1"], asPath: [65001, 65001], family: "ipv4", neighbor: "", best: false, stale: false });
});

test("given an IPv6 route, when built, then the next hop travels in MP_REACH with the same NLRI and no NEXT_HOP attribute", () => {
  const w = buildPath({ prefix: "fd00:10::/64", nextHop: "fd00::1" });
  assert.deepEqual(w.family, FAMILY_IPV6);
  assert.deepEqual(w.pattrs[1], { mpReach: { family: FAMILY_IPV6, nextHops: ["fd00::1"], nlris: [{ prefix: { prefix: "fd00:10::", prefixLen: 64 } }] } });
  assert.ok(!w.pattrs.some((a) => a.nextHop));
  assert.equal(parsePath(w)?.nextHop, "fd00::1");
});

test("given bad input, when a path is built, then the error is one line naming the bad value", () => {
  assert.throws(() => buildPath({ prefix: "10.0.0.0", nextHop: "10.0.0.1" }), /^Error: bad prefix "10\.0\.0\.0"/);
  assert.throws(() => buildPath({ prefix: "10.0.0.0/33", nextHop: "10.0.0.1" }), /bad prefix/);
  assert.throws(() => buildPath({ prefix: "fd00::/64", nextHop: "10.0.0.1" }), /next hop "10\.0\.0\.1" is not ipv6/);
  assert.throws(() => buildPath({ prefix: "10.0.0.0/8", nextHop: "10.0.0.1", communities: ["65536:1"] }), /bad community "65536:1"/);
  assert.throws(() => buildPath({ prefix: "10.0.0.0/8", nextHop: "10.0.0.1", asPath: [0] }), /bad ASN 0/);
});

test("given communities at the edges, when converted both ways, then they round-trip", () => {
  for (const c of ["0:0", "65535:65535", "64512:100"]) assert.equal(communityToString(communityToNumber(c)), c);
  assert.equal(communityToNumber("65000:100"), 4259840100);
});

test("given a full peer spec, when converted to the wire, then every option lands in its v4 field", () => {
  const w = peerToWire({
    address: "192.0.2.2", asn: 65100, port: 1179, password: "s3cret", multihopTtl: 3, holdTime: 9, keepalive: 3, connectRetry: 5,
    localAddress: "192.0.2.1", rrClient: true, rrClusterId: "10.0.0.1", gracefulRestart: { restartTime: 90, deferralTime: 360 },
    bfd: { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMultiplier: 3 },
  });
  assert.deepEqual(w, {
    conf: { neighborAddress: "192.0.2.2", peerAsn: 65100, authPassword: "s3cret" },
    transport: { localAddress: "192.0.2.1", remotePort: 1179 },
    timers: { config: { connectRetry: 5, holdTime: 9, keepaliveInterval: 3 } },
    ebgpMultihop: { enabled: true, multihopTtl: 3 },
    routeReflector: { routeReflectorClient: true, routeReflectorClusterId: "10.0.0.1" },
    gracefulRestart: { enabled: true, restartTime: 90, deferralTime: 360, localRestarting: true },
    bfd: { enabled: true, desiredMinimumTxInterval: 300_000, requiredMinimumReceive: 300_000, detectionMultiplier: 3 },
    afiSafis: [{ config: { family: { afi: "AFI_IP", safi: "SAFI_UNICAST" }, enabled: true }, mpGracefulRestart: { config: { enabled: true } } }],
  });
});

test("given a peer as gobgpd reports it, when read back, then the spec equals the desired spec with GoBGP's defaults", () => {
  const desired = { address: "192.0.2.2", asn: 65100, connectRetry: 5, bfd: { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMultiplier: 3 } };
  const wire = peerToWire(desired);
  const reported = {
    ...wire,
    timers: { config: { connectRetry: 5, holdTime: 90, keepaliveInterval: 30, minimumAdvertisementInterval: 0, idleHoldTimeAfterReset: 30 }, state: { connectRetry: 0, holdTime: 0, keepaliveInterval: 0, negotiatedHoldTime: 0, uptime: null, downtime: null } },
    transport: { localAddress: "0.0.0.0", remotePort: 0 },
    bfd: { ...wire.bfd, port: 3784 },
    ebgpMultihop: { enabled: false, multihopTtl: 0 },
    routeReflector: { routeReflectorClient: false, routeReflectorClusterId: "invalid IP" },
    state: { sessionState: "SESSION_STATE_ACTIVE", flops: 0, bfdState: { sessionState: "BFD_SESSION_STATE_DOWN" } },
  } as unknown as Parameters<typeof peerFromWire>[0];
  const seen = peerFromWire(reported);
  assert.deepEqual(seen.spec, withGobgpDefaults(desired));
  assert.equal(seen.state, "active");
  assert.equal(seen.bfdState, "down");
});

test("given a bad peer, when converted, then the error is one line naming the peer", () => {
  assert.throws(() => peerToWire({ address: "nope", asn: 1 }), /^Error: bad peer address "nope"/);
  assert.throws(() => peerToWire({ address: "192.0.2.2", asn: 0 }), /peer 192\.0\.2\.2: bad ASN 0/);
  assert.throws(() => peerToWire({ address: "192.0.2.2", asn: 1, localAddress: "fd00::1" }), /local address fd00::1 is of the other family/);
  assert.throws(() => peerToWire({ address: "192.0.2.2", asn: 1, multihopTtl: 256 }), /bad multihop TTL 256/);
});
