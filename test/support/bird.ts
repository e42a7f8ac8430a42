/**
 * Test support: BIRD 2 (Debian `bird2`) as an external BGP router inside a network namespace
 * the test made. Each instance gets its own config, control socket and pid file in a fresh temp
 * dir, runs in the foreground as our child (`ip netns exec NS bird -f -c CONF -s SOCK -P PID`,
 * so the child pid is bird's), and is stopped by that pid — never by name.
 *
 * `birdSkip` gives a reason when bird is not installed (unless KRT_REQUIRE_GOBGP=1).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireGobgp, waitFor } from "./gobgp.ts";

export interface Bird {
  readonly netns: string;
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** bird's output so far (stderr logging when the config says `log stderr all`). */
  readonly log: string[];
}

function which(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why BIRD tests cannot run here, or false. */
export function birdSkip(): string | false {
  if (requireGobgp) return false;
  if (process.getuid?.() !== 0) return "BIRD tests need root (network namespaces)";
  if (!which("bird") || !which("birdc")) return "bird2 not installed (apt-get install bird2)";
  return false;
}

/**
 * Starts BIRD in `netns` with `config` and waits until its control socket answers.
 * Always pair with {@link stopBird}.
 */
export async function startBird(netns: string, config: string): Promise<Bird> {
  const dir = mkdtempSync(join(tmpdir(), "kgb-bird-"));
  const conf = join(dir, "bird.conf");
  const socket = join(dir, "bird.ctl");
  writeFileSync(conf, config);
  const child = spawn("ip", ["netns", "exec", netns, "bird", "-f", "-c", conf, "-s", socket, "-P", join(dir, "bird.pid")], { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const onData = (b: Buffer): void => void log.push(...b.toString("utf8").split("\n").filter((l) => l !== ""));
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const bird: Bird = { netns, dir, socket, pid: child.pid ?? -1, child, log };
  try {
    await waitFor("bird control socket", () => {
      if (child.exitCode !== null) throw new Error(`bird exited ${child.exitCode}: ${log.at(-1) ?? ""}`);
      return existsSync(socket) && birdc(bird, ["show", "status"]).includes("Daemon is up") ? true : undefined;
    }, 10_000, 20);
  } catch (e) {
    await stopBird(bird);
    throw e;
  }
  return bird;
}

/** Stops BIRD by its pid (SIGTERM, SIGKILL after 3 s) and removes its temp dir. Never throws. */
export async function stopBird(b: Bird | undefined): Promise<void> {
  if (b === undefined) return;
  if (b.child.exitCode === null && b.child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => b.child.kill("SIGKILL"), 3000);
      b.child.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      b.child.kill("SIGTERM");
    });
  }
  rmSync(b.dir, { recursive: true, force: true });
}

/** Runs `birdc -s SOCK <args>` and returns its output. */
export function birdc(b: Bird, args: readonly string[]): string {
  return execFileSync("birdc", ["-s", b.socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Resolves when BIRD's protocol `name` is Established. */
export function birdEstablished(b: Bird, name: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(`BIRD protocol ${name} established`, () => (/Established/.test(birdc(b, ["show", "protocols", name])) ? true : undefined), timeoutMs, 50);
}

/** BIRD's `show route for <prefix> all` block when it has the exact prefix, else undefined. */
export function birdRoute(b: Bird, prefix: string): string | undefined {
  let out: string;
  try {
    out = birdc(b, ["show", "route", prefix, "all"]);
  } catch (e) {
    // birdc exits 1 with "Network not found" when there is no such route
    const stdout = String((e as { stdout?: unknown }).stdout ?? "");
    if (stdout.includes("Network not found")) return undefined;
    throw e;
  }
  return out.includes(prefix) ? out : undefined;
}

/** Resolves with the `show route <prefix> all` block once BIRD has the prefix and `pred` holds. */
export function waitBirdRoute(b: Bird, prefix: string, pred: (block: string) => boolean = () => true, timeoutMs = 10_000): Promise<string> {
  return waitFor(`${prefix} in BIRD`, () => {
    const r = birdRoute(b, prefix);
    return r !== undefined && pred(r) ? r : undefined;
  }, timeoutMs, 10);
}

/** Resolves once BIRD no longer has the prefix. */
export function waitBirdNoRoute(b: Bird, prefix: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(`${prefix} gone from BIRD`, () => (birdRoute(b, prefix) === undefined ? true : undefined), timeoutMs, 10);
}

/**
 * A BIRD 2 config for one eBGP session: router id = `local`, `static` routes exported as
 * blackholes, everything imported; short timers (connect delay 1 s) so tests are quick; with
 * `bfdMs`, a BFD session (that interval for tx and rx, multiplier 3) guards the BGP session.
 */
export function birdBgpConfig(o: { local: string; localAs: number; neighbor: string; neighborAs: number; protocol?: string; staticRoutes?: readonly string[]; holdTime?: number; bfdMs?: number }): string {
  const statics = (o.staticRoutes ?? []).map((r) => `  route ${r} blackhole;`).join("\n");
  const bfd = o.bfdMs !== undefined ? `protocol bfd { interface "*" { min rx interval ${o.bfdMs} ms; min tx interval ${o.bfdMs} ms; multiplier 3; }; }\n` : "";
  return `router id ${o.local};
log stderr all;
protocol device { scan time 10; }
${bfd}
protocol static ext_routes {
  ipv4;
${statics}
}
protocol bgp ${o.protocol ?? "gobgp"} {
  local ${o.local} as ${o.localAs};
  neighbor ${o.neighbor} as ${o.neighborAs};
  hold time ${o.holdTime ?? 9}; keepalive time ${Math.max(1, Math.floor((o.holdTime ?? 9) / 3))};
  connect delay time 1;
  connect retry time 5;
  error wait time 1, 5;
${o.bfdMs !== undefined ? "  bfd on;\n" : ""}  ipv4 { import all; export where proto = "ext_routes"; };
}
`;
}
