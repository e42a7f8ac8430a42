/**
 * A large block of independent route lines runs as several concurrent `ip -batch` processes
 * (src/apply/ip/parallel-batch.ts): the stages keep their order, the processes together read
 * exactly the script's text, and a failed process stops nothing but fails the script.
 * (The kernel side: test/apply/ip-kernel.test.ts, "thousands of gateway routes".)
 */
import { availableParallelism } from "node:os";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExecError, type Exec, type ExecCall } from "../../src/apply/exec.ts";
import { compileIp } from "../../src/apply/ip/compile.ts";
import { PARALLEL_MIN_LINES, batchLines, blockParts, runIpBatch } from "../../src/apply/ip/parallel-batch.ts";
import { emptyPlan } from "../../src/model/plan.ts";
import { type Route, routeKey } from "../../src/model/state.ts";

/** An Exec that records calls (in start order) and fails the calls `fail` picks. */
function fakeExec(fail: (c: ExecCall) => boolean = () => false): Exec & { calls: ExecCall[]; order: string[] } {
  const calls: ExecCall[] = [];
  const order: string[] = [];
  return {
    calls, order,
    async run(cmd, args, o = {}) {
      const call: ExecCall = { cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) };
      calls.push(call);
      order.push(`start ${calls.length}`);
      await new Promise((r) => setImmediate(r));
      order.push(`end ${calls.indexOf(call) + 1}`);
      if (fail(call)) throw new ExecError(cmd, args, 1, "Command failed -:1");
      return { code: 0, stdout: "", stderr: "" };
    },
  };
}

const lines = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag} ${i}`);

test("blockParts: one process below two blocks' worth of lines, then one per core up to four", () => {
  assert.equal(blockParts(PARALLEL_MIN_LINES * 2 - 1, 8), 1);
  assert.equal(blockParts(PARALLEL_MIN_LINES * 2, 8), 2);
  assert.equal(blockParts(100_000, 2), 2);
  assert.equal(blockParts(100_000, 1), 1);
  assert.equal(blockParts(100_000, 64), 4);
});

test("a large block runs as parallel processes between the lines before and after it, which run alone and in order", async () => {
  // Given 3 link lines, 2,500 independent route lines and 2 rule lines
  const all = [...lines(3, "link"), ...lines(2500, "route"), ...lines(2, "rule")];
  const exec = fakeExec();
  // When the batch runs on a 2-core node
  await runIpBatch(exec, ["-force", "-batch", "-"], batchLines(all, { start: 3, end: 2503 }), 2);
  // Then four processes ran: the links, two halves of the routes at once, then the rules
  assert.equal(exec.calls.length, 4);
  assert.deepEqual(exec.order, ["start 1", "end 1", "start 2", "start 3", "end 2", "end 3", "start 4", "end 4"]);
  assert.deepEqual(exec.calls.map((c) => c.stdin!.split("\n").length - 1), [3, 1250, 1250, 2]);
  // And together they read exactly the script's lines, each once, in order within a process
  assert.equal(exec.calls.map((c) => c.stdin).join(""), `${all.join("\n")}\n`);
  assert.ok(exec.calls.every((c) => c.write && c.cmd === "ip" && c.args.join(" ") === "-force -batch -"));
});

test("a small block, or one core, runs the whole text as one process", async () => {
  for (const [n, cores] of [[PARALLEL_MIN_LINES, 4], [10_000, 1]] as const) {
    const all = lines(n, "route");
    const exec = fakeExec();
    await runIpBatch(exec, ["-batch", "-"], batchLines(all, { start: 0, end: n }), cores);
    assert.equal(exec.calls.length, 1);
    assert.equal(exec.calls[0]!.stdin, `${all.join("\n")}\n`);
  }
});

test("a failed process fails the script only after every stage ran (as ip -force goes on)", async () => {
  // Given a batch whose first route half fails
  const all = [...lines(1, "link"), ...lines(4000, "route"), ...lines(1, "rule")];
  const exec = fakeExec((c) => c.stdin!.startsWith("route 0\n"));
  // When it runs
  const run = runIpBatch(exec, ["-force", "-batch", "-"], batchLines(all, { start: 1, end: 4001 }), 2);
  // Then it rejects with that process's error, and the other half and the rules still ran
  await assert.rejects(run, (e: unknown) => e instanceof ExecError && /Command failed/.test(e.message));
  assert.equal(exec.calls.length, 4);
  assert.ok(exec.calls[3]!.stdin!.startsWith("rule 0"));
});

test("compileIp: gateway routes are the independent block, after the routes without a gateway; the text is one batch", async () => {
  // Given 2,400 gateway routes and one route without a gateway
  const routes: Route[] = [
    ...Array.from({ length: 2400 }, (_, i): Route => ({ family: "ipv4", table: "main", dst: `172.16.${i >> 8}.${i & 255}/32`, via: "10.0.0.9", proto: "17" })),
    { family: "ipv4", table: "main", dst: "10.244.9.0/24", dev: "kube-bridge", proto: "17" },
  ];
  const plan = { ...emptyPlan(), routes: routes.map((r) => ({ op: "create" as const, key: routeKey(r), after: r })) };
  const [script, ...rest] = compileIp(plan);
  assert.equal(rest.length, 0);
  // Then the printed text is the one batch, the gateway-less route first
  assert.match(script!.text, /^ip -force -batch - <<'EOF'\nroute replace 10\.244\.9\.0\/24 dev kube-bridge proto 17 table main\nroute replace 172\.16\.0\.0\/32 via/);
  // When it runs on this machine's cores
  const exec = fakeExec();
  await script!.run(exec);
  // Then on a multi-core node the gateway-less route ran alone before the gateway routes (one process per core)
  const parts = blockParts(2400, availableParallelism());
  if (parts > 1) assert.equal(exec.calls[0]!.stdin, "route replace 10.244.9.0/24 dev kube-bridge proto 17 table main\n");
  assert.equal(exec.calls.length, parts === 1 ? 1 : 1 + parts);
  assert.equal(exec.calls.map((c) => c.stdin).join(""), script!.text.slice(script!.text.indexOf("\n") + 1, -"EOF\n".length));
});
