/**
 * iproute2 driver, pure parsing: the `ip -j` parsers on dumps captured from the 6.18 dev
 * kernel with iproute2 6.1 (test/fixtures/ip/, made in a scratch netns: owned and foreign
 * links, routes of proto 17 in both families, rules in owned and foreign tables), the
 * address arithmetic and the canonical forms desired objects must use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseAddrShow, parseRoutes, parseRules } from "../../src/apply/ip/parse.ts";
import { canonicalPrefix, cidrContains, formatIp, hasHostBits, parseIp, parsePrefix } from "../../src/model/ip.ts";
import { canonicalSelector } from "../../src/apply/ip/selector.ts";
import { canonicalAddress, canonicalLink, canonicalRoute } from "../../src/apply/ip/canon.ts";
import { alignLinks, alignRoutes } from "../../src/apply/ip/driver.ts";
import { tunnelPeer } from "../../src/render/overlay-tunnels.ts";

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/ip/${name}`, import.meta.url), "utf8");

test("addr show: owned links only, kind/up/mtu and vxlan attributes in canonical form", () => {
  // Given the captured dump (lo, eth0 veth, kube-bridge, kube-dummy-if, tun-vx, tun-vx6, br-foreign)
  // When it is parsed
  const { links } = parseAddrShow(fixture("addr-show.json"));
  // Then only owned names are there, each canonical (tun-vx6's kernel-default port 8472 and learning omitted)
  assert.deepEqual([...links.entries()], [
    ["kube-bridge", { name: "kube-bridge", kind: "bridge", up: true, mtu: 1400 }],
    ["kube-dummy-if", { name: "kube-dummy-if", kind: "bridge", up: true, mtu: 1500 }],
    ["tun-vx", { name: "tun-vx", kind: "vxlan", up: false, mtu: 1450, vxlan: { id: 42, local: "10.250.0.1", dev: "eth0", port: 4789, learning: false } }],
    ["tun-vx6", { name: "tun-vx6", kind: "vxlan", up: true, mtu: 1500, vxlan: { id: 43, local: "fd00:250::1" } }],
  ]);
});

test("addr show: addresses only on kube-dummy-if, link-local skipped, IPv4 scope kept", () => {
  // Given the captured dump, where kube-dummy-if has 10.96.0.10/32 scope link, fd00:96::10/128 and an fe80 address
  // When it is parsed
  const { addresses } = parseAddrShow(fixture("addr-show.json"));
  // Then the two addresses we own are there and eth0's are not
  assert.deepEqual([...addresses.entries()], [
    ["kube-dummy-if/10.96.0.10/32", { dev: "kube-dummy-if", cidr: "10.96.0.10/32", scope: "link" }],
    ["kube-dummy-if/fd00:96::10/128", { dev: "kube-dummy-if", cidr: "fd00:96::10/128" }],
  ]);
});

test("addr show: every interface as HostInterface with mtu and ip/prefixlen addresses", () => {
  // Given the captured dump
  // When it is parsed
  const { interfaces } = parseAddrShow(fixture("addr-show.json"));
  // Then every interface is listed, foreign ones included, with both families
  assert.deepEqual(interfaces.map((i) => i.name), ["lo", "eth0", "kube-bridge", "kube-dummy-if", "tun-vx", "tun-vx6", "br-foreign"]);
  const eth0 = interfaces.find((i) => i.name === "eth0");
  assert.equal(eth0?.mtu, 1500);
  assert.deepEqual(eth0?.addrs.slice(0, 2), ["10.250.0.1/24", "fd00:250::1/64"]);
  assert.match(eth0?.addrs[2] ?? "", /^fe80::[0-9a-f:]+\/64$/);
  assert.deepEqual(interfaces.find((i) => i.name === "lo"), { name: "lo", mtu: 65536, addrs: ["127.0.0.1/8", "::1/128"] });
});

test("routes: both families, table main when absent, host /32 and /128, proto 17, default kept", () => {
  // Given the captured `ip -4|-6 -j route show table all proto 17` dumps (no `protocol` field in them)
  // When they are parsed
  const routes = parseRoutes({ ipv4: fixture("route4.json"), ipv6: fixture("route6.json") });
  // Then every route is keyed table/dst and canonical (the dev route's implied `scope link` omitted)
  assert.deepEqual([...routes.entries()], [
    ["ipv4/77/10.244.3.0/24", { family: "ipv4", table: "77", dst: "10.244.3.0/24", via: "10.250.0.2", dev: "eth0", proto: "17" }],
    ["ipv4/77/10.244.9.9/32", { family: "ipv4", table: "77", dst: "10.244.9.9/32", dev: "kube-bridge", proto: "17" }],
    ["ipv4/78/default", { family: "ipv4", table: "78", dst: "default", via: "10.250.0.2", dev: "eth0", proto: "17" }],
    ["ipv4/main/10.244.2.0/24", { family: "ipv4", table: "main", dst: "10.244.2.0/24", via: "10.250.0.2", dev: "eth0", proto: "17" }],
    ["ipv4/main/10.244.6.0/24", { family: "ipv4", table: "main", dst: "10.244.6.0/24", via: "10.250.0.2", dev: "eth0", src: "10.250.0.1", proto: "17" }],
    ["ipv6/77/fd00:244:3::5/128", { family: "ipv6", table: "77", dst: "fd00:244:3::5/128", dev: "eth0", proto: "17" }],
    ["ipv6/main/fd00:244:2::/64", { family: "ipv6", table: "main", dst: "fd00:244:2::/64", via: "fd00:250::2", dev: "eth0", proto: "17" }],
  ]);
});

test("routes: a type we never install is spelled out so it never equals a desired route", () => {
  // Given a proto 17 blackhole route, a local route and an explicit non-default scope
  const v4 = JSON.stringify([
    { type: "blackhole", dst: "10.9.0.0/16", table: "77", flags: [] },
    { type: "local", dst: "10.96.0.1", dev: "kube-bridge", table: "local", scope: "host", flags: [] },
    { dst: "10.9.1.0/24", gateway: "10.250.0.2", dev: "eth0", scope: "link", flags: [] },
  ]);
  // When parsed
  const routes = parseRoutes({ ipv4: v4, ipv6: "[]" });
  // Then the blackhole says type unicast, the local route keeps type local without its implied scope, the link scope stays
  assert.deepEqual(routes.get("ipv4/77/10.9.0.0/16"), { family: "ipv4", table: "77", dst: "10.9.0.0/16", proto: "17", scope: "global", type: "unicast" });
  assert.deepEqual(routes.get("ipv4/local/10.96.0.1/32"), { family: "ipv4", table: "local", dst: "10.96.0.1/32", dev: "kube-bridge", proto: "17", type: "local" });
  assert.equal(routes.get("ipv4/main/10.9.1.0/24")?.scope, "link");
});

test("rules: owned tables only, selectors canonical, both families", () => {
  // Given the captured rule dumps (owned tables 77-79, foreign main/100/200, the default rules)
  // When parsed
  const rules = parseRules({ ipv4: fixture("rule4.json"), ipv6: fixture("rule6.json") });
  // Then only rules looking up 77, 78, 79 remain, with selectors in `ip rule` syntax
  assert.deepEqual([...rules.values()], [
    { family: "ipv4", priority: 100, selector: "from 10.244.1.0/24", table: "77" },
    { family: "ipv4", priority: 101, selector: "fwmark 0x4d", table: "78" },
    { family: "ipv4", priority: 102, selector: "from 10.1.2.3/32 fwmark 0x10/0xff", table: "79" },
    { family: "ipv4", priority: 103, selector: "not from 10.0.0.0/8 iif eth0", table: "77" },
    { family: "ipv4", priority: 104, selector: "from 10.244.0.0/16 to 10.96.0.0/12", table: "79" },
    { family: "ipv6", priority: 100, selector: "from fd00:244:1::/64", table: "77" },
    { family: "ipv6", priority: 101, selector: "fwmark 0x4d", table: "78" },
  ]);
  assert.deepEqual([...rules.keys()].slice(0, 2), ["ipv4/100/from 10.244.1.0/24", "ipv4/101/fwmark 0x4d"]);
});

test("malformed JSON fails with a one-line message naming the dump", () => {
  // Given truncated or wrongly shaped dumps
  // When parsed / Then each throws a single-line Error naming the command
  assert.throws(() => parseAddrShow('[{"ifname":'), (e: Error) => /^ip -d -j addr show: malformed JSON: /.test(e.message) && !e.message.includes("\n"));
  assert.throws(() => parseRoutes({ ipv4: "{}", ipv6: "[]" }), /^Error: ip -4 -j route show table all proto 17: malformed JSON: expected an array of objects$/);
  assert.throws(() => parseRules({ ipv4: "[]", ipv6: "[1]" }), /ip -6 -j rule show: malformed JSON/);
  // And empty output (no routes at all) is an empty table
  assert.equal(parseRoutes({ ipv4: "", ipv6: "\n" }).size, 0);
});

test("an owned name of a foreign kind is reported with the kernel's kind", () => {
  // Given a veth someone named kube-bridge and a tun- link without linkinfo
  const dump = JSON.stringify([
    { ifname: "kube-bridge", flags: ["UP"], mtu: 1500, linkinfo: { info_kind: "veth" }, addr_info: [] },
    { ifname: "tun-x", flags: [], mtu: 1480, addr_info: [] },
    { ifname: "tun-y", flags: [], mtu: 1480, linkinfo: { info_kind: "ipip", info_data: { proto: "ipip", remote: "10.0.0.2", local: "any" } }, addr_info: [] },
    { ifname: "tun-z", flags: [], mtu: 1452, linkinfo: { info_kind: "ip6tnl", info_data: { proto: "ip6ip6", remote: "fd00::2", local: "::" } }, addr_info: [] },
  ]);
  // When parsed
  const { links } = parseAddrShow(dump);
  // Then the kinds are what the kernel says (so they differ from any desired kind), tunnels have endpoints without "any"/"::"
  assert.equal(links.get("kube-bridge")?.kind, "veth");
  assert.equal(links.get("tun-x")?.kind, "unknown");
  assert.deepEqual(links.get("tun-y")?.tunnel, { remote: "10.0.0.2" });
  assert.deepEqual(links.get("tun-z")?.tunnel, { remote: "fd00::2" });
});

test("inet: canonical text matches glibc inet_ntop, prefixes and containment", () => {
  // Given addresses in various spellings / Then they print as the kernel tools print them (checked against inet_ntop)
  const cases: [string, string][] = [
    ["fd00:0:0:0:0:0:0:1", "fd00::1"], ["1:0:1:0:0:1:0:0", "1:0:1::1:0:0"], ["0:0:0:0:0:0:0:0", "::"],
    ["1:0:0:0:1:0:0:0", "1::1:0:0:0"], ["2001:DB8:0:1:0:0:0:1", "2001:db8:0:1::1"], ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["10.0.0.1", "10.0.0.1"], ["::ffff:0a00:0001", "::ffff:10.0.0.1"], // as `ip -6 addr show` prints it (6.18, iproute2 6.1)
  ];
  for (const [input, want] of cases) assert.equal(formatIp(parseIp(input) ?? assert.fail(input)), want, input);
  for (const bad of ["10.0.0.256", "1.2.3", "1:::2", "1:2:3:4:5:6:7:8:9", "fd00::/64", "x"]) assert.equal(parseIp(bad), undefined, bad);
  assert.equal(canonicalPrefix("10.1.2.3"), "10.1.2.3/32");
  assert.equal(canonicalPrefix("fd00:0::5"), "fd00::5/128");
  assert.equal(canonicalPrefix("10.0.0.0/33"), undefined);
  assert.equal(hasHostBits(parsePrefix("10.0.0.5/24") ?? assert.fail()), true);
  assert.equal(hasHostBits(parsePrefix("fd00::/64") ?? assert.fail()), false);
  assert.equal(cidrContains(parsePrefix("10.250.0.0/24") ?? assert.fail(), parseIp("10.250.0.9") ?? assert.fail()), true);
  assert.equal(cidrContains(parsePrefix("10.250.0.0/24") ?? assert.fail(), parseIp("10.250.1.9") ?? assert.fail()), false);
});

test("canonical forms: selectors, routes, links, addresses", () => {
  // Given objects written the way a renderer might write them
  // Then their canonical forms are what observe reports for the same kernel objects
  assert.equal(canonicalSelector("from 10.1.2.3 fwmark 77", "ipv4"), "from 10.1.2.3/32 fwmark 0x4d");
  assert.equal(canonicalSelector("  from all  ", "ipv4"), "from all");
  assert.equal(canonicalSelector("fwmark 0x4000/0xffffffff to fd00:0::/64", "ipv6"), "to fd00::/64 fwmark 0x4000");
  assert.throws(() => canonicalSelector("from fd00::/64", "ipv4"), /not ipv4/);
  assert.throws(() => canonicalSelector("ipproto tcp", "ipv4"), /unsupported selector "ipproto"/);
  assert.deepEqual(canonicalRoute({ family: "ipv4", table: "main", dst: "0.0.0.0/0", via: "10.0.0.1", proto: "17", type: "unicast", scope: "global" }),
    { family: "ipv4", table: "main", dst: "default", via: "10.0.0.1", proto: "17" });
  assert.deepEqual(canonicalRoute({ family: "ipv6", table: "77", dst: "fd00:0::1", dev: "eth0", proto: "17", scope: "link" }),
    { family: "ipv6", table: "77", dst: "fd00::1/128", dev: "eth0", proto: "17" });
  assert.deepEqual(canonicalLink({ name: "tun-a", kind: "vxlan", up: true, vxlan: { id: 1, port: 8472, learning: true, local: "fd00:0::1" } }),
    { name: "tun-a", kind: "vxlan", up: true, vxlan: { id: 1, local: "fd00::1" } });
  assert.deepEqual(canonicalAddress({ dev: "kube-dummy-if", cidr: "fd00::a", scope: "link" }), { dev: "kube-dummy-if", cidr: "fd00::a/128" });
  assert.deepEqual(canonicalAddress({ dev: "kube-dummy-if", cidr: "10.96.0.1/32", scope: "global" }), { dev: "kube-dummy-if", cidr: "10.96.0.1/32" });
});

test("alignment: unmanaged mtu and resolved route dev are dropped only where desired leaves them out", () => {
  // Given observed objects with kernel-filled attributes
  const links = new Map([["kube-bridge", { name: "kube-bridge", kind: "bridge" as const, up: true, mtu: 1500 }], ["tun-a", { name: "tun-a", kind: "vxlan" as const, up: true, mtu: 1450, vxlan: { id: 1 } }]]);
  const routes = new Map([
    ["ipv4/main/10.1.0.0/24", { family: "ipv4" as const, table: "main", dst: "10.1.0.0/24", via: "10.0.0.1", dev: "eth0", proto: "17" }],
    ["ipv4/main/10.2.0.0/24", { family: "ipv4" as const, table: "main", dst: "10.2.0.0/24", via: "10.0.0.1", dev: "eth0", proto: "17" }],
  ]);
  // When aligned with a desired state that leaves kube-bridge's mtu and 10.1.0.0/24's dev out
  const l = alignLinks(links, new Map([["kube-bridge", { name: "kube-bridge", kind: "bridge", up: true }], ["tun-a", { name: "tun-a", kind: "vxlan", up: true, mtu: 1400, vxlan: { id: 1 } }]]));
  const r = alignRoutes(routes, new Map([["ipv4/main/10.1.0.0/24", { family: "ipv4", table: "main", dst: "10.1.0.0/24", via: "10.0.0.1", proto: "17" }]]));
  // Then exactly those are dropped; managed values and undesired objects keep what the kernel says
  assert.deepEqual(l.get("kube-bridge"), { name: "kube-bridge", kind: "bridge", up: true });
  assert.equal(l.get("tun-a")?.mtu, 1450);
  assert.equal(r.get("ipv4/main/10.1.0.0/24")?.dev, undefined);
  assert.equal(r.get("ipv4/main/10.2.0.0/24")?.dev, "eth0");
});

test("addr show on Debian's 6.1 kernel (qemu VM tier): ipip and ip6tnl tunnels, plain and with GUE, parse to what the overlay renders", () => {
  // Given `ip -d -j addr show` captured in the VM (iproute2 6.1, kernel 6.1): the kernel's own
  // tunl0 / ip6tnl0 and our four kinds of tunnel (ipip, ipip + GUE, ip6tnl, ip6tnl + GUE), whose
  // info_data prints ttl 0 (inherit) for ipip, ttl 64 (hoplimit) for ip6tnl, and
  // "encap":{"type":"gue","sport":0,"dport":5555,…} for FoU
  const { links } = parseAddrShow(fixture("addr-show-tunnels-6.1.json"));
  // When each is compared with the link the overlay renders for the same endpoints
  const rendered = (family: "ipv4" | "ipv6", encap: "ipip" | "fou", localIp: string, peerIp: string, mtu: number) =>
    canonicalLink(tunnelPeer({ family, encap, port: 5555, localIp, peerIp, peerCidrs: [], mtu }).link);
  // Then the kernel's default devices are not ours, and each tunnel equals its rendered twin
  // (default ttls omitted, GUE encap kept), so a converged overlay diffs empty
  assert.deepEqual([...links.keys()], ["tun-fou", "tun-fou6", "tun-ip6", "tun-ipip"]);
  const same = (name: string, r: ReturnType<typeof rendered>) => assert.deepEqual(links.get(name), { ...r, name }, name);
  same("tun-ipip", rendered("ipv4", "ipip", "10.9.0.1", "10.9.0.2", 1480));
  same("tun-fou", rendered("ipv4", "fou", "10.9.0.11", "10.9.0.12", 1468));
  same("tun-ip6", rendered("ipv6", "ipip", "fd00:9::1", "fd00:9::2", 1452));
  same("tun-fou6", rendered("ipv6", "fou", "fd00:9::11", "fd00:9::12", 1440));
  assert.deepEqual(links.get("tun-fou6")?.tunnel, { local: "fd00:9::11", remote: "fd00:9::12", ttl: 225, encap: { type: "gue", dport: 5555 } });
  assert.deepEqual(links.get("tun-ip6")?.tunnel, { local: "fd00:9::1", remote: "fd00:9::2" });
});
