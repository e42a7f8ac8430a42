/**
 * FakeIp semantics: the behaviours of the real `ip`/kernel the driver depends on, as the fake
 * reproduces them (each was checked on the 6.18 dev kernel with iproute2 6.1): duplicate adds
 * and missing deletes fail, batch stop vs `-force`, gateway reachability, IPv6 rules need `-6`,
 * link down/delete side effects, and dumps shaped like `ip -j`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeExec } from "../../src/apply/fake.ts";
import { ExecError } from "../../src/apply/exec.ts";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { IP_DUMPS } from "../../src/apply/ip/driver.ts";
import { parseAddrShow, parseRoutes } from "../../src/apply/ip/parse.ts";

/** A fake with eth0 up on 10.250.0.1/24 and fd00:250::1/64. */
function world(): FakeIp {
  return new FakeIp().seedLink({ name: "eth0", kind: "veth", up: true }).seedAddress("eth0", "10.250.0.1/24").seedAddress("eth0", "fd00:250::1/64");
}
const batch = (ip: FakeIp, text: string, args: readonly string[] = ["-batch", "-"]) => ip.run("ip", args, text);
const routes = (ip: FakeIp) => parseRoutes({
  ipv4: ip.run("ip", IP_DUMPS.route4, "").stdout,
  ipv6: ip.run("ip", IP_DUMPS.route6, "").stdout,
});

test("adding an existing link, address, route or identical rule fails with ip's message", () => {
  // Given a fake with a bridge, an address, a route and a rule
  const ip = world();
  assert.equal(batch(ip, "link add kube-bridge up type bridge\naddress add 10.96.0.1/32 dev kube-bridge\nroute add 10.244.1.0/24 via 10.250.0.2 proto 17\nrule add priority 100 from 10.244.1.0/24 lookup 77\n").code, 0);
  // When each is added again / Then each fails with the real message and the line number
  for (const [line, msg] of [
    ["link add kube-bridge type bridge", "RTNETLINK answers: File exists"],
    ["address add 10.96.0.1/32 dev kube-bridge", "RTNETLINK answers: File exists"],
    ["route add 10.244.1.0/24 via 10.250.0.2 proto 17", "RTNETLINK answers: File exists"],
    ["rule add priority 100 from 10.244.1.0/24 lookup 77", "RTNETLINK answers: File exists"],
  ] as const) {
    assert.deepEqual(batch(ip, `${line}\n`), { code: 1, stdout: "", stderr: `${msg}\nCommand failed -:1\n` }, line);
  }
  // But `route replace` of the same route succeeds, and a rule differing only in table is a new rule
  assert.equal(batch(ip, "route replace 10.244.1.0/24 via 10.250.0.3 proto 17\nrule add priority 100 from 10.244.1.0/24 lookup 78\n").code, 0);
  assert.equal(routes(ip).get("ipv4/main/10.244.1.0/24")?.via, "10.250.0.3");
});

test("deleting a missing link, address, route or rule fails", () => {
  // Given an empty-ish fake
  const ip = world();
  // When deleting things that are not there / Then each line fails with the kernel's message
  for (const [line, msg] of [
    ["link del kube-bridge", 'Cannot find device "kube-bridge"'],
    ["address del 10.250.0.9/24 dev eth0", "Error: ipv4: Address not found."],
    ["route del 10.244.1.0/24 table main proto 17", "RTNETLINK answers: No such process"],
    ["rule del priority 100 from 10.244.1.0/24 lookup 77", "RTNETLINK answers: No such file or directory"],
  ] as const) {
    assert.equal(batch(ip, line).stderr, `${msg}\nCommand failed -:1\n`, line);
  }
  // And a route delete with proto 17 leaves a foreign (static) route of the same dst alone
  ip.seedRoute({ dst: "192.168.1.0/24", via: "10.250.0.2" });
  assert.equal(batch(ip, "route del 192.168.1.0/24 table main proto 17").code, 1);
});

