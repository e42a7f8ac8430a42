/**
 * Exec: the one way drivers run kernel tools. Real runs spawn the tool (optionally inside a
 * named network namespace: `ip -n` for ip, `ip netns exec` for other tools); fakes interpret
 * the same command lines in memory. Every call says whether it writes, so tests can count
 * kernel writes.
 *
 * @category apply
 */
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
}

/**
 * The real Exec. If env KUBE_ROUTER_TRACE_EXEC names a file, every call is appended to it as
 * one line `R|W <cmd> <args…>` (how end-to-end tests count kernel writes of a CLI run).
 */
export function realExec(opts: RealExecOptions = {}): Exec {
  const trace = process.env["KUBE_ROUTER_TRACE_EXEC"];
  return {
    run(cmd, args, o = {}) {
      const call: ExecCall = { cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) };
      opts.onCall?.(call);
      if (trace) appendFileSync(trace, `${call.write ? "W" : "R"} ${[cmd, ...args].join(" ")}\n`);
      // `ip` itself switches namespace with `-n` (the same setns and /sys remount as `ip netns
      // exec`, one exec fewer); every other tool goes through `ip netns exec`
      const [file, argv] = !opts.netns ? [cmd, [...args]] : cmd === "ip" ? ["ip", ["-n", opts.netns, ...args]] : ["ip", ["netns", "exec", opts.netns, cmd, ...args]];
      // a dump writes into a file, not a pipe: it runs to its end at its own pace even while
      // this thread is busy parsing another one (a full pipe would stop it)
      let dumpFd = !call.write && o.stdin === undefined ? anonymousFile() : undefined;
      /** The dump file's text, closing it (once; "" after). */
      const takeDump = (): string => {
        const fd = dumpFd;
        dumpFd = undefined;
        return fd === undefined ? "" : readAndClose(fd);
      };
      return new Promise<ExecResult>((resolve, reject) => {
        let child: ReturnType<typeof spawn>;
        try {
          child = spawn(file, argv, { stdio: ["pipe", dumpFd ?? "pipe", "pipe"] });
        } catch (e) {
          takeDump();
          throw e;
        }
        const toFile = dumpFd !== undefined;
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout?.on("data", (b: Buffer) => out.push(b));
        child.stderr!.on("data", (b: Buffer) => err.push(b));
        child.on("error", (e) => { takeDump(); reject(new ExecError(cmd, args, -1, e.message)); });
        child.stdin!.on("error", () => undefined); // tool exited before reading stdin: reported by exit code
        child.on("close", (code) => {
          const stdout = toFile ? takeDump() : Buffer.concat(out).toString("utf8");
          const r = { code: code ?? -1, stdout, stderr: Buffer.concat(err).toString("utf8") };
          if (r.code === 0 || o.okCodes?.includes(r.code)) resolve(r);
          else reject(new ExecError(cmd, args, r.code, r.stderr || r.stdout));
        });
        child.stdin!.end(o.stdin ?? "");
      });
    },
  };
}

let anonymousFiles = 0;

/**
 * A file already unlinked from the temp dir, open for reading and writing (its fd is the
 * tool's stdout); undefined when none can be made (a read-only /tmp): the caller uses a pipe.
 */
function anonymousFile(): number | undefined {
  const path = join(tmpdir(), `.kube-router-dump-${process.pid}-${anonymousFiles++}`);
  let fd: number;
  try {
    fd = openSync(path, "wx+", 0o600);
  } catch {
    return undefined;
  }
  try {
    unlinkSync(path);
    return fd;
  } catch {
    closeSync(fd);
    return undefined;
  }
}

/** The whole text written to `fd` (from offset 0); closes it. */
function readAndClose(fd: number): string {
  try {
    const buf = Buffer.allocUnsafe(fstatSync(fd).size);
    for (let at = 0; at < buf.length;) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) return buf.subarray(0, at).toString("utf8");
      at += n;
    }
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
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
