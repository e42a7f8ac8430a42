/**
 * The route extender's per-node tables against the real kernel, in a network namespace this
 * file creates and always deletes (a "node" with eth0 = 10.0.0.11/24, MTU 1500), applied by
 * the engine through the real ip, bridge and iptables drivers (the ConfigMap through an
 * in-memory API): routervxlan0 with the right VNI, port, MTU, MAC and learning, its address
 * once the ConfigMap holds it, the FDB entry, the accept rule; a no-op sync writes nothing;
 * the MAC is the same after re-apply and after the link is deleted and synced again; a
 * foreign vxlan device and a foreign FDB entry survive sync, turn-off and --cleanup-config;
 * turning the feature off, or the node becoming ineligible, removes ours.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncNode, type EngineDeps } from "../../src/agent/engine.ts";
import { bridgeDriver } from "../../src/apply/bridge/driver.ts";
import { type Exec, realExec, recordingExec } from "../../src/apply/exec.ts";
import { ipDriver, readHostInterfaces } from "../../src/apply/ip/driver.ts";
import { detectBackend } from "../../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../../src/apply/iptables/driver.ts";
import { kubeConfigMapDriver } from "../../src/apply/kube-configmap/driver.ts";
import { MemoryConfigMapApi } from "../../src/apply/kube-configmap/memory.ts";
import type { NodeConfig } from "../../src/model/config.ts";
import { extenderMac } from "../../src/render/extender/nodes.ts";
import { E1_CONFIG, E1_NODES, MASTER, node, snapshot } from "../render/extender/fixture.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

async function withNode(fn: (ns: string, exec: Exec) => Promise<void>): Promise<void> {
  await withNetns("ext", async (ns) => {
    nsSh(ns, "ip link add eth0 type dummy 2>/dev/null || ip link add eth0 type veth peer name eth0p");
    nsSh(ns, "ip addr add 10.0.0.11/24 dev eth0 && ip link set eth0 up && ip link set lo up");
    await fn(ns, realExec({ netns: ns }));
  });
}

const link = (ns: string) => JSON.parse(nsSh(ns, "ip -d -j link show dev routervxlan0"))[0] as Record<string, any>;
const hasLink = (ns: string, name: string) => nsSh(ns, `ip -j link show`).includes(`"${name}"`);

test("route extender on a node: device, address, FDB entry and rule; no-op sync; stable MAC; foreign survive; off and ineligible remove ours", { skip: kernelSkip }, async () => {
  await withNode(async (ns, inner) => {
    const exec = recordingExec(inner);
    const api = new MemoryConfigMapApi();
    const deps: EngineDeps = {
      exec,
      drivers: [ipDriver(), bridgeDriver(), iptablesDriver(await detectBackend(inner)), kubeConfigMapDriver({ api })],
      readHost: async () => ({ interfaces: await readHostInterfaces(inner), cniConf: { path: "/nonexistent" } }),
    };
    const sync = async (config: NodeConfig, nodes = E1_NODES, mode: "apply" | "cleanup" = "apply") => {
      const data = api.data("kube-system", "kube-chorus-router");
      const out = await syncNode(deps, { mode, config, nodeName: "worker-a", snapshot: snapshot(nodes, data), controllers: ["extender"], verify: true });
      assert.deepEqual(out.errors.map(String), []);
      return out;
    };
    // Given a foreign vxlan device with a foreign FDB entry
    nsSh(ns, "ip link add foreignvx type vxlan id 77 dstport 4789 dev eth0 && ip link set foreignvx up && bridge fdb append 00:00:00:00:00:00 dev foreignvx dst 10.0.0.99 self permanent");

    // When the extender syncs (first the ConfigMap gets the allocation, then the node reads its address back)
    await sync(E1_CONFIG);
    assert.equal(api.data("kube-system", "kube-chorus-router")?.["Interface-10.0.0.11"], "192.168.254.1");
    await sync(E1_CONFIG);

    // Then routervxlan0 is as C8 [fix] says
    const l = link(ns);
    const v = l["linkinfo"]["info_data"];
    assert.deepEqual([v["id"], v["port"], v["learning"], l["mtu"], l["address"], l["operstate"] !== "DOWN"], [200, 8472, true, 1450, extenderMac("uid-worker-a"), true]);
    assert.match(nsSh(ns, "ip -4 addr show dev routervxlan0"), /inet 192\.168\.254\.1\/24/);
    assert.match(nsSh(ns, "bridge fdb show dev routervxlan0"), /00:00:00:00:00:00 dst 10\.102\.33\.209 self permanent/);
    const rules = nsSh(ns, "iptables -S");
    assert.match(rules, /-A KUBE-ROUTER-EXTENDER -p udp -m udp --dport 8472 -j ACCEPT/);
    assert.match(rules, /-A INPUT -m comment --comment "kube-router route extender" -j KUBE-ROUTER-EXTENDER/);
    assert.equal(api.data("kube-system", "kube-chorus-router")?.["Mac-10.0.0.11"], l["address"]);

    // And a no-op sync writes nothing (kernel and API)
    const writesBefore = exec.writes();
    const apiWrites = api.writes.length;
    const noop = await sync(E1_CONFIG);
    assert.equal(noop.ran, 0);
    assert.equal(exec.writes(), writesBefore);
    assert.equal(api.writes.length, apiWrites);

    // When the link is deleted behind our back and synced again, then the same MAC
    nsSh(ns, "ip link del routervxlan0");
    await sync(E1_CONFIG);
    assert.equal(link(ns)["address"], extenderMac("uid-worker-a"));
    assert.match(nsSh(ns, "bridge fdb show dev routervxlan0"), /dst 10\.102\.33\.209 self permanent/);

    // When worker-a becomes ineligible (tainted master), then ours is gone and the foreign device and entry stay
    await sync(E1_CONFIG, [node("worker-a", "10.0.0.11", "10.244.1.0/24", MASTER), E1_NODES[2]!]);
    assert.equal(hasLink(ns, "routervxlan0"), false);
    assert.doesNotMatch(nsSh(ns, "iptables -S"), /KUBE-ROUTER-EXTENDER/);
    assert.match(nsSh(ns, "bridge fdb show dev foreignvx"), /dst 10\.0\.0\.99 self permanent/);
    assert.equal(api.data("kube-system", "kube-chorus-router")?.["Node-10.0.0.11"], undefined);

    // When it is eligible again and then the feature is turned off, then ours is removed again
    await sync(E1_CONFIG);
    assert.equal(hasLink(ns, "routervxlan0"), true);
    await sync({ ...E1_CONFIG, runRouteExtender: false });
    assert.equal(hasLink(ns, "routervxlan0"), false);
    assert.doesNotMatch(nsSh(ns, "iptables -S"), /KUBE-ROUTER-EXTENDER/);

    // And --cleanup-config removes ours and keeps the foreign device and entry
    await sync(E1_CONFIG);
    assert.equal(hasLink(ns, "routervxlan0"), true);
    const clean = await syncNode(deps, { mode: "cleanup", config: E1_CONFIG, nodeName: "worker-a", verify: true });
    assert.deepEqual(clean.errors.map(String), []);
    assert.equal(hasLink(ns, "routervxlan0"), false);
    assert.doesNotMatch(nsSh(ns, "iptables -S"), /KUBE-ROUTER-EXTENDER/);
    assert.equal(hasLink(ns, "foreignvx"), true);
    assert.match(nsSh(ns, "bridge fdb show dev foreignvx"), /dst 10\.0\.0\.99 self permanent/);
  });
});