test("a batch stops at the first failed line; with -force it runs every line and still exits 1", () => {
  // Given two fakes and a batch whose second line fails
  const text = "link add kube-bridge type bridge\nlink add kube-bridge type bridge\nlink add tun-a type vxlan id 1 dstport 4789\n";
  const plain = world();
  const forced = world();
  // When run without and with -force
  const r1 = batch(plain, text);
  const r2 = batch(forced, text, ["-force", "-batch", "-"]);
  // Then both exit 1; the line before stays applied (ip -batch is not atomic); only -force applies the third
  assert.equal(r1.code, 1);
  assert.equal(r2.code, 1);
  assert.equal(plain.kernel.links.has("kube-bridge"), true);
  assert.equal(plain.kernel.links.has("tun-a"), false);
  assert.equal(forced.kernel.links.has("tun-a"), true);
  assert.equal(r2.stderr, "RTNETLINK answers: File exists\nCommand failed -:2\n");
});

test("a route needs a reachable gateway or an up device; host bits are refused", () => {
  // Given eth0 (up, 10.250.0.0/24) and a bridge that is down
  const ip = world();
  batch(ip, "link add br0 type bridge\naddress add 10.251.0.1/24 dev br0");
  // When routes are added / Then gateway and device rules hold as on the kernel
  const cases: [string, string][] = [
    ["route add 10.1.0.0/24 via 10.99.0.1 proto 17", "Error: Nexthop has invalid gateway."],
    ["route add 10.1.0.0/24 via 10.251.0.2 proto 17", "Error: Nexthop has invalid gateway."],
    ["route add 10.1.0.0/24 dev br0 proto 17", "Error: Device for nexthop is not up."],
    ["route add fd00:1::/64 dev br0 proto 17", "Error: Nexthop device is not up."],
    ["route add fd00:1::/64 via fd00:99::1 proto 17", "RTNETLINK answers: No route to host"],
    ["route add 10.1.0.5/24 via 10.250.0.2 proto 17", "Error: Invalid prefix for given prefix length."],
    ["route add 10.1.0.0/24 via 10.250.0.2 dev br0 proto 17", "Error: Nexthop has invalid gateway."],
    ["route add 10.1.0.0/24 via 10.250.0.2 dev lo proto 17", "Error: Nexthop has invalid gateway."],
    ["route add 10.1.0.0/24 dev nope proto 17", 'Cannot find device "nope"'],
    ["route add 10.1.0.0/24 proto 17", "RTNETLINK answers: No such device"],
  ];
  for (const [line, msg] of cases) assert.equal(batch(ip, line).stderr, `${msg}\nCommand failed -:1\n`, line);
  // And reachable ones succeed, the device resolved from the gateway's subnet
  assert.equal(batch(ip, "route add 10.1.0.0/24 via 10.250.0.2 proto 17\nroute add ::/0 via fd00:250::2 proto 17 table 78").code, 0);
  assert.equal(routes(ip).get("ipv4/main/10.1.0.0/24")?.dev, "eth0");
  assert.equal(routes(ip).get("ipv6/78/default")?.family, "ipv6");
});

test("IPv6 rules need -6 (no per-line family in a batch)", () => {
  // Given a fake
  const ip = world();
  // When an IPv6 rule is added in a plain batch, with `-6` on the line, and in an `ip -6` batch
  const plain = batch(ip, "rule add priority 100 from fd00:244:1::/64 lookup 77");
  const perLine = batch(ip, "-6 rule add priority 100 from fd00:244:1::/64 lookup 77");
  const six = batch(ip, "rule add priority 100 from fd00:244:1::/64 lookup 77\nrule add priority 101 fwmark 0x4d lookup 78", ["-6", "-batch", "-"]);
  // Then only the -6 batch works, and a selector without addresses lands in the IPv6 rule list
  assert.equal(plain.stderr, "Error: Invalid source address.\nCommand failed -:1\n");
  assert.equal(perLine.stderr, 'Object "-6" is unknown, try "ip help".\nCommand failed -:1\n');
  assert.equal(six.code, 0);
  assert.deepEqual(ip.ruleTexts("ipv6"), ["0: from all lookup local", "100: from fd00:244:1::/64 lookup 77", "101: fwmark 0x4d lookup 78", "32766: from all lookup main"]);
  assert.deepEqual(ip.ruleTexts("ipv4"), ["0: from all lookup local", "32766: from all lookup main", "32767: from all lookup default"]);
});

