/**
 * gobgpd (v4.8, under our supervisor, driven by our client) peering over eBGP with BIRD 2 in
 * another network namespace: BIRD learns our path with its community and next hop, we learn
 * BIRD's static route, and our DeletePath withdraws it from BIRD; an export policy shapes what
 * BIRD gets. With BFD (GoBGP ≥ 4.5) on both sides, a silently cut link takes the session down
 * in well under a second (hold time alone: 9 s).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FAMILY_IPV4, buildPath, parseDestinations, parsePath } from "../../src/apply/gobgp/paths.ts";
import { peerFromWire, peerToWire } from "../../src/apply/gobgp/peers.ts";
import type { WStatement } from "../../src/apply/gobgp/wire.ts";
import { type Bird, birdBgpConfig, birdRoute, birdc, birdEstablished, birdSkip, startBird, stopBird, waitBirdNoRoute, waitBirdRoute } from "../support/bird.ts";
import { type RunningGobgp, addNs, delNs, gobgpSkip, linkNs, nsRun, startGobgp, stopGobgp, waitFor } from "../support/gobgp.ts";
import { establishedWith, gobgpRoute } from "../support/gobgp-peers.ts";

const US = "10.99.73.1";
const BIRD = "10.99.73.2";

test("gobgpd peers with BIRD 2", { skip: gobgpSkip() || birdSkip(), timeout: 120_000 }, async (t) => {
  const nsG = addNs("bg");
  const nsB = addNs("bb");
  let g: RunningGobgp | undefined;
  let bird: Bird | undefined;
  try {
    linkNs(nsG, US, nsB, BIRD);
    g = await startGobgp(nsG);
    const c = g.client;
    await c.startBgp({ asn: 64512, routerId: US, listenPort: 179, listenAddresses: [US] });
    await c.addPeer(peerToWire({ address: BIRD, asn: 65100, localAddress: US, connectRetry: 5, holdTime: 9, keepalive: 3 }));
    bird = await startBird(nsB, birdBgpConfig({ local: BIRD, localAs: 65100, neighbor: US, neighborAs: 64512, staticRoutes: ["10.99.200.0/24"] }));

    await t.test("given gobgpd and BIRD configured for each other, when BIRD starts, then the eBGP session is established on both", async () => {
      const t0 = Date.now();
      await birdEstablished(bird!, "gobgp");
      await establishedWith(c, BIRD);
      t.diagnostic(`BIRD start → established: ${Date.now() - t0} ms`);
    });

    const ours = { prefix: "10.244.73.0/24", nextHop: US, communities: ["64512:73"] };

    await t.test("given the session, when we add a path with a community, then BIRD has it via our address with the community and our AS", async () => {
      const t0 = Date.now();
      await c.addPath(buildPath(ours));
      const block = await waitBirdRoute(bird!, ours.prefix);
      t.diagnostic(`AddPath → route in birdc: ${Date.now() - t0} ms`);
      assert.match(block, new RegExp(`via ${US.replaceAll(".", "\\.")}`));
      assert.match(block, /BGP\.community: \(64512,73\)/);
      assert.match(block, /BGP\.as_path: 64512\b/);
      assert.match(block, new RegExp(`BGP\\.next_hop: ${US.replaceAll(".", "\\.")}`));
    });

    await t.test("given BIRD's static route, when the session is up, then gobgpd learned it from BIRD with BIRD's next hop and AS path", async () => {
      const learned = await gobgpRoute(c, "10.99.200.0/24");
      assert.equal(learned.nextHop, BIRD);
      assert.equal(learned.neighbor, BIRD);
      assert.deepEqual(learned.asPath, [65100]);
      assert.equal(learned.best, true);
    });

    await t.test("given BIRD's route learned and a best-path watch, when BIRD stops exporting it, then the watch reports the withdraw and ListPath no longer has it", async () => {
      const events: { prefix: string; withdraw: boolean; nextHop: string }[] = [];
      const watch = c.watchEvent({ table: { filters: [{ type: "TYPE_BEST", init: true }] } }, (ev) => {
        for (const p of ev.table?.paths ?? []) {
          const seen = parsePath(p);
          if (seen && seen.neighbor !== "") events.push({ prefix: seen.prefix, withdraw: p.isWithdraw === true, nextHop: seen.nextHop });
        }
      });
      try {
        await waitFor("the learned route in the watch", () => (events.some((e) => e.prefix === "10.99.200.0/24") ? true : undefined), 5000, 5);
        birdc(bird!, ["disable", "ext_routes"]);
        await waitFor("the withdraw event", () => (events.some((e) => e.prefix === "10.99.200.0/24" && e.withdraw) ? true : undefined), 5000, 5);
        assert.deepEqual(events.map((e) => [e.prefix, e.withdraw, e.nextHop]), [["10.99.200.0/24", false, BIRD], ["10.99.200.0/24", true, BIRD]]);
        assert.equal(parseDestinations(await c.listPath(FAMILY_IPV4)).some((p) => p.prefix === "10.99.200.0/24"), false);
      } finally {
        watch.cancel();
        await watch.done;
      }
    });

    await t.test("given our path in BIRD, when we delete it, then BIRD withdraws it", async () => {
      const t0 = Date.now();
      await c.deletePath(buildPath(ours));
      await waitBirdNoRoute(bird!, ours.prefix);
      t.diagnostic(`DeletePath → gone from birdc: ${Date.now() - t0} ms`);
    });
    await t.test("given a kube-router-style export policy (default reject; the pod CIDR set to the external peer set, accepted with community add, AS prepend and next-hop self), when two paths are added, then BIRD gets only the accepted one, changed as the policy says", async () => {
      await c.addDefinedSet({ definedType: "DEFINED_TYPE_PREFIX", name: "podcidrdefinedset", prefixes: [{ ipPrefix: "10.244.74.0/24", maskLengthMin: 24, maskLengthMax: 24 }] });
      await c.addDefinedSet({ definedType: "DEFINED_TYPE_NEIGHBOR", name: "externalpeerset", list: [`${BIRD}/32`] });
      const statement: WStatement = {
        name: "podcidrdefinedsetexternalpeerset",
        conditions: { prefixSet: { type: "TYPE_ANY", name: "podcidrdefinedset" }, neighborSet: { type: "TYPE_ANY", name: "externalpeerset" } },
        actions: { routeAction: "ROUTE_ACTION_ACCEPT", community: { type: "TYPE_ADD", communities: ["64512:999"] }, asPrepend: { asn: 64512, repeat: 2 }, nexthop: { self: true } },
      };
      await c.addStatement(statement);
      await c.addPolicy({ name: "kube_router_export1", statements: [{ name: statement.name }] }, true);
      await c.addPolicyAssignment({ name: "global", direction: "POLICY_DIRECTION_EXPORT", policies: [{ name: "kube_router_export1" }], defaultAction: "ROUTE_ACTION_REJECT" });
      const [assigned] = await c.listPolicyAssignment("global", "POLICY_DIRECTION_EXPORT");
      assert.deepEqual([assigned?.policies?.map((p) => p.name), assigned?.defaultAction], [["kube_router_export1"], "ROUTE_ACTION_REJECT"]);

      // a next hop BIRD cannot reach directly: next-hop self must replace it
      await c.addPath(buildPath({ prefix: "10.244.74.0/24", nextHop: "192.0.2.9" }));
      await c.addPath(buildPath({ prefix: "10.96.0.10/32", nextHop: US }));
      const block = await waitBirdRoute(bird!, "10.244.74.0/24");
      assert.match(block, /BGP\.community: \(64512,999\)/);
      assert.match(block, /BGP\.as_path: 64512 64512 64512\b/);
      assert.match(block, new RegExp(`BGP\\.next_hop: ${US.replaceAll(".", "\\.")}`));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(birdRoute(bird!, "10.96.0.10/32"), undefined, "rejected by the default action");
    });
  } finally {
    await stopBird(bird);
    await stopGobgp(g);
    delNs(nsG);
    delNs(nsB);
  }
});

test("gobgpd and BIRD 2 with BFD", { skip: gobgpSkip() || birdSkip(), timeout: 60_000 }, async (t) => {
  const G = "10.99.74.1";
  const R = "10.99.74.2";
  const nsG = addNs("fg");
  const nsB = addNs("fb");
  let g: RunningGobgp | undefined;
  let bird: Bird | undefined;
  try {
    linkNs(nsG, G, nsB, R);
    g = await startGobgp(nsG);
    const c = g.client;
    await c.startBgp({ asn: 64512, routerId: G, listenPort: 179, listenAddresses: [G] });
    await c.addPeer(peerToWire({ address: R, asn: 65100, localAddress: G, connectRetry: 5, holdTime: 9, keepalive: 3, bfd: { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMultiplier: 3 } }));
    bird = await startBird(nsB, birdBgpConfig({ local: R, localAs: 65100, neighbor: G, neighborAs: 64512, bfdMs: 100 }));
    await birdEstablished(bird, "gobgp");
    await establishedWith(c, R);

    await t.test("given BFD configured on both sides, when the session is up, then BIRD and gobgpd both see the BFD session up", async () => {
      await waitBirdBfdUp(bird!, G);
      await waitFor("gobgpd BFD up", async () => (peerFromWire((await c.listPeer(R))[0]!).bfdState === "up" ? true : undefined), 5000, 20);
    });

    await t.test("given BFD up and a peer-event watch, when BIRD's side silently drops our packets, then gobgpd takes the session down in under 1 s and the watch reports it", async () => {
      const states: string[] = [];
      const watch = c.watchEvent({ peer: {} }, (ev) => {
        if (ev.peer?.type === "TYPE_STATE" && ev.peer.peer?.state) states.push(ev.peer.peer.state.sessionState);
      });
      try {
        await new Promise((r) => setTimeout(r, 100));
        nsRun(nsB, "iptables", ["-A", "INPUT", "-s", G, "-j", "DROP"]);
        const t0 = Date.now();
        await waitFor("session down", async () => (peerFromWire((await c.listPeer(R))[0]!).state !== "established" ? true : undefined), 5000, 10);
        const took = Date.now() - t0;
        t.diagnostic(`link cut → gobgpd session down: ${took} ms`);
        assert.ok(took < 1000, `took ${took} ms`);
        await waitFor("the state event", () => (states.some((s) => s !== "SESSION_STATE_ESTABLISHED") ? true : undefined), 2000, 5);
      } finally {
        watch.cancel();
        await watch.done;
      }
    });
  } finally {
    await stopBird(bird);
    await stopGobgp(g);
    delNs(nsG);
    delNs(nsB);
  }
});

function waitBirdBfdUp(b: Bird, peer: string): Promise<true> {
  return waitFor("BIRD BFD session up", () => (new RegExp(`${peer.replaceAll(".", "\\.")}\\s+\\S+\\s+Up`).test(birdc(b, ["show", "bfd", "sessions"])) ? true : undefined), 10_000, 50);
}
