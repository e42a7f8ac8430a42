/**
 * iproute2 driver, compile: the exact `ip -batch` text for small plans (creates; deletes and
 * updates; in-place vs re-create link updates; the separate IPv6 rule batch), and that a
 * script runs as one `ip` process with its text on stdin, marked as a write.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileIp, IP_BATCH_ARGS, IP6_BATCH_ARGS, linkAddLine, needsRecreate } from "../../src/apply/ip/compile.ts";
import { ORDER } from "../../src/apply/driver.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { emptyPlan } from "../../src/model/plan.ts";
import type { Address, Link, PolicyRule, Route } from "../../src/model/state.ts";

const bridge: Link = { name: "kube-bridge", kind: "bridge", up: true, mtu: 1400 };
const vx: Link = { name: "tun-vx", kind: "vxlan", up: true, vxlan: { id: 42, local: "10.250.0.1", dev: "eth0", port: 4789, learning: false } };
const vip: Address = { dev: "kube-dummy-if", cidr: "10.96.0.10/32", scope: "link" };
const r4: Route = { family: "ipv4", table: "main", dst: "10.244.2.0/24", via: "10.250.0.2", proto: "17" };
const r6: Route = { family: "ipv6", table: "78", dst: "default", via: "fd00:250::2", proto: "17" };
const rDev: Route = { family: "ipv4", table: "77", dst: "10.244.9.9/32", dev: "kube-bridge", proto: "17" };
const rule4: PolicyRule = { family: "ipv4", priority: 100, selector: "from 10.244.1.0/24", table: "77" };
const rule6: PolicyRule = { family: "ipv6", priority: 101, selector: "fwmark 0x4d", table: "78" };

test("creates: one IPv4-capable batch (links, addresses, routes, rules) and one IPv6 rule batch", () => {
  // Given a plan that only creates
  const plan = {
    ...emptyPlan(),
    links: [{ op: "create" as const, key: "kube-bridge", after: bridge }, { op: "create" as const, key: "tun-vx", after: vx }],
    addresses: [{ op: "create" as const, key: "kube-dummy-if/10.96.0.10/32", after: vip }],
    routes: [
      { op: "create" as const, key: "ipv4/main/10.244.2.0/24", after: r4 },
      { op: "create" as const, key: "ipv6/78/default", after: r6 },
      { op: "create" as const, key: "ipv4/77/10.244.9.9/32", after: rDev },
    ],
    rules: [{ op: "create" as const, key: "ipv4/100/from 10.244.1.0/24", after: rule4 }, { op: "create" as const, key: "ipv6/101/fwmark 0x4d", after: rule6 }],
  };
  // When compiled
  const scripts = compileIp(plan);
  // Then the text is exact: gateway-less routes first, defaults spelled with their family, IPv6 rules apart
  assert.deepEqual(scripts.map((s) => [s.order, s.title]), [
    [ORDER.ipAdd, "ip -batch (links, addresses, routes, rules)"],
    [ORDER.ipAdd, "ip -6 -batch (rules)"],
  ]);
  assert.equal(scripts[0]?.text, `ip -force -batch - <<'EOF'
link add kube-bridge mtu 1400 up type bridge
link add tun-vx up type vxlan id 42 local 10.250.0.1 dev eth0 dstport 4789 nolearning
address add 10.96.0.10/32 dev kube-dummy-if scope link
route replace 10.244.9.9/32 dev kube-bridge proto 17 table 77
route replace 10.244.2.0/24 via 10.250.0.2 proto 17 table main
route replace ::/0 via fd00:250::2 proto 17 table 78
rule add priority 100 from 10.244.1.0/24 lookup 77
EOF
`);
  assert.equal(scripts[1]?.text, `ip -6 -force -batch - <<'EOF'
rule add priority 101 fwmark 0x4d lookup 78
EOF
`);
});

test("deletes and updates: removals first (ipRemove), link deletes last in ipAdd", () => {
  // Given a plan with deletes, an in-place link update, a re-create, and value updates of an address, a route and a rule
  const plan = {
    ...emptyPlan(),
    links: [
      { op: "update" as const, key: "kube-bridge", before: { ...bridge, mtu: 1500, up: false }, after: bridge },
      { op: "delete" as const, key: "tun-old", before: { name: "tun-old", kind: "ipip" as const, up: true, tunnel: { remote: "10.250.0.3" } } },
      { op: "update" as const, key: "tun-vx", before: { ...vx, vxlan: { id: 41 } }, after: vx },
    ],
    addresses: [
      { op: "delete" as const, key: "kube-dummy-if/10.96.0.11/32", before: { dev: "kube-dummy-if", cidr: "10.96.0.11/32" } },
      { op: "update" as const, key: "kube-dummy-if/10.96.0.10/32", before: { dev: "kube-dummy-if", cidr: "10.96.0.10/32" }, after: vip },
    ],
    routes: [
      { op: "delete" as const, key: "ipv6/78/default", before: { ...r6, dev: "eth0" } },
      { op: "update" as const, key: "ipv4/main/10.244.2.0/24", before: { ...r4, via: "10.250.0.3" }, after: r4 },
    ],
    rules: [
      { op: "delete" as const, key: "ipv6/101/fwmark 0x4d", before: rule6 },
      { op: "update" as const, key: "ipv4/100/from 10.244.1.0/24", before: { ...rule4, table: "79" }, after: rule4 },
    ],
  };
  // When compiled
  const scripts = compileIp(plan);
  // Then: rule/route/address removals, the IPv6 rule removal, then links (set; del+add), adds, replace, rule add, link del
  assert.deepEqual(scripts.map((s) => [s.order, s.title]), [
    [ORDER.ipRemove, "ip -batch (rules, routes, addresses)"],
    [ORDER.ipRemove, "ip -6 -batch (rules)"],
    [ORDER.ipAdd, "ip -batch (links, addresses, routes, rules)"],
  ]);
  assert.equal(scripts[0]?.text, `ip -force -batch - <<'EOF'
rule del priority 100 from 10.244.1.0/24 lookup 79
route del ::/0 table 78 proto 17
address del 10.96.0.11/32 dev kube-dummy-if
address del 10.96.0.10/32 dev kube-dummy-if
EOF
`);
  assert.equal(scripts[1]?.text, `ip -6 -force -batch - <<'EOF'
rule del priority 101 fwmark 0x4d lookup 78
EOF
`);
  assert.equal(scripts[2]?.text, `ip -force -batch - <<'EOF'
link set kube-bridge mtu 1400 up
link del tun-vx
link add tun-vx up type vxlan id 42 local 10.250.0.1 dev eth0 dstport 4789 nolearning
address add 10.96.0.10/32 dev kube-dummy-if scope link
route replace 10.244.2.0/24 via 10.250.0.2 proto 17 table main
rule add priority 100 from 10.244.1.0/24 lookup 77
link del tun-old
EOF
`);
});

test("a route whose family changes under one key is deleted before it is replaced", () => {
  // Given an update of key 77/default from IPv4 to IPv6
  const before: Route = { family: "ipv4", table: "77", dst: "default", via: "10.250.0.2", proto: "17" };
  const after: Route = { family: "ipv6", table: "77", dst: "default", via: "fd00:250::2", proto: "17" };
  // When compiled
  const scripts = compileIp({ ...emptyPlan(), routes: [{ op: "update", key: "77/default", before, after }] });
  // Then the IPv4 route is deleted in ipRemove and the IPv6 one written in ipAdd
  assert.deepEqual(scripts.map((s) => s.text.split("\n")[1]), ["route del 0.0.0.0/0 table 77 proto 17", "route replace ::/0 via fd00:250::2 proto 17 table 77"]);
});

test("link lines: kinds, defaults written out, and which updates re-create", () => {
  // Given links of every kind we create / Then their add lines are exact (vxlan dstport always written, 8472 when unset)
  assert.equal(linkAddLine({ name: "kube-dummy-if", kind: "dummy", up: true }), "link add kube-dummy-if up type dummy");
  assert.equal(linkAddLine({ name: "tun-a", kind: "vxlan", up: false, vxlan: { id: 7 } }), "link add tun-a type vxlan id 7 dstport 8472");
  assert.equal(linkAddLine({ name: "tun-b", kind: "ipip", up: true, mtu: 1480, tunnel: { local: "10.0.0.1", remote: "10.0.0.2" } }),
    "link add tun-b mtu 1480 up type ipip local 10.0.0.1 remote 10.0.0.2");
  assert.equal(linkAddLine({ name: "tun-c", kind: "ip6tnl", up: true, tunnel: { remote: "fd00::2" } }), "link add tun-c up type ip6tnl mode ip6ip6 remote fd00::2");
  // And only kind and tunnel parameters force a re-create; MTU and up/down do not
  assert.equal(needsRecreate(bridge, { ...bridge, mtu: 9000, up: false }), false);
  assert.equal(needsRecreate(bridge, { ...bridge, kind: "dummy" }), true);
  assert.equal(needsRecreate(vx, { ...vx, vxlan: { id: 42, local: "10.250.0.1", dev: "eth0", port: 4789 } }), true);
  assert.equal(needsRecreate({ name: "t", kind: "ipip", up: true, tunnel: { remote: "10.0.0.2" } }, { name: "t", kind: "ipip", up: true, tunnel: { remote: "10.0.0.3" } }), true);
});

test("an update with nothing to set in place writes nothing; an empty plan has no scripts", () => {
  // Given an empty plan and a link update that only drops a managed mtu (mtu now unmanaged)
  // When compiled / Then no script at all
  assert.deepEqual(compileIp(emptyPlan()), []);
  assert.deepEqual(compileIp({ ...emptyPlan(), links: [{ op: "update", key: "kube-bridge", before: bridge, after: { name: "kube-bridge", kind: "bridge", up: true } }] }), []);
});

test("a script runs one ip process, text on stdin, counted as a write", async () => {
  // Given compiled scripts for a create of one IPv4 and one IPv6 rule
  const scripts = compileIp({ ...emptyPlan(), rules: [{ op: "create", key: "a", after: rule4 }, { op: "create", key: "b", after: rule6 }] });
  const exec = fakeExec(new FakeIp());
  // When both run
  for (const s of scripts) await s.run(exec);
  // Then there were exactly two ip processes, both writes, with the batch text on stdin
  assert.deepEqual(exec.calls, [
    { cmd: "ip", args: IP_BATCH_ARGS, write: true, stdin: "rule add priority 100 from 10.244.1.0/24 lookup 77\n" },
    { cmd: "ip", args: IP6_BATCH_ARGS, write: true, stdin: "rule add priority 101 fwmark 0x4d lookup 78\n" },
  ]);
});
