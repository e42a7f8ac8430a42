/**
 * GobgpDaemon: starts and supervises one `gobgpd` child process with its gRPC API on a unix
 * socket in the node's state directory (`<stateDir>/gobgpd.sock`), no config file, pprof and
 * the metrics HTTP listener off, optionally inside a named network namespace
 * (`ip netns exec NS gobgpd …`, which execs: the child pid is gobgpd's own).
 *
 * Guarantees:
 * - `start()` resolves once the API answers `GetBgp`; it rejects (one line, with gobgpd's last
 *   log line) when gobgpd exits first or is not ready within `readyTimeoutMs`;
 * - when gobgpd dies on its own, it is started again (after `restartDelayMs`, 100 ms by default,
 *   backing off to 5 s while it keeps dying within a second of starting) and `onRestart` is
 *   called once the new instance answers — the caller replays the desired BGP state (a new
 *   gobgpd knows nothing: BGP not started, no peers, paths or policies);
 * - `stop()` sends SIGTERM (gobgpd sends Cease to its peers), then SIGKILL after
 *   `stopTimeoutMs`; `stop({ kill: true })` sends SIGKILL at once (no NOTIFICATION, so
 *   graceful-restart peers keep our routes as stale). Either way the child is gone and the
 *   socket removed when it resolves, and no restart follows;
 * - the child never outlives this process: a process `exit` hook SIGKILLs it, and gobgpd runs
 *   under `setpriv --pdeathsig KILL` (when util-linux's setpriv is there) so the kernel kills it
 *   even when this process dies by a signal that skips `exit` hooks;
 * - a stale socket file (left by a killed gobgpd) is removed before each start — gobgpd would
 *   otherwise exit with "address already in use".
 *
 * Optional TCP admin API for the `gobgp` CLI (`--gobgp-admin-port`): added to `--api-hosts`,
 * bound to 127.0.0.1 unless `adminAddress` says otherwise (exposing it on the node IP without
 * auth is upstream advisory GHSA-v5mh-h5hx-7v92). If any API listener cannot bind, gobgpd v4
 * does not exit but serves no API at all (it logs "failed to listen grpc port"): start() sees
 * that line, kills it and fails at once.
 *
 * @category apply
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { GobgpClient } from "./client.ts";
import { GOBGP_VERSION } from "./schema.ts";

export interface GobgpRestart {
  /** Restarts so far in this daemon's life (1 for the first). */
  readonly restarts: number;
  /** How the previous instance ended. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** ms from the death to the new instance answering its API. */
  readonly downMs: number;
}

export interface GobgpDaemonOptions {
  /** Directory for the API socket (created by the caller; per node, never a global path). */
  readonly stateDir: string;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** gobgpd binary; else env KRT_GOBGPD; else `<binDir>/gobgpd`; else the build cache; else PATH. */
  readonly gobgpdPath?: string;
  /** Directory holding gobgpd (used when gobgpdPath and KRT_GOBGPD are unset). */
  readonly binDir?: string;
  readonly logLevel?: "info" | "debug";
  /** Extra TCP API port for the gobgp CLI (0/undefined: none). */
  readonly adminPort?: number;
  /** Address for the admin port (default 127.0.0.1). */
  readonly adminAddress?: string;
  /** Called after each automatic restart, once the new gobgpd answers. Errors it throws are logged and ignored. */
  readonly onRestart?: (r: GobgpRestart) => void | Promise<void>;
  /** Each line gobgpd writes (stdout and stderr). */
  readonly onLog?: (line: string) => void;
  readonly readyTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  readonly restartDelayMs?: number;
}

/** Where scripts/build-gobgp.sh puts the binaries: `${KRT_GO_CACHE:-/var/cache/kube-router-ts}/gobgp-<version>/bin`. */
export function defaultGobgpBinDir(): string {
  return join(process.env["KRT_GO_CACHE"] ?? "/var/cache/kube-router-ts", `gobgp-${GOBGP_VERSION}`, "bin");
}

/** Resolves the gobgpd binary as documented on {@link GobgpDaemonOptions.gobgpdPath}. */
export function resolveGobgpd(o: Pick<GobgpDaemonOptions, "gobgpdPath" | "binDir"> = {}): string {
  if (o.gobgpdPath !== undefined) return o.gobgpdPath;
  const env = process.env["KRT_GOBGPD"];
  if (env !== undefined && env !== "") return env;
  for (const dir of [o.binDir, defaultGobgpBinDir()]) {
    if (dir !== undefined && existsSync(join(dir, "gobgpd"))) return join(dir, "gobgpd");
  }
  return "gobgpd";
}

let setprivFound: boolean | undefined;
function hasSetpriv(): boolean {
  setprivFound ??= ["/usr/bin/setpriv", "/bin/setpriv"].some((p) => existsSync(p));
  return setprivFound;
}

export class GobgpDaemon {
  readonly socketPath: string;
  private child: ChildProcess | undefined;
  private stopping = false;
  /** True once the first start succeeded: from then on, a death means a restart. */
  private supervising = false;
  private restarts = 0;
  private lastLines: string[] = [];
  /** A log line saying the API will never come up (v4 keeps running without an API when a listener fails). */
  private fatalLine: string | undefined;
  private startedAt = 0;
  private quickDeaths = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly exitHook = (): void => {
    if (this.child?.pid !== undefined && this.child.exitCode === null) {
      try { process.kill(this.child.pid, "SIGKILL"); } catch { /* gone */ }
    }
  };

