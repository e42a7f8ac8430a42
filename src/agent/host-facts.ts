/**
 * Reads HostFacts: the host's interfaces (one `ip -j addr` call, through the ip driver's
 * parser), the current CNI config file (missing file ⇒ content undefined), whether IPVS is
 * there, and the current `rp_filter` values the proxy may loosen.
 *
 * @category agent
 */
import { existsSync, readFileSync } from "node:fs";
import { readHostInterfaces } from "../apply/ip/driver.ts";
import type { Exec } from "../apply/exec.ts";
import type { HostFacts } from "../model/host.ts";
import { KUBE_BRIDGE, KUBE_DUMMY_IF } from "../model/names.ts";

/** Fails only if `ip` fails; an unreadable CNI file other than "missing" is reported as an error. */
export async function readHostFacts(exec: Exec, cniConfPath: string): Promise<HostFacts> {
  const interfaces = await readHostInterfaces(exec);
  let content: string | undefined;
  try {
    content = readFileSync(cniConfPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`reading CNI config ${cniConfPath}: ${(e as Error).message}`);
  }
  const rpFilter = await readRpFilter(exec, ["all", KUBE_BRIDGE, KUBE_DUMMY_IF, ...interfaces.map((i) => i.name).filter((n) => n !== "lo")]);
  return { interfaces, cniConf: { path: cniConfPath, ...(content !== undefined ? { content } : {}) }, ipvs: await probeIpvs(exec), rpFilter };
}

/**
 * Current `rp_filter` of each name that exists, in one read-only `sysctl -e` (unknown keys,
 * e.g. a link not created yet, are skipped). Never fails: an unreadable value is just absent.
 */
export async function readRpFilter(exec: Exec, names: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    const r = await exec.run("sysctl", ["-e", ...[...new Set(names)].map((n) => `net/ipv4/conf/${n}/rp_filter`)], { okCodes: [0, 255] });
    for (const line of r.stdout.split("\n")) {
      const m = /^net\.ipv4\.conf\.(.+)\.rp_filter = (\d+)$/.exec(line.trim());
      if (m) out[m[1]!.replaceAll("/", ".")] = m[2]!;
    }
  } catch { /* no sysctl tool: nothing read, nothing changed */ }
  return out;
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
