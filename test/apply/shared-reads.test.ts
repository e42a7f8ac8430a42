/**
 * A sync's shared reads and the read-ahead (issue 15): each read-only command line runs once
 * per sync; with a ReadAhead, the reads the last sync made start before anyone asks, answer
 * the askers, and a failed one nobody asks for surfaces nowhere.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Exec, ExecOptions, ExecResult } from "../../src/apply/exec.ts";
import { ExecError } from "../../src/apply/exec.ts";
import { ReadAhead, sharedReads } from "../../src/apply/shared-reads.ts";

/** An Exec that logs each call and answers `cmd args` (fails for commands starting with "bad"). */
function loggingExec(): Exec & { readonly log: string[] } {
  const log: string[] = [];
  return {
    log,
    run(cmd: string, args: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
      const line = [cmd, ...args].join(" ");
      log.push(`${o.write ? "W" : "R"} ${line}`);
      return cmd.startsWith("bad") ? Promise.reject(new ExecError(cmd, args, 1, "no")) : Promise.resolve({ code: 0, stdout: line, stderr: "" });
    },
  };
}

test("given one sync's reads, when the same read is asked twice, then it runs once, and writes and stdin calls always run", async () => {
  const inner = loggingExec();
  const reads = sharedReads(inner);
  assert.equal((await reads.run("ip", ["-j", "addr", "show"])).stdout, "ip -j addr show");
  assert.equal((await reads.run("ip", ["-j", "addr", "show"])).stdout, "ip -j addr show");
  await reads.run("ip", ["-batch", "-"], { stdin: "x\n", write: true });
  await reads.run("ip", ["-batch", "-"], { stdin: "x\n", write: true });
  assert.deepEqual(inner.log, ["R ip -j addr show", "W ip -batch -", "W ip -batch -"]);
  assert.deepEqual(reads.used().map((c) => [c.cmd, ...c.args].join(" ")), ["ip -j addr show"]);
});

test("given a ReadAhead that remembers the last sync's reads, when the next sync's reads are made, then they start at once and answer the askers without running again", async () => {
  const ahead = new ReadAhead();
  const first = sharedReads(loggingExec(), ahead);
  await first.run("ip", ["-j", "addr", "show"]);
  await first.run("ipset", ["save"], { okCodes: [1] });
  ahead.remember(first.used());
  // When the next sync's reads are made
  const inner = loggingExec();
  const next = sharedReads(inner, ahead);
  // Then both reads already started, before anyone asked
  assert.deepEqual(inner.log, ["R ip -j addr show", "R ipset save"]);
  // and an asker gets that answer (same okCodes: same read), no second run
  assert.equal((await next.run("ipset", ["save"], { okCodes: [1] })).stdout, "ipset save");
  assert.equal((await next.run("ip", ["-j", "addr", "show"])).stdout, "ip -j addr show");
  assert.deepEqual(inner.log, ["R ip -j addr show", "R ipset save"]);
  // a read with other accepted codes is another read
  await next.run("ipset", ["save"]);
  assert.deepEqual(inner.log, ["R ip -j addr show", "R ipset save", "R ipset save"]);
});

test("given a remembered read that now fails, when nobody asks for it, then nothing surfaces; when someone does, they get its error and a retry runs again", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const ahead = new ReadAhead();
    ahead.remember([{ cmd: "bad-tool", args: ["dump"] }]);
    const quiet = sharedReads(loggingExec(), ahead);
    assert.deepEqual(quiet.used(), []);
    const inner = loggingExec();
    const asked = sharedReads(inner, ahead);
    await assert.rejects(asked.run("bad-tool", ["dump"]), ExecError);
    await assert.rejects(asked.run("bad-tool", ["dump"]), ExecError);
    assert.deepEqual(inner.log, ["R bad-tool dump", "R bad-tool dump"]);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
