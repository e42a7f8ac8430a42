/**
 * Test support: the built agent as a child process inside a test's network namespace, its
 * JSON log lines collected as they come, a poll-until helper that shows the agent's last logs
 * when it times out, /healthz and /metrics scraped from inside the namespace, and SIGTERM with
 * the 10 s exit bound the operational contract promises, and a /healthz prober in its own
 * process (so a busy test process does not starve it). Used by the e2e agent tests (API
 * double and real kube-apiserver).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./cli.ts";
import { nsSh } from "./netns.ts";

export interface AgentProcess {
  readonly proc: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/** Starts `node CLI …args` in `ns` with `env` added; tracked in `live` until it exits. */
export function spawnAgent(ns: string, args: readonly string[], env: Readonly<Record<string, string>>, live: Set<ChildProcess>): AgentProcess {
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  live.add(proc);
  const logs: Record<string, unknown>[] = [];
  let buf = "";
  proc.stdout!.on("data", (b: Buffer) => {
    buf += b.toString("utf8");
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) if (l.trim()) { try { logs.push(JSON.parse(l) as Record<string, unknown>); } catch { logs.push({ raw: l }); } }
  });
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => { stderr += b.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => { live.delete(proc); if (stderr) logs.push({ stderr }); resolve(code); }));
  return { proc, logs, exited };
}

/** Polls `pred` every `stepMs` until true (resolves to the ms it took) or rejects after `ms`, naming `what` and the agent's last logs. */
export async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string, agent?: AgentProcess, stepMs = 10): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await pred()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}${agent ? `; agent logs:\n${agent.logs.slice(-15).map((l) => JSON.stringify(l)).join("\n")}` : ""}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** GET http://127.0.0.1:`port``path` from inside `ns`: status code (0 when nothing answers) and body. */
export function scrapeIn(ns: string, port: number, path: string): { code: number; body: string } {
  const out = nsSh(ns, `curl -s -m 2 -w '\\n%{http_code}' http://127.0.0.1:${port}${path} || true`);
  const i = out.lastIndexOf("\n");
  return { code: Number(out.slice(i + 1)) || 0, body: out.slice(0, i) };
}

/** SIGTERM, then the exit code; fails the test when the agent takes longer than 10 s. */
export async function stopAgent(a: AgentProcess): Promise<number | null> {
  a.proc.kill("SIGTERM");
  const code = await Promise.race([a.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000))]);
  assert.notEqual(code, "timeout", "agent did not exit within 10 s of SIGTERM");
  return code as number | null;
}

/**
 * GETs /healthz on 127.0.0.1:`port` every `everyMs` from a child process in `ns` (its own event
 * loop, so a test busy driving the API double does not starve the samples); `stop()` resolves
 * to the status codes seen, 0 for no answer within 1 s.
 */
export function startHealthProbe(ns: string, port: number, live: Set<ChildProcess>, everyMs = 200): { stop: () => Promise<number[]> } {
  const code = `const http=require("http");const codes=[];const t=setInterval(()=>{http.get({host:"127.0.0.1",port:${port},path:"/healthz",timeout:1000},r=>{codes.push(r.statusCode);r.resume();}).on("error",()=>codes.push(0));},${everyMs});` +
    `process.on("SIGTERM",()=>{clearInterval(t);setTimeout(()=>{process.stdout.write(JSON.stringify(codes));process.exit(0);},300);});`;
  const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  live.add(p);
  let out = "";
  p.stdout!.on("data", (b: Buffer) => { out += b.toString("utf8"); });
  const exited = new Promise<void>((r) => p.on("exit", () => { live.delete(p); r(); }));
  let codes: Promise<number[]> | undefined;
  return { stop: () => (codes ??= (async () => { p.kill("SIGTERM"); await exited; return JSON.parse(out || "[]") as number[]; })()) };
}

/** The built CLI in `ns` without blocking this process (the API double lives in its event loop): exit code and output. */
export function runCliAsync(ns: string, args: readonly string[], env: Readonly<Record<string, string>>, live: Set<ChildProcess>): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  live.add(p);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (b: Buffer) => { stdout += b.toString("utf8"); });
  p.stderr!.on("data", (b: Buffer) => { stderr += b.toString("utf8"); });
  return new Promise((resolve) => p.on("exit", (code) => { live.delete(p); resolve({ code: code ?? -1, stdout, stderr }); }));
}
