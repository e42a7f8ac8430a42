/**
 * Two real gobgpd (v4.8), each in its own network namespace and under our supervisor, joined by
 * a veth, driven only through our client and schema subset: BGP started, peered both ways,
 * a path with a community announced by one side arrives at the other with the right next hop
 * and community, and is withdrawn by DeletePath. The `gobgp` CLI reads the same state through
 * the unix socket and through the opt-in TCP admin port.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { FAMILY_IPV4, FAMILY_IPV6, buildPath, parseDestinations, parsePath } from "../../src/apply/gobgp/paths.ts";
import { peerFromWire, peerToWire, withGobgpDefaults } from "../../src/apply/gobgp/peers.ts";
import {
  type RunningGobgp, addNs, delNs, gobgpBinDir, gobgpSkip, linkNs, nsRun, startGobgp, stopGobgp, waitFor,
} from "../support/gobgp.ts";
import { establishedWith } from "../support/gobgp-peers.ts";

const A = "10.99.71.1";
const B = "10.99.71.2";
const A6 = "fd00:99:71::1";
const B6 = "fd00:99:71::2";
const ADMIN_PORT = 50071;

test("two gobgpd peer and exchange a path through our client", { skip: gobgpSkip(), timeout: 120_000 }, async (t) => {
  const nsA = addNs("pa");
  const nsB = addNs("pb");
  let a: RunningGobgp | undefined;
  let b: RunningGobgp | undefined;
  try {
    const { devA, devB } = linkNs(nsA, A, nsB, B);
    execFileSync("ip", ["-n", nsA, "addr", "add", `${A6}/64`, "dev", devA, "nodad"]);
    execFileSync("ip", ["-n", nsB, "addr", "add", `${B6}/64`, "dev", devB, "nodad"]);
    a = await startGobgp(nsA, { adminPort: ADMIN_PORT });
    b = await startGobgp(nsB);
    const ca = a.client;
    const cb = b.client;

    await t.test("given two fresh gobgpd, when BGP is started on both, then GetBgp reports the ASN and router id", async () => {
      assert.equal((await ca.getBgp()).asn, 0, "a fresh gobgpd has BGP not started");
      await ca.startBgp({ asn: 64512, routerId: A, listenPort: 179, listenAddresses: [A] });
      await cb.startBgp({ asn: 64512, routerId: B, listenPort: 179, listenAddresses: [B] });
      const g = await ca.getBgp();
      assert.equal(g.asn, 64512);
      assert.equal(g.routerId, A);
    });

    await t.test("given both started, when each adds the other as a peer (one passive), then the session is ESTABLISHED on both", async () => {
      const timers = { connectRetry: 5, holdTime: 9, keepalive: 3, families: ["ipv4", "ipv6"] as const };
      await ca.addPeer(peerToWire({ address: B, asn: 64512, localAddress: A, ...timers }));
      await cb.addPeer(peerToWire({ address: A, asn: 64512, localAddress: B, passive: true, ...timers }));
      const t0 = Date.now();
      await establishedWith(ca, B, 30_000);
      await establishedWith(cb, A, 30_000);
      t.diagnostic(`established after ${Date.now() - t0} ms`);
      const [pa] = await ca.listPeer(B);
      assert.ok(pa);
      const seen = peerFromWire(pa);
      assert.deepEqual(seen.spec, withGobgpDefaults({ address: B, asn: 64512, localAddress: A, ...timers }), "observed peer equals the spec with GoBGP's defaults");
    });

    const path = { prefix: "10.244.7.0/24", nextHop: A, communities: ["64512:100", "65000:7"] };

    await t.test("given the session, when A adds a path with communities, then B has it with A's next hop and the communities", async () => {
      await ca.addPath(buildPath(path));
      const got = await waitFor("the path on B", async () => parseDestinations(await cb.listPath(FAMILY_IPV4)).find((p) => p.prefix === path.prefix), 5000, 10);
      assert.equal(got.nextHop, A);
      assert.equal(got.neighbor, A);
      assert.deepEqual(got.communities, path.communities);
      assert.equal(got.family, "ipv4");
      assert.deepEqual(got.asPath, [], "iBGP adds no AS");
      const local = parseDestinations(await ca.listPath(FAMILY_IPV4));
      assert.deepEqual(local.map((p) => [p.prefix, p.neighbor]), [[path.prefix, ""]], "A's own path has no neighbour");
    });

    await t.test("given an IPv4 session negotiating both families, when A adds an IPv6 path, then B has it with A's IPv6 next hop (MP_REACH)", async () => {
      const p6 = { prefix: "fd00:244:7::/64", nextHop: A6 };
      await ca.addPath(buildPath(p6));
      const got = await waitFor("the IPv6 path on B", async () => parseDestinations(await cb.listPath(FAMILY_IPV6)).find((p) => p.prefix === p6.prefix), 5000, 10);
      assert.deepEqual([got.nextHop, got.family, got.neighbor], [A6, "ipv6", A]);
      await ca.deletePath(buildPath(p6));
      await waitFor("the IPv6 withdraw on B", async () => ((await cb.listPath(FAMILY_IPV6)).length === 0 ? true : undefined), 5000, 10);
    });

    await t.test("given the path on B, when the gobgp CLI asks A (unix socket, then the admin TCP port inside A's netns) and B, then it shows the neighbour and the route", () => {
      const cli = join(gobgpBinDir(), "gobgp");
      const bySocket = execFileSync(cli, ["--target", a!.daemon.target(), "neighbor"], { encoding: "utf8" });
      assert.match(bySocket, new RegExp(`${B.replaceAll(".", "\\.")}\\s+64512\\s.*Establ`));
      const byTcp = nsRun(nsA, cli, ["-u", "127.0.0.1", "-p", String(ADMIN_PORT), "neighbor"]);
      assert.match(byTcp, /Establ/);
      const rib = execFileSync(cli, ["--target", b!.daemon.target(), "global", "rib"], { encoding: "utf8" });
      assert.match(rib, /10\.244\.7\.0\/24\s+10\.99\.71\.1/);
      // the admin port is bound to loopback only: not reachable on A's link address
      assert.throws(() => nsRun(nsB, cli, ["-u", A, "-p", String(ADMIN_PORT), "neighbor"]));
    });

    await t.test("given the path on B and a best-path watch on B, when A deletes it, then B withdraws it and the watch reports the withdraw", async () => {
      const events: { prefix: string; withdraw: boolean; neighbor: string }[] = [];
      const watch = cb.watchEvent({ table: { filters: [{ type: "TYPE_BEST", init: true }] } }, (ev) => {
        for (const p of ev.table?.paths ?? []) {
          const seen = parsePath(p);
          if (seen) events.push({ prefix: seen.prefix, withdraw: p.isWithdraw === true, neighbor: seen.neighbor });
        }
      });
      try {
        await waitFor("the initial best path in the watch", () => (events.some((e) => e.prefix === path.prefix && !e.withdraw) ? true : undefined), 5000, 5);
        const t0 = Date.now();
        await ca.deletePath(buildPath(path));
        await waitFor("the withdraw on B", async () => (parseDestinations(await cb.listPath(FAMILY_IPV4)).length === 0 ? true : undefined), 5000, 5);
        t.diagnostic(`withdrawn on B after ${Date.now() - t0} ms`);
        await waitFor("the withdraw event", () => (events.some((e) => e.prefix === path.prefix && e.withdraw) ? true : undefined), 5000, 5);
        assert.deepEqual(events.filter((e) => e.prefix === path.prefix).map((e) => [e.withdraw, e.neighbor]), [[false, A], [true, A]]);
        assert.deepEqual(await ca.listPath(FAMILY_IPV4), []);
      } finally {
        watch.cancel();
        await watch.done;
      }
    });

    await t.test("given a converged pair, when only reads are made, then the call counter shows no mutating call", async () => {
      ca.resetCallCounts();
      await ca.getBgp();
      await ca.listPeer();
      await ca.listPath(FAMILY_IPV4);
      await ca.listDefinedSet("DEFINED_TYPE_PREFIX");
      await ca.listPolicyAssignment("global", "POLICY_DIRECTION_EXPORT");
      const c = ca.callCounts();
      assert.equal(c.mutating, 0);
      assert.equal(c.read, 5);
      await ca.addPath(buildPath({ prefix: "10.244.8.0/24", nextHop: A }));
      assert.deepEqual([ca.callCounts().mutating, ca.callCounts().byRpc["AddPath"]], [1, 1]);
    });

    await t.test("given an established session, when the peer's hold time is changed with UpdatePeer, then gobgpd holds the new value and the session does not flap", async () => {
      const spec = { address: B, asn: 64512, localAddress: A, connectRetry: 5, holdTime: 30, keepalive: 10, families: ["ipv4", "ipv6"] as const };
      const before = peerFromWire((await ca.listPeer(B))[0]!);
      assert.equal(await ca.updatePeer(peerToWire(spec)), false, "no soft reset needed");
      await new Promise((r) => setTimeout(r, 500));
      const after = peerFromWire((await ca.listPeer(B))[0]!);
      assert.deepEqual(after.spec, withGobgpDefaults(spec));
      assert.deepEqual([after.state, after.flops], ["established", before.flops]);
    });

    await t.test("given a running gobgpd, when a call fails, then the error is one line naming the rpc", async () => {
      await assert.rejects(ca.addPeer(peerToWire({ address: B, asn: 64512 })), (e: Error) => {
        assert.match(e.message, /^gobgp AddPeer: .*10\.99\.71\.2/);
        assert.ok(!e.message.includes("\n"));
        return true;
      });
      await assert.rejects(ca.deletePeer("10.99.71.9"), (e: Error) => /^gobgp DeletePeer: .*10\.99\.71\.9/.test(e.message));
      // v4 surprise: DeletePath of a path that is not there succeeds silently (3.10 said "can't find a specified path")
      await ca.deletePath(buildPath({ prefix: "10.244.99.0/24", nextHop: A }));
    });
  } finally {
    await stopGobgp(a);
    await stopGobgp(b);
    delNs(nsA);
    delNs(nsB);
  }
});
