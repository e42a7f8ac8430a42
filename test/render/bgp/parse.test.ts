/** The BGP value parsers against upstream's vectors (kube-router-features.md §8.6 id_test, peer_config_test). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64, fnv32a, isPeerAsn, parseClusterId, parseCommunity, parseUint } from "../../../src/render/bgp/parse.ts";

test("given upstream's valid community vectors, then each parses to a:b form", () => {
  assert.equal(parseCommunity("4294967041"), "65535:65281");
  assert.equal(parseCommunity("4294967295"), "65535:65535");
  assert.equal(parseCommunity("65535:65281"), "65535:65281");
  assert.equal(parseCommunity("65535:65535"), "65535:65535");
  for (const [name, want] of [["no-export", "65535:65281"], ["internet", "0:0"], ["planned-shut", "65535:0"], ["accept-own", "65535:1"], ["blackhole", "65535:666"], ["no-advertise", "65535:65282"], ["no-peer", "65535:65284"]]) {
    assert.equal(parseCommunity(name!), want, name);
  }
});

test("given upstream's invalid community vectors, then none parses", () => {
  for (const bad of ["4294967296", "65536:65535", "65535:65536", "65536:65536", "0xFFFFFFFF", "community", "", "1:2:3", "-1"]) assert.equal(parseCommunity(bad), undefined, bad);
});

test("given reserved and valid peer ASNs, then only the non-reserved ranges pass", () => {
  for (const ok of [1, 23455, 23457, 63999, 64512, 65534, 131072, 4199999999, 4200000000, 4294967294]) assert.ok(isPeerAsn(ok), String(ok));
  for (const bad of [0, 23456, 64000, 64511, 65535, 65536, 131071, 4294967295, 1.5, -1]) assert.ok(!isPeerAsn(bad), String(bad));
});

test("given cluster IDs as integers (Go base 0) or IPv4 literals, then the IPv4 form; anything else is undefined", () => {
  assert.equal(parseClusterId("42"), "0.0.0.42");
  assert.equal(parseClusterId("0x0a000001"), "10.0.0.1");
  assert.equal(parseClusterId("10.0.0.1"), "10.0.0.1");
  assert.equal(parseClusterId("4294967295"), "255.255.255.255");
  for (const bad of ["4294967296", "fd00::1", "abc", "", "1_"]) assert.equal(parseClusterId(bad), undefined, bad);
});

test("given Go base-0 integers, then hex, octal, binary and underscores parse; base 10 rejects them", () => {
  assert.equal(parseUint("0x1F", 0xffff, true), 31);
  assert.equal(parseUint("0o17", 0xffff, true), 15);
  assert.equal(parseUint("017", 0xffff, true), 15);
  assert.equal(parseUint("0b101", 0xffff, true), 5);
  assert.equal(parseUint("65_000", 0xffff, true), 65000);
  assert.equal(parseUint("0x1F", 0xffff), undefined);
  assert.equal(parseUint("65536", 0xffff), undefined);
});

test("given base64 text, then standard padded base64 decodes (empty to empty) and anything else is undefined", () => {
  assert.equal(decodeBase64("c2VjcmV0"), "secret");
  assert.equal(decodeBase64(""), "");
  for (const bad of ["c2VjcmV0=", "secret!", "c2Vjc", "c2VjcmV0\n"]) assert.equal(decodeBase64(bad), undefined, bad);
});

test("given FNV-1a 32 test vectors, then the reference values", () => {
  assert.equal(fnv32a([]), 0x811c9dc5);
  assert.equal(fnv32a([0x61]), 0xe40c292c); // "a"
  assert.equal(fnv32a([...new TextEncoder().encode("foobar")]), 0xbf9cf968);
});
