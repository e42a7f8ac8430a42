/**
 * Test support for GoBGP: where the built binaries and the upstream .proto files are, network
 * namespaces named `kgb-<tag>-<pid>-<n>` joined by veths (always deleted), and gobgpd daemons
 * started in them through our supervisor, with a client each.
 *
 * Skips: `gobgpSkip` / `upstreamProtoSkip` give a reason string when the binaries / the Go
 * module cache are missing, unless KRT_REQUIRE_GOBGP=1 (CI), where a missing piece is a failure.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOBGP_VERSION } from "../../src/apply/gobgp/schema.ts";
import { GobgpClient } from "../../src/apply/gobgp/client.ts";
import { GobgpDaemon, type GobgpDaemonOptions, defaultGobgpBinDir } from "../../src/apply/gobgp/daemon.ts";

/** True when CI demands the GoBGP tier (KRT_REQUIRE_GOBGP=1): skips become failures. */
export const requireGobgp = process.env["KRT_REQUIRE_GOBGP"] === "1";

function goBinary(): string | undefined {
  for (const g of [process.env["GO"], "/usr/local/go/bin/go", "go"]) {
    if (g === undefined) continue;
    try {
      execFileSync(g, ["version"], { stdio: "ignore" });
      return g;
    } catch { /* next */ }
  }
  return undefined;
}

/** The upstream `proto/` include dir (holding `api/*.proto`) of GoBGP {@link GOBGP_VERSION}, or undefined. */
export function upstreamProtoDir(): string | undefined {
  const explicit = process.env["KRT_GOBGP_PROTO"];
  const candidates: string[] = explicit !== undefined ? [join(explicit, "..")] : [];
  const go = goBinary();
  if (go !== undefined) {
    const cache = execFileSync(go, ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
    candidates.push(join(cache, "github.com", "osrg", "gobgp", `v4@${GOBGP_VERSION}`, "proto"));
  }
  return candidates.find((d) => existsSync(join(d, "api", "gobgp.proto")));
}

/** Why the schema test cannot run here, or false. Under KRT_REQUIRE_GOBGP=1 always false (the test fails instead). */
export function upstreamProtoSkip(): string | false {
  if (requireGobgp || upstreamProtoDir() !== undefined) return false;
  return `GoBGP ${GOBGP_VERSION} .proto files not in the Go module cache (run scripts/build-gobgp.sh; KRT_REQUIRE_GOBGP=1 makes this a failure)`;
}

/** Directory of the built `gobgpd` and `gobgp`. */
export function gobgpBinDir(): string {
  return defaultGobgpBinDir();
}

/** Why real-gobgpd tests cannot run here, or false. */
export function gobgpSkip(): string | false {
  if (process.getuid?.() !== 0) return requireGobgp ? false : "GoBGP tests need root (network namespaces)";
  if (requireGobgp) return false;
  if (!existsSync(join(gobgpBinDir(), "gobgpd"))) return `gobgpd ${GOBGP_VERSION} not built (run scripts/build-gobgp.sh)`;
  return false;
}

let counter = 0;

/** Creates a netns `kgb-<tag>-<pid>-<n>` with lo up. Pair with {@link delNs}. */
export function addNs(tag: string): string {
  const name = `kgb-${tag}-${process.pid}-${counter++}`;
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  return name;
}

/** Deletes a netns made by {@link addNs}; never throws. */
export function delNs(name: string): void {
  try {
    execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
  } catch { /* already gone */ }
}

/** Runs a command inside a namespace and returns stdout. */
export function nsRun(ns: string, cmd: string, args: readonly string[]): string {
  return execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Joins two namespaces with a veth and gives each side one address (`a/24` and `b/24`), both
 * up. Interface names are short (≤15 chars) and unique per call.
 */
export function linkNs(nsA: string, addrA: string, nsB: string, addrB: string, prefixLen = 24): { devA: string; devB: string } {
  const n = counter++;
  const devA = `kgb${process.pid % 100000}a${n}`;
  const devB = `kgb${process.pid % 100000}b${n}`;
  execFileSync("ip", ["link", "add", devA, "netns", nsA, "type", "veth", "peer", "name", devB, "netns", nsB]);
  execFileSync("ip", ["-n", nsA, "addr", "add", `${addrA}/${prefixLen}`, "dev", devA]);
  execFileSync("ip", ["-n", nsB, "addr", "add", `${addrB}/${prefixLen}`, "dev", devB]);
  execFileSync("ip", ["-n", nsA, "link", "set", devA, "up"]);
  execFileSync("ip", ["-n", nsB, "link", "set", devB, "up"]);
  return { devA, devB };
}

/** A fresh temporary directory (state dir for a daemon); remove with {@link rmDir}. */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `kgb-${tag}-`));
}

export function rmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A running gobgpd under our supervisor plus a client on its unix socket. */
export interface RunningGobgp {
  readonly daemon: GobgpDaemon;
  readonly client: GobgpClient;
  readonly stateDir: string;
}

/**
 * Starts gobgpd in `netns` (state dir: a fresh temp dir) through {@link GobgpDaemon} and opens a
 * client. Always pair with {@link stopGobgp} in a finally.
 */
export async function startGobgp(netns: string, opts: Partial<GobgpDaemonOptions> = {}): Promise<RunningGobgp> {
  const stateDir = tempDir("state");
  const daemon = new GobgpDaemon({ stateDir, netns, binDir: gobgpBinDir(), ...opts });
  try {
    await daemon.start();
  } catch (e) {
    await daemon.stop();
    rmDir(stateDir);
    throw e;
  }
  const client = new GobgpClient(daemon.target());
  return { daemon, client, stateDir };
}

/** Closes the client, stops the daemon (no child left) and removes its state dir. */
export async function stopGobgp(g: RunningGobgp | undefined): Promise<void> {
  if (g === undefined) return;
  g.client.close();
  await g.daemon.stop();
  rmDir(g.stateDir);
}

/** Polls `fn` every `everyMs` until it returns a value that is not undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
