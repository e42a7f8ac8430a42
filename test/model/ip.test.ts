import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalCidr, canonicalIp, canonicalPrefix, cidrContains, cidrFamily, formatIp, formatPrefix, ipFamily, isIp, isIPv4, isIPv6,
  networkAddress, parseCidr, parseIp, parsePrefix,
} from "../../src/model/ip.ts";

test("IPv4 parsing is strict dotted decimal without leading zeros", () => {
  // Given valid and invalid IPv4 texts
  const valid = ["0.0.0.0", "10.96.0.1", "255.255.255.255", "1.2.3.4"];
  const invalid = ["10.10.10", "10.10.10.10.10", "256.1.1.1", "01.2.3.4", "10.010.0.1", "1.2.3.", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "", "1..2.3", "0x1.2.3.4"];
  // When parsed / Then only the valid ones are IPv4
  for (const t of valid) assert.equal(isIPv4(t), true, t);
  for (const t of invalid) assert.equal(isIp(t), false, t);
  assert.deepEqual(parseIp("10.96.0.1"), { family: "ipv4", bytes: [10, 96, 0, 1] });
});

test("IPv6 parsing accepts RFC 4291 text and rejects the rest", () => {
  // Given valid and invalid IPv6 texts
  const valid = ["::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "fe80::1:2", "1:2:3:4:5:6:7::", "0001:02:003:4::"];
  const invalid = [":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::1", ":1::", "1::2:", "fe80::1%eth0", "::ffff:1.2.3", "::ffff:01.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "[::1]"];
  // When parsed / Then
  for (const t of valid) assert.equal(isIPv6(t), true, t);
  for (const t of invalid) assert.equal(isIp(t), false, t);
});

test("the family of an address is decided by its syntax", () => {
  // Given an IPv4 address, an IPv6 address and an IPv4-mapped IPv6 address
  // When asking the family / Then mapped counts as IPv6 (unlike Go), junk has none
  assert.equal(ipFamily("10.0.0.1"), "ipv4");
  assert.equal(ipFamily("fd00::1"), "ipv6");
  assert.equal(ipFamily("::ffff:10.0.0.1"), "ipv6");
  assert.equal(ipFamily("not-an-ip"), undefined);
});

test("canonical IPv6 text follows RFC 5952", () => {
  // Given addresses in various spellings, with what glibc's inet_ntop prints for them
  const cases: [string, string][] = [
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0042:0001:0000:0000:0000:0000", "2001:db8:42:1::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"], // the longest run is compressed
    ["1:0:0:0:1:0:0:1", "1::1:0:0:1"],
    ["1:0:0:1:0:0:1:1", "1::1:0:0:1:1"], // the first of two equal runs
    ["0:0:1:0:0:1:1:1", "::1:0:0:1:1:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"], // IPv4-mapped in mixed notation (RFC 5952 §5)
    ["::ffff:0102:0304", "::ffff:1.2.3.4"],
    ["::ffff:0.0.0.0", "::ffff:0.0.0.0"],
    ["::ffff:0:1.2.3.4", "::ffff:0:102:304"], // not mapped (IPv4-translated): hex
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["FE80::ABCD", "fe80::abcd"],
  ];
  // When canonicalised / Then
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
  // And the deprecated IPv4-compatible block is written as glibc (so ip, ipset, iptables-save) writes it
  const glibc: [string, string][] = [ // checked with inet_ntop and `ip -6 addr show` on a 6.18 kernel
    ["::1.2.3.4", "::1.2.3.4"], ["::a00:2", "::10.0.0.2"], ["::1:2", "::0.1.0.2"], ["::ffff:a00:1", "::ffff:10.0.0.1"],
    ["0:0:0:0:0:ffff:0:1", "::ffff:0.0.0.1"], ["::2:0:0", "::2:0:0"], ["::1", "::1"], ["::", "::"],
  ];
  for (const [input, want] of glibc) assert.equal(canonicalIp(input), want, input);
  assert.equal(canonicalIp("01.2.3.4"), undefined);
});

const ipv6Bytes = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { minLength: 16, maxLength: 16 });
const ipv4Bytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });

