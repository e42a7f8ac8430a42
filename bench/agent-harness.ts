/**
 * The built agent (dist/agent/main.js, not under tsx) as a process inside a fixture namespace,
 * against the API double serving a generated cluster from a child process in the same
 * namespace (bench/agent-source-server.ts): what bench/agent-memory.ts and bench/agent-cold.ts
 * run. Needs root and `npm run build`.
 *
 * `startBuiltAgent` resolves once the agent process is spawned; `waitLog(re)` resolves with the
 * time (ms since spawn) and text of the first log line matching `re` (rejecting when the agent
 * exits first or `timeoutMs` passes). `stop()` ends the agent and the server (SIGTERM, then SIGKILL).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { NodeFixture } from "./fixture.ts";
import type { SizeSpec } from "./sizes.ts";

export const BUILT_MAIN = join(import.meta.dirname, "..", "dist", "agent", "main.js");

export interface BuiltAgent {
  readonly pid: number;
  readonly spawnedAt: number;
  /** The last log lines (at most 200, each cut to 300 characters). */
  readonly logs: string[];
  /** Bytes the agent wrote to stdout and stderr so far. */
  outBytes(): number;
  /** The time (ms since spawn) and whole text of the first log line matching `re` from now on. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<{ readonly ms: number; readonly line: string }>;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Serves `spec` from the API double in `fx.node` and starts the built agent there with
 * `agentArgs` (after `nodeArgs`, e.g. `--max-old-space-size`), `PATH` prefixed with `pathPrefix`
 * when given. Fails when dist is not built or the server does not come up.
 */
export async function startBuiltAgent(o: { fx: NodeFixture; spec: SizeSpec; nodeArgs?: readonly string[]; agentArgs: readonly string[]; env?: Readonly<Record<string, string>>; pathPrefix?: string }): Promise<BuiltAgent> {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} missing: run npm run build first`);
  const server = spawn("ip", ["netns", "exec", o.fx.node, process.execPath, ...process.execArgv, join(import.meta.dirname, "agent-source-server.ts"), JSON.stringify(o.spec)], { stdio: ["pipe", "pipe", "inherit"] });
  const kids: ChildProcess[] = [server];
  const kill = () => { for (const k of kids) if (k.exitCode === null && k.pid) try { process.kill(k.pid, "SIGKILL"); } catch { /* gone */ } };
  try {
    const first = await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next();
    const ready = ((first.value as string | undefined) ?? "").split(" ");
    if (ready[0] !== "READY") throw new Error(`API double: ${ready.join(" ")}`);
    const env = [`PATH=${o.pathPrefix ? `${o.pathPrefix}:` : ""}${process.env["PATH"]}`, ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    const spawnedAt = performance.now();
    const agent = spawn("ip", ["netns", "exec", o.fx.node, "env", ...env, process.execPath, ...(o.nodeArgs ?? []), BUILT_MAIN, "--kubeconfig", ready[1]!, ...o.agentArgs], { stdio: ["ignore", "pipe", "pipe"] });
    kids.push(agent);
    const logs: string[] = [];
    let bytes = 0;
    const waiters: { re: RegExp; resolve: (hit: { ms: number; line: string }) => void }[] = [];
    const onLine = (l: string) => {
      const t = performance.now() - spawnedAt;
      bytes += l.length + 1;
      logs.push(l.slice(0, 300));
      if (logs.length > 200) logs.splice(0, 100);
      for (const w of [...waiters]) if (w.re.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve({ ms: t, line: l }); }
    };
    createInterface({ input: agent.stdout! }).on("line", onLine);
    createInterface({ input: agent.stderr! }).on("line", onLine);
    return {
      pid: agent.pid!, spawnedAt, logs,
      outBytes: () => bytes,
      exited: () => agent.exitCode !== null,
      waitLog: (re, timeoutMs = 600_000) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line ${re} within ${timeoutMs} ms: ${logs.slice(-3).join("\n")}`)), timeoutMs);
        const done = (hit: { ms: number; line: string }) => { clearTimeout(timer); resolve(hit); };
        waiters.push({ re, resolve: done });
        agent.once("exit", (code) => { clearTimeout(timer); reject(new Error(`agent exited ${code} before ${re}: ${logs.slice(-3).join("\n")}`)); });
      }),
      stop: async () => {
        if (agent.exitCode === null) agent.kill("SIGTERM");
        server.stdin!.write("quit\n");
        await Promise.race([new Promise((r) => agent.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
        kill();
      },
    };
  } catch (e) {
    kill();
    throw e;
  }
}
