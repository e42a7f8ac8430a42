/**
 * Exec: the one way drivers run kernel tools. Real runs spawn the tool (optionally inside a
 * named network namespace: `ip -n` for ip, `ip netns exec` for other tools); fakes interpret
 * the same command lines in memory. Every call says whether it writes, so tests can count
 * kernel writes.
 *
 * @category apply
 */
import { appendFileSync } from "node:fs";
import { anonymousFile, startTool } from "./exec-process.ts";
import { type StandbyLine, StandbyPool } from "./standby.ts";

export type { StandbyLine } from "./standby.ts";

export interface ExecOptions {
  /** Text fed to the tool's stdin (restore / batch input). */
  readonly stdin?: string;
  /** True when the command changes kernel state (counted; traced as `W`). */
  readonly write?: boolean;
  /** Exit codes accepted besides 0 (their result is returned, not thrown). */
  readonly okCodes?: readonly number[];
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecCall {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly write: boolean;
  readonly stdin?: string;
}

/** Runs one tool invocation. Fails with ExecError on spawn failure or a non-accepted exit code. */
export interface Exec {
  run(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

/** A failed tool run; `message` is one line: `<cmd> <args…>: exit N: <first stderr line>`. */
export class ExecError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    const first = stderr.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
    super(`${[cmd, ...args].join(" ")}: exit ${code}${first ? `: ${first}` : ""}`);
    this.name = "ExecError";
  }
}

export interface RealExecOptions {
  /** Run every command inside this named network namespace (`ip -n NS …` for ip, `ip netns exec NS …` for the rest). */
  readonly netns?: string;
  /** Called for every call, before it runs (tests count writes; `--v` logs). */
  readonly onCall?: (call: ExecCall) => void;
  /**
   * Command lines kept started ahead, waiting on their stdin (standby.ts): a write call with
   * stdin and exactly this command line takes a waiting process instead of spawning one.
   * A standby stays in the namespace it started in: with `netns`, the Exec must not outlive
   * that namespace (a namespace re-created under the same name is another one); `close()` it.
   */
  readonly standby?: readonly StandbyLine[];
}

/** The real Exec; `close()` ends the processes waiting as standbys (resolves when they exited; never rejects). */
export interface RealExec extends Exec {
  close(): Promise<void>;
}

/**
 * The real Exec. If env KUBE_ROUTER_TRACE_EXEC names a file, every call is appended to it as
 * one line `R|W <cmd> <args…>` (how end-to-end tests count kernel writes of a CLI run).
 */
export function realExec(opts: RealExecOptions = {}): RealExec {
  const trace = process.env["KUBE_ROUTER_TRACE_EXEC"];
  // `ip` itself switches namespace with `-n` (the same setns and /sys remount as `ip netns
  // exec`, one exec fewer); every other tool goes through `ip netns exec`
  const commandLine = (cmd: string, args: readonly string[]): [string, string[]] =>
    !opts.netns ? [cmd, [...args]] : cmd === "ip" ? ["ip", ["-n", opts.netns, ...args]] : ["ip", ["netns", "exec", opts.netns, cmd, ...args]];
  const standbys = new StandbyPool((opts.standby ?? []).map((l) => ({ line: commandLine(l.cmd, l.args), count: l.count })));
  return {
    async run(cmd, args, o = {}) {
      const call: ExecCall = { cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) };
      opts.onCall?.(call);
      if (trace) appendFileSync(trace, `${call.write ? "W" : "R"} ${[cmd, ...args].join(" ")}\n`);
      const [file, argv] = commandLine(cmd, args);
      // a dump writes into a file, not a pipe: it runs to its end at its own pace even while
      // this thread is busy parsing another one (a full pipe would stop it)
      const running = (o.stdin !== undefined ? standbys.take(file, argv) : undefined)
        ?? startTool(file, argv, !call.write && o.stdin === undefined ? anonymousFile() : undefined);
      running.child.stdin!.end(o.stdin ?? "");
      const r = await running.exited;
      if (r.code === 0 || (r.code !== -1 && o.okCodes?.includes(r.code))) return r;
      throw new ExecError(cmd, args, r.code, r.stderr || r.stdout);
    },
    close: () => standbys.close(),
  };
}

/** Wraps an Exec and records every call (tests: count writes, inspect scripts). */
export function recordingExec(inner: Exec): Exec & { readonly calls: ExecCall[]; writes(): number } {
  const calls: ExecCall[] = [];
  return {
    calls,
    writes: () => calls.filter((c) => c.write).length,
    run(cmd, args, o = {}) {
      calls.push({ cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) });
      return inner.run(cmd, args, o);
    },
  };
}
