/**
 * Test support: network namespaces the test creates and always deletes.
 * Names are `krt-<tag>-<pid>-<n>` so parallel runs never collide and leftovers are recognisable.
 */
import { execFileSync } from "node:child_process";

/** Why kernel tests are skipped here, or false when they can run (root with `ip netns`). */
export const kernelSkip: string | false = process.getuid?.() === 0 ? false : "kernel tests need root (run as root, as CI does)";

let counter = 0;

/** Runs a shell command (throws with stderr on failure). */
export function sh(cmd: string): string {
  return execFileSync("sh", ["-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs a shell command inside a namespace. */
export function nsSh(ns: string, cmd: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "sh", "-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Creates a fresh netns with lo up; returns its name. Pair with `delNetns` in a finally. */
export function addNetns(tag: string): string {
  const name = `krt-${tag}-${process.pid}-${counter++}`;
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  return name;
}

/** Deletes a netns made by `addNetns` (ipsets and iptables in it go with it). */
export function delNetns(name: string): void {
  try {
    execFileSync("ip", ["netns", "exec", name, "ipset", "destroy"], { stdio: "ignore" });
  } catch { /* no sets */ }
  execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
}

/** Runs `fn` with a fresh netns that is deleted afterwards, whatever happens. */
export async function withNetns<T>(tag: string, fn: (ns: string) => Promise<T> | T): Promise<T> {
  const ns = addNetns(tag);
  try {
    return await fn(ns);
  } finally {
    delNetns(ns);
  }
}