test("property: canonical IPv6 text round-trips and is a fixed point", () => {
  fc.assert(
    fc.property(ipv6Bytes, (bytes) => {
      // Given any 16 bytes (zero-heavy, so runs of zero groups are common)
      const text = formatIp({ family: "ipv6", bytes });
      // When parsed back / Then the same bytes, and canonicalising again changes nothing
      assert.deepEqual(parseIp(text), { family: "ipv6", bytes });
      assert.equal(canonicalIp(text), text);
      assert.equal(text, text.toLowerCase());
      assert.ok(!/(^|:)0[0-9a-f]/.test(text.replace(/\d+\.\d+\.\d+\.\d+$/, "")), `no leading zeros: ${text}`);
      assert.ok((text.match(/::/g) ?? []).length <= 1, text);
    }),
    { numRuns: 2000 },
  );
});

test("property: any spelling of an IPv6 address canonicalises to the same text", () => {
  fc.assert(
    fc.property(ipv6Bytes, fc.boolean(), fc.boolean(), (bytes, upper, pad) => {
      // Given the full, uncompressed spelling with optional padding and case changes
      const words = [];
      for (let i = 0; i < 16; i += 2) words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
      let spelled = words.map((w) => (pad ? w.padStart(4, "0") : w)).join(":");
      if (upper) spelled = spelled.toUpperCase();
      // When canonicalised / Then it equals the canonical text of the bytes
      assert.equal(canonicalIp(spelled), formatIp({ family: "ipv6", bytes }));
    }),
    { numRuns: 1000 },
  );
});

/** Reference: the address as a bigint and CIDR containment by shifting. */
function toBig(bytes: readonly number[]): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}
function refContains(cidrBytes: readonly number[], prefix: number, ipBytes: readonly number[]): boolean {
  if (cidrBytes.length !== ipBytes.length) return false;
  const shift = BigInt(cidrBytes.length * 8 - prefix);
  return toBig(cidrBytes) >> shift === toBig(ipBytes) >> shift;
}

test("property: cidrContains agrees with a bigint reference", () => {
  const family = fc.constantFrom(4, 16);
  fc.assert(
    fc.property(
      family.chain((len) =>
        fc.tuple(
          fc.array(fc.integer({ min: 0, max: 255 }), { minLength: len, maxLength: len }),
          fc.integer({ min: 0, max: len * 8 }),
          fc.array(fc.integer({ min: 0, max: 255 }), { minLength: len, maxLength: len }),
          fc.integer({ min: 0, max: len * 8 }),
        ),
      ),
      ([netBytes, prefix, other, flipBits]) => {
        // Given a CIDR and an address that shares its first `flipBits` bits (so both outcomes occur)
        const ipBytes = netBytes.map((b, i) => {
          const keep = Math.min(8, Math.max(0, flipBits - i * 8));
          const mask = (0xff << (8 - keep)) & 0xff;
          return (b & mask) | ((other[i] ?? 0) & ~mask & 0xff);
        });
        const fam = netBytes.length === 4 ? "ipv4" : "ipv6";
        const cidrText = `${formatIp({ family: fam, bytes: netBytes })}/${prefix}`;
        const ipText = formatIp({ family: fam, bytes: ipBytes });
        // When checked / Then it matches the reference
        assert.equal(cidrContains(cidrText, ipText), refContains(netBytes, prefix, ipBytes), `${cidrText} ∋ ${ipText}`);
      },
    ),
    { numRuns: 3000 },
  );
});

test("property: the network of a CIDR is inside it and canonical text round-trips", () => {
  fc.assert(
    fc.property(fc.oneof(ipv4Bytes, ipv6Bytes), fc.nat(), (bytes, p) => {
      // Given a CIDR with host bits possibly set
      const family = bytes.length === 4 ? "ipv4" : "ipv6";
      const prefix = p % (bytes.length * 8 + 1);
      const text = `${formatIp({ family, bytes })}/${prefix}`;
      // When canonicalised / Then host bits are cleared, the result contains the original address
      const canon = canonicalCidr(text);
      assert.ok(canon !== undefined);
      assert.equal(canonicalCidr(canon), canon);
      assert.ok(cidrContains(canon, formatIp({ family, bytes })));
      const net = networkAddress(text);
      assert.equal(canon, `${net}/${prefix}`);
      const shift = BigInt(bytes.length * 8 - prefix);
      assert.equal(toBig(parseIp(net ?? "")?.bytes ?? []), (toBig(bytes) >> shift) << shift);
    }),
    { numRuns: 2000 },
  );
});

