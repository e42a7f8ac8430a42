/**
 * The gobgpd supervisor on a real gobgpd (v4.8) in a network namespace of its own: start waits
 * for the API, a stale socket does not block a start, a SIGKILLed gobgpd is restarted within
 * 2 s and the restart is reported (so the caller can replay), stop leaves no process behind,
 * gobgpd dies with an agent killed by SIGKILL, and a gobgpd that cannot start fails start()
 * with one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GobgpClient } from "../../src/apply/gobgp/client.ts";
import { GobgpDaemon, type GobgpRestart } from "../../src/apply/gobgp/daemon.ts";
import { FAMILY_IPV4, buildPath, parseDestinations } from "../../src/apply/gobgp/paths.ts";
import { addNs, delNs, gobgpBinDir, gobgpSkip, nsRun, rmDir, tempDir, waitFor } from "../support/gobgp.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("gobgpd supervisor", { skip: gobgpSkip(), timeout: 60_000 }, async (t) => {
  const ns = addNs("sup");
  const stateDir = tempDir("sup");
  const restarts: GobgpRestart[] = [];
  let replayed = 0;
  const client = new GobgpClient(`unix://${join(stateDir, "gobgpd.sock")}`, { deadlineMs: 2000 });
  const daemon = new GobgpDaemon({
    stateDir, netns: ns, binDir: gobgpBinDir(),
    onRestart: async (r) => {
      restarts.push(r);
      // what the driver does: replay the desired state into the empty gobgpd
      await client.startBgp({ asn: 64512, routerId: "10.99.72.1", listenPort: -1 });
      await client.addPath(buildPath({ prefix: "10.244.72.0/24", nextHop: "10.99.72.1" }));
      replayed++;
    },
  });
  try {
    await t.test("given a stale socket file in the state dir, when the daemon starts, then the API answers", async () => {
      writeFileSync(daemon.socketPath, "stale");
      const t0 = Date.now();
      await daemon.start();
      t.diagnostic(`spawn → API answering: ${Date.now() - t0} ms`);
      assert.equal((await client.getBgp()).asn, 0);
      assert.ok(daemon.pid() !== undefined);
      // pprof and the metrics HTTP listener are off, and no TCP API: gobgpd listens on nothing
      assert.equal(nsRun(ns, "ss", ["-Hltnu"]).trim(), "");
    });

    await t.test("given state in gobgpd, when it is killed with SIGKILL, then it is back within 2 s, the restart is reported and the replayed state is there", async () => {
      await client.startBgp({ asn: 64512, routerId: "10.99.72.1", listenPort: -1 });
      const first = daemon.pid()!;
      const t0 = Date.now();
      process.kill(first, "SIGKILL");
      await waitFor("the restart report", () => (replayed === 1 ? true : undefined), 2000, 5);
      const took = Date.now() - t0;
      t.diagnostic(`SIGKILL → restarted and replayed: ${took} ms (down ${restarts[0]?.downMs} ms)`);
      assert.ok(took < 2000);
      assert.deepEqual([restarts.length, restarts[0]?.restarts, restarts[0]?.signal], [1, 1, "SIGKILL"]);
      assert.notEqual(daemon.pid(), first);
      assert.equal(alive(first), false);
      assert.equal((await client.getBgp()).asn, 64512);
      assert.deepEqual(parseDestinations(await client.listPath(FAMILY_IPV4)).map((p) => p.prefix), ["10.244.72.0/24"]);
    });

    await t.test("given a gobgpd that keeps dying right after each restart, when killed three more times, then each death is followed by a reported restart (with backoff) and the state is replayed each time", async () => {
      const t0 = Date.now();
      for (let i = 2; i <= 4; i++) {
        const pid = daemon.pid()!;
        process.kill(pid, "SIGKILL");
        await waitFor(`restart ${i}`, () => (replayed === i ? true : undefined), 5000, 5);
        assert.notEqual(daemon.pid(), pid);
      }
      t.diagnostic(`three quick deaths → three restarts in ${Date.now() - t0} ms (delays back off: ${restarts.map((r) => r.downMs).join(", ")} ms down)`);
      assert.deepEqual(restarts.map((r) => r.restarts), [1, 2, 3, 4]);
      assert.equal(daemon.restartCount(), 4);
      assert.equal((await client.getBgp()).asn, 64512);
    });

    await t.test("given a running daemon, when stopped, then gobgpd is gone, the socket removed, and no restart follows", async () => {
      const pid = daemon.pid()!;
      await daemon.stop();
      assert.equal(alive(pid), false);
      assert.equal(daemon.pid(), undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(restarts.length, 4);
      await assert.rejects(client.getBgp(), /^Error: gobgp GetBgp: |gobgp GetBgp: UNAVAILABLE/);
    });

    await t.test("given gobgpd that cannot start (admin port already taken in its netns), when started, then start fails with gobgpd's reason on one line and nothing is left running", async () => {
      const dirs = [tempDir("sup2"), tempDir("sup3")] as const;
      const holder = new GobgpDaemon({ stateDir: dirs[0], netns: ns, binDir: gobgpBinDir(), adminPort: 50072 });
      const loser = new GobgpDaemon({ stateDir: dirs[1], netns: ns, binDir: gobgpBinDir(), adminPort: 50072 });
      try {
        await holder.start();
        const t0 = Date.now();
        await assert.rejects(loser.start(), (e: Error) => {
          assert.match(e.message, /^gobgpd cannot serve its API: .*failed to listen grpc port.*address already in use/);
          assert.ok(!e.message.includes("\n"));
          return true;
        });
        assert.ok(Date.now() - t0 < 2000, "fails fast, not at the ready timeout");
        assert.equal(loser.pid(), undefined);
      } finally {
        await holder.stop();
        await loser.stop();
        dirs.forEach(rmDir);
      }
    });

    await t.test("given an agent process supervising gobgpd, when the agent is killed with SIGKILL, then its gobgpd dies too", async () => {
      const dir = tempDir("orphan");
      const script = `
        import { GobgpDaemon } from ${JSON.stringify(new URL("../../src/apply/gobgp/daemon.ts", import.meta.url).pathname)};
        const d = new GobgpDaemon({ stateDir: ${JSON.stringify(dir)}, netns: ${JSON.stringify(ns)}, binDir: ${JSON.stringify(gobgpBinDir())} });
        await d.start();
        console.log(d.pid());
        setInterval(() => {}, 1000);`;
      const agent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let pid = 0;
      try {
        pid = await new Promise<number>((resolve, reject) => {
          agent.stdout.once("data", (b: Buffer) => resolve(Number(b.toString().trim())));
          agent.once("exit", (c) => reject(new Error(`agent exited ${c}`)));
        });
        assert.ok(alive(pid));
        agent.kill("SIGKILL");
        await waitFor("gobgpd gone with its parent", () => (alive(pid) ? undefined : true), 2000, 10);
      } finally {
        agent.kill("SIGKILL");
        if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL"); // the guarantee failed: do not leave it behind
        rmDir(dir);
      }
    });

    await t.test("given a missing binary, when started, then start fails with one line", async () => {
      const d = new GobgpDaemon({ stateDir, gobgpdPath: "/nonexistent/gobgpd", readyTimeoutMs: 2000 });
      await assert.rejects(d.start(), /^Error: gobgpd exited|gobgpd exited .*ENOENT|spawn failed/);
      await d.stop();
    });
  } finally {
    client.close();
    await daemon.stop();
    rmDir(stateDir);
    delNs(ns);
  }
});