test("rule delete matches on the attributes given, like the kernel", () => {
  // Given a rule with a fwmark
  const ip = world().seedRule({ family: "ipv4", priority: 102, selector: "from 10.1.2.3 fwmark 0x10/0xff", table: "79" });
  // When it is deleted naming fewer attributes
  const r = batch(ip, "rule del priority 102 from 10.1.2.3/32 lookup 79");
  // Then it is gone
  assert.equal(r.code, 0);
  assert.equal(ip.ruleTexts("ipv4").some((t) => t.startsWith("102:")), false);
});

test("link down drops its routes and IPv6 addresses; link delete drops addresses, routes and vxlans on it", () => {
  // Given a bridge with addresses and a route, and a vxlan on eth1
  const ip = world().seedLink({ name: "eth1", kind: "veth", up: true }).seedAddress("eth1", "10.252.0.1/24");
  assert.equal(batch(ip, [
    "link add kube-dummy-if up type bridge", "address add 10.96.0.1/24 dev kube-dummy-if", "address add fd00:96::1/128 dev kube-dummy-if",
    "route add 10.244.9.0/24 dev kube-dummy-if proto 17", "link add tun-a type vxlan id 5 dev eth1 dstport 4789",
  ].join("\n")).code, 0);
  // When the bridge goes down
  batch(ip, "link set kube-dummy-if down");
  // Then its route and IPv6 address are gone, its IPv4 address stays
  const a = parseAddrShow(ip.run("ip", IP_DUMPS.addr, "").stdout);
  assert.deepEqual([...a.addresses.keys()], ["kube-dummy-if/10.96.0.1/24"]);
  assert.equal(routes(ip).size, 0);
  // When eth1 is deleted / Then the vxlan on it is deleted too
  batch(ip, "link del eth1");
  assert.equal(ip.kernel.links.has("tun-a"), false);
});

test("deleting an IPv4 address drops routes that used it as src or needed its subnet", () => {
  // Given a second subnet on eth0 and routes through it
  const ip = world().seedAddress("eth0", "10.253.0.1/24");
  batch(ip, "route add 10.5.0.0/24 via 10.253.0.2 proto 17\nroute add 10.6.0.0/24 via 10.250.0.2 src 10.253.0.1 proto 17\nroute add 10.7.0.0/24 via 10.250.0.2 proto 17");
  // When that address is deleted
  batch(ip, "address del 10.253.0.1/24 dev eth0");
  // Then only the route that needed neither survives
  assert.deepEqual([...routes(ip).keys()], ["ipv4/main/10.7.0.0/24"]);
});

test("dumps look like ip -j: proto filter hides protocol, fe80 appears on up links, unsupported lines fail loudly", async () => {
  // Given a fake with an owned and a foreign route and an up bridge
  const ip = world().seedRoute({ dst: "192.168.0.0/24", via: "10.250.0.2" });
  batch(ip, "link add kube-bridge up type bridge\nroute add 10.244.9.9/32 dev kube-bridge proto 17 table 77");
  // When the driver's dumps run
  const r4 = JSON.parse(ip.run("ip", IP_DUMPS.route4, "").stdout) as unknown[];
  const all = JSON.parse(ip.run("ip", ["-4", "-j", "route", "show", "table", "all"], "").stdout) as { protocol?: string }[];
  const addr = JSON.parse(ip.run("ip", IP_DUMPS.addr, "").stdout) as { ifname: string; addr_info: { local: string; scope: string }[] }[];
  // Then the filtered dump has only ours and no protocol field; the unfiltered one names the protocols
  assert.deepEqual(r4, [{ dst: "10.244.9.9", dev: "kube-bridge", table: "77", scope: "link", flags: [] }]);
  assert.deepEqual(all.map((r) => r.protocol), ["17", "static"]);
  assert.match(addr.find((l) => l.ifname === "kube-bridge")?.addr_info[0]?.local ?? "", /^fe80::/);
  // And a command the fake does not model fails instead of passing silently
  const exec = fakeExec(ip);
  await assert.rejects(exec.run("ip", ["-j", "maddr", "show"]), (e: unknown) => e instanceof ExecError && /fake ip: unsupported/.test(e.message));
  assert.equal(batch(ip, "link add x0 type macvlan").stderr, "Error: Unknown device type.\nCommand failed -:1\n");
});