test("property: canonicalPrefix keeps host bits and equals the general parse + format, also for texts its IPv4 fast path takes", () => {
  // Given address/prefix texts: canonical ones, and ones with leading zeros, a padded or missing prefix, junk
  const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("00", "01", "007", "256", ""));
  const bits = fc.oneof(fc.integer({ min: 0, max: 33 }).map(String), fc.constantFrom("00", "08", "032", "+8", "", "x"));
  const text = fc.oneof(
    fc.tuple(fc.array(octet, { minLength: 3, maxLength: 5 }), fc.option(bits)).map(([o, b]) => o.join(".") + (b === null ? "" : `/${b}`)),
    fc.tuple(ipv6Bytes, fc.integer({ min: 0, max: 128 })).map(([b, p]) => `${formatIp({ family: "ipv6", bytes: b })}/${p}`),
  );
  fc.assert(
    fc.property(text, (t) => {
      // When canonicalised / Then the result is what parsePrefix + formatPrefix give
      const p = parsePrefix(t);
      assert.equal(canonicalPrefix(t), p === undefined ? undefined : formatPrefix(p), t);
    }),
    { numRuns: 3000 },
  );
  assert.equal(canonicalPrefix("10.96.0.10/32"), "10.96.0.10/32");
  assert.equal(canonicalPrefix("10.96.0.10/24"), "10.96.0.10/24");
  assert.equal(canonicalPrefix("10.96.0.10/08"), "10.96.0.10/8");
  assert.equal(canonicalPrefix("010.96.0.10/8"), undefined);
});

test("CIDR parsing follows Go's net.ParseCIDR", () => {
  // Given CIDR texts
  // When parsed / Then a bare IP is not a CIDR, the prefix must fit the family
  assert.deepEqual(parseCidr("10.96.0.0/12"), { family: "ipv4", bytes: [10, 96, 0, 0], prefix: 12 });
  assert.equal(parseCidr("10.10.10.10"), undefined);
  assert.equal(parseCidr("10.10.10/24"), undefined);
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("10.0.0.0/"), undefined);
  assert.equal(parseCidr("10.0.0.0/-1"), undefined);
  assert.equal(parseCidr("10.0.0.0/ 8"), undefined);
  assert.equal(parseCidr("fd00::/129"), undefined);
  assert.equal(parseCidr("foo"), undefined);
  assert.equal(cidrFamily("2001:db8:42:1::/112"), "ipv6");
  assert.equal(canonicalCidr("10.96.0.1/12"), "10.96.0.0/12");
  assert.equal(canonicalCidr("2001:DB8:42:1000:0:0:0:5/64"), "2001:db8:42:1000::/64");
  assert.equal(canonicalCidr("0.0.0.0/0"), "0.0.0.0/0");
  assert.equal(networkAddress("192.168.7.130/25"), "192.168.7.128");
});

test("cidrContains never mixes families and rejects junk", () => {
  // Given CIDRs and addresses of different families / Then no containment across families
  assert.equal(cidrContains("10.96.0.0/12", "10.96.0.10"), true);
  assert.equal(cidrContains("10.96.0.0/12", "10.112.0.1"), false);
  assert.equal(cidrContains("0.0.0.0/0", "::ffff:10.96.0.10"), false);
  assert.equal(cidrContains("::/0", "10.0.0.1"), false);
  assert.equal(cidrContains("::ffff:0:0/96", "::ffff:10.0.0.1"), true);
  assert.equal(cidrContains("10.96.0.0/12", "junk"), false);
  assert.equal(cidrContains("junk", "10.0.0.1"), false);
  assert.equal(cidrContains("ffff::/128", "ffff::"), true);
});
