/**
 * The neighbour table's native form: `ip -j neigh show` parsing (owned devices only),
 * `neigh replace/del` lines for the ip batch, and the fake ip's neighbour table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { compileNeighbors, parseNeighbors } from "../../src/apply/ip/neigh.ts";
import { type Neighbor, neighborKey } from "../../src/model/overlay.ts";

// `ip -j neigh show` on a 6.18 netns (both families, every device).
const DUMP = JSON.stringify([
  { dst: "10.244.2.0", dev: "kube-vxlan", lladdr: "0E:00:0A:F4:02:00", state: ["PERMANENT"] },
  { dst: "fe80:0::58ed:baff:fe46:f3fc", dev: "kube-vxlan6", lladdr: "5a:ed:ba:46:f3:fc", state: ["PERMANENT"] },
  { dst: "10.244.5.0", dev: "kube-vxlan", state: ["FAILED"] },
  { dst: "10.250.1.1", dev: "eth0", lladdr: "aa:bb:cc:dd:ee:01", state: ["REACHABLE"] },
  { dst: "10.99.0.1", dev: "vx-foreign", lladdr: "0e:00:00:00:99:01", state: ["PERMANENT"] },
]);

const n = (dev: string, ip: string, lladdr: string): Neighbor => ({ dev, ip, family: ip.includes(":") ? "ipv6" : "ipv4", lladdr, state: "permanent" });

test("given a neighbour dump, when parsed, then only entries on our devices remain, canonical; a FAILED one keeps an empty lladdr so it is replaced", () => {
  const t = parseNeighbors(DUMP);
  assert.deepEqual([...t.values()], [
    n("kube-vxlan", "10.244.2.0", "0e:00:0a:f4:02:00"),
    { dev: "kube-vxlan", ip: "10.244.5.0", family: "ipv4", lladdr: "", state: "failed" },
    n("kube-vxlan6", "fe80::58ed:baff:fe46:f3fc", "5a:ed:ba:46:f3:fc"),
  ]);
  const one = JSON.stringify([{ dst: "10.244.3.0", lladdr: "0e:00:00:00:00:03", state: ["PERMANENT"] }]);
  assert.deepEqual([...parseNeighbors(one, "kube-vxlan").keys()], ["kube-vxlan/10.244.3.0"]);
  assert.throws(() => parseNeighbors("nope"), /^Error: ip -j neigh show: malformed JSON/);
});

test("given neighbour changes, when compiled, then deletes and replaces come as separate line lists for the two ip batches", () => {
  const a = n("kube-vxlan", "10.244.2.0", "0e:00:0a:f4:02:00");
  const b = n("kube-vxlan6", "fe80::1", "0e:00:0a:f4:02:01");
  const old = n("kube-vxlan", "10.244.9.0", "0e:00:0a:f4:09:00");
  assert.deepEqual(compileNeighbors([
    { op: "create", key: neighborKey(a), after: a },
    { op: "update", key: neighborKey(b), before: { ...b, lladdr: "" }, after: b },
    { op: "delete", key: neighborKey(old), before: old },
  ]), {
    remove: ["neigh del 10.244.9.0 dev kube-vxlan"],
    add: ["neigh replace 10.244.2.0 lladdr 0e:00:0a:f4:02:00 dev kube-vxlan nud permanent", "neigh replace fe80::1 lladdr 0e:00:0a:f4:02:01 dev kube-vxlan6 nud permanent"],
  });
});

test("given the fake ip, when neighbour lines are replayed in a batch, then the dump parses back to them and kernel refusals are reproduced", () => {
  const ip = new FakeIp();
  ip.run("ip", ["-batch", "-"], "link add kube-vxlan up type vxlan id 1 dstport 4789\n");
  const r = ip.run("ip", ["-force", "-batch", "-"], [
    "neigh replace 10.244.2.0 lladdr 0e:00:0a:f4:02:00 dev kube-vxlan nud permanent",
    "neigh replace fd00::9 lladdr 0e:00:0a:f4:02:01 dev kube-vxlan nud permanent",
    "neigh add 10.244.2.0 lladdr 0e:00:0a:f4:02:00 dev kube-vxlan nud permanent",
    "neigh del 10.244.8.0 dev kube-vxlan",
    "neigh replace 10.244.3.0 lladdr 0e:00:0a:f4:03:00 dev nope nud permanent",
  ].join("\n"));
  assert.equal(r.stderr, [
    "RTNETLINK answers: File exists", "Command failed -:3",
    "RTNETLINK answers: No such file or directory", "Command failed -:4",
    'Cannot find device "nope"', "Command failed -:5", "",
  ].join("\n"));
  const t = parseNeighbors(ip.run("ip", ["-j", "neigh", "show"], "").stdout);
  assert.deepEqual([...t.values()], [n("kube-vxlan", "10.244.2.0", "0e:00:0a:f4:02:00"), n("kube-vxlan", "fd00::9", "0e:00:0a:f4:02:01")]);
  assert.equal(parseNeighbors(ip.run("ip", ["-6", "-j", "neigh", "show", "dev", "kube-vxlan"], "").stdout, "kube-vxlan").size, 1);
  ip.run("ip", ["-batch", "-"], "link del kube-vxlan\n");
  assert.equal(parseNeighbors(ip.run("ip", ["-j", "neigh", "show"], "").stdout).size, 0, "a deleted device takes its neighbours");
});
