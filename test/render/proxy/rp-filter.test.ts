/**
 * Upstream's reverse-path filter change: strict (1) becomes loose (2) on `all`, kube-bridge,
 * kube-dummy-if and the node interface; 0 and 2 are left alone. The current values are read
 * in one `sysctl -e` (a kernel test in its own netns).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readRpFilter } from "../../../src/agent/host-facts.ts";
import { realExec } from "../../../src/apply/exec.ts";
import { rpFilterSysctls } from "../../../src/render/proxy/plumbing.ts";
import { kernelSkip, nsSh, withNetns } from "../../support/netns.ts";

test("given strict, off and loose rp_filter values, when the proxy renders, then only the strict ones it manages become 2", () => {
  const current = { all: "1", "kube-bridge": "0", "kube-dummy-if": "2", eth0: "1", eth1: "1" };
  assert.deepEqual(rpFilterSysctls(current, "eth0"), [
    { path: "net/ipv4/conf/all/rp_filter", value: "2" },
    { path: "net/ipv4/conf/eth0/rp_filter", value: "2" },
  ]);
  // And nothing read means nothing changed
  assert.deepEqual(rpFilterSysctls(undefined, "eth0"), []);
});

test("given a netns with a strict interface, when rp_filter is read, then existing names have their values and missing ones are absent", { skip: kernelSkip }, async () => {
  await withNetns("rpf", async (ns) => {
    nsSh(ns, "ip link add rpf0 type veth peer name rpf1 && sysctl -qw net.ipv4.conf.rpf0.rp_filter=1 net.ipv4.conf.all.rp_filter=0");
    const got = await readRpFilter(realExec({ netns: ns }), ["all", "rpf0", "kube-dummy-if"]);
    assert.deepEqual(got, { all: "0", rpf0: "1" });
  });
});
