/**
 * Test support: runs the built `kube-router` CLI (dist/agent/main.js), optionally inside a
 * network namespace, the way operators do (`ip netns exec NS kube-router …`).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "../../dist/agent/main.js");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI (in `ns` when given) with extra env; never throws. */
export function runCli(args: readonly string[], opts: { ns?: string; env?: Record<string, string> } = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  const argv = opts.ns ? ["netns", "exec", opts.ns, process.execPath, CLI, ...args] : [CLI, ...args];
  const r = spawnSync(opts.ns ? "ip" : process.execPath, argv, {
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    // inside the IPVS VM (IVM=1) the CLI runs under emulation on a shared host: give it longer
    timeout: process.env["IVM"] === "1" ? 240_000 : 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
