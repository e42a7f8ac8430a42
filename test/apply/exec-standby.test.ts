/**
 * The real Exec's standby processes (standby.ts, issue 10): a write call with stdin and a
 * command line kept on standby takes a process started ahead, waiting on its stdin, instead of
 * spawning one; the taken process is replaced after it exited; `close()` and Node's own exit
 * end the waiting ones; a tool that cannot start costs nothing more than without standbys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecError, realExec } from "../../src/apply/exec.ts";
import { IP_BATCH_ARGS, ipBatchStandby } from "../../src/apply/ip/compile.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

/** Waits until `ok()` or `ms` pass; returns ok(). */
async function until(ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return ok();
}
const pidsIn = (file: string): number[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number) : []);
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "krt-standby-"));
  try { return await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test("given a command line on standby, when a write with stdin runs it, then a process started before the call reads the script and a replacement follows", () => withDir(async (dir) => {
  const started = join(dir, "started");
  // each process notes its pid when it starts, echoes its stdin, then names itself
  const args = ["-c", `echo $$ >> ${started}; cat; echo "pid $$"`];
  const exec = realExec({ standby: [{ cmd: "sh", args, count: 2 }] });
  try {
    // Given two processes waiting before any call
    assert.ok(await until(() => pidsIn(started).length === 2), "two standbys started ahead");
    const before = pidsIn(started);
    // When a write call with that command line runs
    const r = await exec.run("sh", args, { stdin: "route add 10.0.0.0/8\n", write: true });
    // Then one of the waiting processes ran it, and no process was started for the call
    const [fed, tail] = r.stdout.split("\n");
    assert.equal(fed, "route add 10.0.0.0/8");
    assert.ok(before.includes(Number(tail!.replace("pid ", ""))), `ran by a standby: ${tail} of ${before.join(",")}`);
    assert.deepEqual(pidsIn(started), before, "the call itself spawned nothing");
    // And then a replacement is started after it exited
    assert.ok(await until(() => pidsIn(started).length === 3), "the taken standby is replaced");
  } finally {
    await exec.close();
  }
  // And close() ended every waiting process
  for (const pid of pidsIn(started)) assert.ok(await until(() => !alive(pid)), `pid ${pid} ended`);
}));

test("given standbys, when calls of other command lines, without stdin, or after close() run, then each spawns its own process as before", () => withDir(async (dir) => {
  const started = join(dir, "started");
  const args = ["-c", `echo $$ >> ${started}; cat`];
  const exec = realExec({ standby: [{ cmd: "sh", args, count: 1 }] });
  assert.ok(await until(() => pidsIn(started).length === 1));
  // Given another command line / Then it runs as a fresh process
  assert.equal((await exec.run("sh", ["-c", "cat; echo other"], { stdin: "x\n", write: true })).stdout, "x\nother\n");
  // Given the standby's command line without stdin (a read) / Then a fresh process, its dump as before
  assert.equal((await exec.run("sh", args)).stdout, "");
  assert.equal(pidsIn(started).length, 2, "the read started its own process");
  // Given close() / When the line runs again / Then a fresh process runs it, nothing waits any more
  await exec.close();
  assert.equal((await exec.run("sh", args, { stdin: "y\n", write: true })).stdout, "y\n");
  assert.equal(pidsIn(started).length, 3);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(pidsIn(started).length, 3, "no replacement after close()");
}));

test("given standby lines that fail, when they run, then exit codes, okCodes and a missing tool behave as without standbys", async () => {
  const failing = ["-c", "cat > /dev/null; echo no >&2; exit 3"];
  const exec = realExec({ standby: [{ cmd: "sh", args: failing, count: 1 }, { cmd: "/nonexistent/krt-tool", args: [], count: 1 }] });
  try {
    await assert.rejects(exec.run("sh", failing, { stdin: "a\n", write: true }), (e: unknown) => e instanceof ExecError && e.code === 3 && e.message.endsWith(": exit 3: no"));
    assert.equal((await exec.run("sh", failing, { stdin: "a\n", write: true, okCodes: [3] })).code, 3);
    // a tool that cannot start: the standby died while waiting, the calls spawn and fail with exit -1, twice the same
    for (let i = 0; i < 2; i++) await assert.rejects(exec.run("/nonexistent/krt-tool", [], { stdin: "a\n", write: true }), (e: unknown) => e instanceof ExecError && e.code === -1);
  } finally {
    await exec.close();
  }
});

test("given a process holding standbys, when its work is done, then Node exits without waiting for them and they end after it", () => withDir(async (dir) => {
  const started = join(dir, "started");
  const module = new URL("../../src/apply/exec.ts", import.meta.url).href;
  const script = `import { realExec } from ${JSON.stringify(module)};
realExec({ standby: [{ cmd: "sh", args: ["-c", "echo $$ >> ${started}; cat; echo ran > ${started}.ran"], count: 2 }] });
setTimeout(() => undefined, 300);`;
  // Given a Node process that starts two standbys and has nothing else to do after 300 ms
  const t = Date.now();
  execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
  // Then it exited on its own, and its standbys read end-of-file and ended without running anything
  assert.ok(Date.now() - t < 20_000);
  assert.equal(pidsIn(started).length, 2);
  for (const pid of pidsIn(started)) assert.ok(await until(() => !alive(pid)), `standby ${pid} ended with its parent`);
  assert.equal(existsSync(`${started}.ran`), true, "each standby read end-of-file when its parent exited and ended normally");
  assert.equal(readFileSync(`${started}.ran`, "utf8"), "ran\n");
}));

test("given the agent's ip batch standbys in a namespace, when a route batch runs, then a waiting `ip -n NS -force -batch -` takes it and the routes are in the kernel", { skip: kernelSkip }, () => withNetns("standby", async (ns) => {
  nsSh(ns, "ip link set lo up && ip link add eth0 type veth peer name eth0p && ip addr add 10.251.0.1/24 dev eth0 && ip link set eth0 up && ip link set eth0p up");
  const waiting = (): number => readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, "utf8") === ["ip", "-n", ns, ...IP_BATCH_ARGS, ""].join("\0"); } catch { return false; }
  }).length;
  const [line] = ipBatchStandby(2);
  const exec = realExec({ netns: ns, standby: [line!] });
  try {
    // Given the waiting ip processes (one per part of a split block, plus one)
    assert.ok(await until(() => waiting() === line!.count), `${line!.count} ip processes waiting`);
    // When a route batch runs
    await exec.run("ip", IP_BATCH_ARGS, { stdin: "route replace 10.77.0.0/16 via 10.251.0.2 proto 17\nroute replace 10.78.0.0/16 via 10.251.0.2 proto 17\n", write: true });
    // Then a waiting one ran it (one fewer waits, until its replacement) and the routes are there
    assert.equal(waiting(), line!.count - 1);
    assert.match(nsSh(ns, "ip route show proto 17"), /10\.77\.0\.0\/16 via 10\.251\.0\.2 dev eth0[^\n]*\n10\.78\.0\.0\/16 via 10\.251\.0\.2/);
    assert.ok(await until(() => waiting() === line!.count), "replaced");
  } finally {
    await exec.close();
  }
  assert.ok(await until(() => waiting() === 0), "close() ended them (the namespace is free to go)");
}));
