/**
 * Reads HostFacts: the host's interfaces (one `ip -j addr` call, through the ip driver's
 * parser) and the current CNI config file (missing file ⇒ content undefined).
 *
 * @category agent
 */
import { existsSync, readFileSync } from "node:fs";
import { readHostInterfaces } from "../apply/ip/driver.ts";
import type { Exec } from "../apply/exec.ts";
import type { HostFacts } from "../model/host.ts";

/** Fails only if `ip` fails; an unreadable CNI file other than "missing" is reported as an error. */
export async function readHostFacts(exec: Exec, cniConfPath: string): Promise<HostFacts> {
  const interfaces = await readHostInterfaces(exec);
  let content: string | undefined;
  try {
    content = readFileSync(cniConfPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`reading CNI config ${cniConfPath}: ${(e as Error).message}`);
  }
  return { interfaces, cniConf: { path: cniConfPath, ...(content !== undefined ? { content } : {}) }, ipvs: await probeIpvs(exec) };
}

/**
 * Whether the kernel offers IPVS: `/proc/net/ip_vs` exists once ip_vs is loaded (in every
 * network namespace); otherwise one `ipvsadm -Ln` (which loads the module if it can).
 * Unavailable ⇒ `reason` is the probe's one-line cause (the proxy adds what to load); the
 * IPVS driver then observes empty tables.
 */
export async function probeIpvs(exec: Exec, procFile = "/proc/net/ip_vs"): Promise<{ available: boolean; reason?: string }> {
  if (existsSync(procFile)) return { available: true };
  try {
    await exec.run("ipvsadm", ["-Ln"]);
    return { available: true };
  } catch (e) {
    const first = (e as Error).message.split("\n")[0] ?? "";
    return { available: false, reason: first };
  }
}