  constructor(private readonly o: GobgpDaemonOptions) {
    this.socketPath = join(o.stateDir, "gobgpd.sock");
    if (this.socketPath.length > 100) throw new Error(`gobgpd: socket path too long for a unix socket: ${this.socketPath}`);
  }

  /** grpc-js target of the API socket. */
  target(): string {
    return `unix://${this.socketPath}`;
  }

  /** The admin TCP target (`addr:port`, `[v6]:port`), when an admin port is configured. */
  adminTarget(): string | undefined {
    if (!this.o.adminPort) return undefined;
    const addr = this.o.adminAddress ?? "127.0.0.1";
    return addr.includes(":") ? `[${addr}]:${this.o.adminPort}` : `${addr}:${this.o.adminPort}`;
  }

  /** pid of the running gobgpd (undefined when none). */
  pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Number of automatic restarts so far. */
  restartCount(): number {
    return this.restarts;
  }

  /**
   * The gobgpd command line: `[ip netns exec NS] [setpriv --pdeathsig KILL] gobgpd …`. setpriv
   * (util-linux) makes the kernel kill gobgpd when this process dies, even by SIGKILL.
   */
  argv(): string[] {
    const hosts = [`unix://${this.socketPath}`];
    const admin = this.adminTarget();
    if (admin !== undefined) hosts.push(admin);
    const args = [resolveGobgpd(this.o), `--api-hosts=${hosts.join(",")}`, "--pprof-disable", "--metrics-path=", `--log-level=${this.o.logLevel ?? "info"}`, "--log-plain"];
    const guarded = hasSetpriv() ? ["setpriv", "--pdeathsig", "KILL", ...args] : args;
    return this.o.netns !== undefined ? ["ip", "netns", "exec", this.o.netns, ...guarded] : guarded;
  }

  /** Starts gobgpd and waits for its API. Rejects (child killed) on failure. */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error("gobgpd: already started");
    this.stopping = false;
    process.on("exit", this.exitHook);
    try {
      await this.spawnAndWait();
    } catch (e) {
      this.child = undefined;
      process.removeListener("exit", this.exitHook);
      throw e;
    }
    this.supervising = true;
  }

  private spawnOnce(): ChildProcess {
    rmSync(this.socketPath, { force: true });
    const [cmd, ...args] = this.argv();
    const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.lastLines = [];
    this.fatalLine = undefined;
    this.startedAt = Date.now();
    const onData = (buf: Buffer): void => {
      for (const line of buf.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        this.lastLines.push(line);
        if (/failed to listen grpc port/.test(line)) this.fatalLine = line;
        if (this.lastLines.length > 20) this.lastLines.shift();
        this.o.onLog?.(line);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("error", (e) => this.lastLines.push(`spawn failed: ${e.message}`));
    child.on("exit", (code, signal) => this.onExit(child, code, signal));
    this.child = child;
    return child;
  }

  private async spawnAndWait(): Promise<void> {
    const child = this.spawnOnce();
    try {
      await this.waitReady(child);
    } catch (e) {
      await this.killChild(child, 0);
      throw e;
    }
  }

  private lastLine(): string {
    return (this.lastLines.at(-1) ?? "no output").replace(/\s+/g, " ").trim();
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const timeout = this.o.readyTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeout;
    const client = new GobgpClient(this.target(), { deadlineMs: 500 });
    try {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`gobgpd exited (${child.exitCode ?? child.signalCode}) before its API answered: ${this.lastLine()}`);
        }
        if (this.fatalLine !== undefined) {
          throw new Error(`gobgpd cannot serve its API: ${this.fatalLine.replace(/\s+/g, " ").trim()}`);
        }
        if (existsSync(this.socketPath)) {
          try {
            await client.getBgp();
            return;
          } catch { /* not yet */ }
        }
        if (Date.now() > deadline) throw new Error(`gobgpd API not ready within ${timeout} ms: ${this.lastLine()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      client.close();
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.stopping || !this.supervising) return;
    const diedAt = Date.now();
    this.o.onLog?.(`gobgpd exited (code ${code}, signal ${signal}); restarting`);
    this.quickDeaths = diedAt - this.startedAt < 1000 ? this.quickDeaths + 1 : 0;
    const base = this.o.restartDelayMs ?? 100;
    const delay = this.quickDeaths <= 1 ? base : Math.min(5000, base * 2 ** this.quickDeaths);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.spawnAndWait().then(
        async () => {
          if (this.stopping) return;
          this.restarts++;
          try {
            await this.o.onRestart?.({ restarts: this.restarts, exitCode: code, signal, downMs: Date.now() - diedAt });
          } catch (e) {
            this.o.onLog?.(`gobgpd restart callback failed: ${String(e instanceof Error ? e.message : e).split("\n")[0]}`);
          }
        },
        (e: unknown) => {
          // the failed instance is dead or killed: its own exit event schedules the next try
          this.o.onLog?.(String(e instanceof Error ? e.message : e));
        },
      );
    }, delay);
  }

  private killChild(child: ChildProcess, graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
      let timer: NodeJS.Timeout | undefined;
      child.once("exit", () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
      if (graceMs > 0) {
        child.kill("SIGTERM");
        timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      } else {
        child.kill("SIGKILL");
      }
    });
  }

  /** Stops gobgpd (no restart follows). See the class comment for `kill`. */
  async stop(o: { kill?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child !== undefined) await this.killChild(child, o.kill === true ? 0 : (this.o.stopTimeoutMs ?? 5000));
    this.child = undefined;
    this.supervising = false;
    process.removeListener("exit", this.exitHook);
    rmSync(this.socketPath, { force: true });
  }
}
