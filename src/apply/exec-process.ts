/**
 * One started tool process of the real Exec (exec.ts): its stdout goes into an unlinked temp
 * file when it is a dump (runs to its end even while this thread is busy), else into a pipe;
 * its stdin stays open until the caller ends it.
 *
 * @category apply
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How a tool process ended: its exit code (-1 when it could not start or was killed: then `stderr` says why) and its output. */
export interface ToolExit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A started tool: write its stdin through `child.stdin` and end it; `exited` resolves once (never rejects). */
export interface RunningTool {
  readonly child: ChildProcess;
  readonly exited: Promise<ToolExit>;
}

/**
 * Spawns `file argv` with stdin a pipe, stdout into `dumpFd` when given (closed and read back
 * after the exit) or a pipe, stderr a pipe. Throws only what `spawn` throws synchronously (bad
 * arguments); a tool that cannot start ends as code -1 with the spawn error's message.
 */
export function startTool(file: string, argv: readonly string[], dumpFd?: number): RunningTool {
  let fd = dumpFd;
  /** The dump file's text, closing it (once; "" after). */
  const takeDump = (): string => {
    const f = fd;
    fd = undefined;
    return f === undefined ? "" : readAndClose(f);
  };
  let child: ChildProcess;
  try {
    child = spawn(file, [...argv], { stdio: ["pipe", fd ?? "pipe", "pipe"] });
  } catch (e) {
    takeDump();
    throw e;
  }
  const toFile = fd !== undefined;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr!.on("data", (b: Buffer) => err.push(b));
  child.stdin!.on("error", () => undefined); // tool exited before reading stdin: reported by exit code
  const exited = new Promise<ToolExit>((resolve) => {
    child.on("error", (e) => { takeDump(); resolve({ code: -1, stdout: "", stderr: e.message }); });
    child.on("close", (code) => {
      const stdout = toFile ? takeDump() : Buffer.concat(out).toString("utf8");
      resolve({ code: code ?? -1, stdout, stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  return { child, exited };
}

let anonymousFiles = 0;

/**
 * A file already unlinked from the temp dir, open for reading and writing (its fd is the
 * tool's stdout); undefined when none can be made (a read-only /tmp): the caller uses a pipe.
 */
export function anonymousFile(): number | undefined {
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
