/**
 * The real Exec's read-only calls write their output into an unlinked temp file instead of a
 * pipe (issue 15): a dump runs to its end while this thread is busy, nothing is left in the
 * temp dir, and the caller sees the same result as through a pipe.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecError, realExec } from "../../src/apply/exec.ts";

const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`.kube-router-dump-${process.pid}-`));

test("given a dump of 4 MB, when this thread is busy right after starting it, then the tool finishes meanwhile and its whole output comes back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "krt-exec-dump-"));
  try {
    const marker = join(dir, "done");
    // Given a read-only command printing 4,000,000 bytes, then leaving a marker
    const run = realExec().run("sh", ["-c", `yes abcdefg | head -c 4000000; echo > ${marker}`]);
    // When this thread is busy (no event loop turn) until the marker shows or 5 s pass
    const until = Date.now() + 5000;
    while (!existsSync(marker) && Date.now() < until) { /* busy: nothing reads a pipe now */ }
    // Then the tool got to its end while we were busy (a pipe would have stopped it at its buffer)
    assert.ok(existsSync(marker), "the dump finished while the event loop was blocked");
    const r = await run;
    assert.equal(r.code, 0);
    assert.equal(r.stdout.length, 4_000_000);
    assert.equal(r.stdout.slice(0, 16), "abcdefg\nabcdefg\n");
    assert.deepEqual(leftovers(), [], "no dump file is left in the temp dir");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("given read-only calls that fail or print to stderr, when they run, then the error names the tool and its stderr and no dump file is left", async () => {
  const exec = realExec();
  // Given a read that fails with a message on stderr / When it runs / Then ExecError carries it
  await assert.rejects(exec.run("sh", ["-c", "echo half; echo broken >&2; exit 3"]), (e: unknown) => e instanceof ExecError && e.code === 3 && e.message === "sh -c echo half; echo broken >&2; exit 3: exit 3: broken");
  // Given an accepted exit code / Then stdout and stderr both come back
  const r = await exec.run("sh", ["-c", "echo out; echo err >&2; exit 1"], { okCodes: [1] });
  assert.deepEqual(r, { code: 1, stdout: "out\n", stderr: "err\n" });
  // Given a tool that does not exist / Then exit -1, as through a pipe
  await assert.rejects(exec.run("/nonexistent/krt-tool", []), (e: unknown) => e instanceof ExecError && e.code === -1);
  // Given a write with stdin (a pipe, as before) / Then its output still comes back
  assert.equal((await exec.run("cat", [], { stdin: "fed\n", write: true })).stdout, "fed\n");
  assert.deepEqual(leftovers(), []);
});
