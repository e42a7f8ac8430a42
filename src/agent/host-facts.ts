/**
 * Reads HostFacts: the host's interfaces (one `ip -j addr` call, through the ip driver's
 * parser) and the current CNI config file (missing file ⇒ content undefined).
 *
 * @category agent
 */
import { readFileSync } from "node:fs";
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
  return { interfaces, cniConf: { path: cniConfPath, ...(content !== undefined ? { content } : {}) } };
}
