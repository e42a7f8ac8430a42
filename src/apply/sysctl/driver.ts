/**
 * The sysctl driver: table `sysctls`. Sysctls cannot be listed as owned, so observe reads
 * exactly the desired keys with ONE `sysctl -e name …` (read); a key the kernel lacks is
 * absent from the result (and so planned as a create, which then fails loudly on write).
 * Nothing desired ⇒ no call at all. Failure modes: ExecError if the read fails (e.g. a key
 * that cannot be read); the parser's Error on unexpected output.
 *
 * @category apply
 */
import type { Driver } from "../driver.ts";
import { sysctlScripts } from "./compile.ts";
import { sysctlName } from "./keys.ts";
import { parseSysctlOutput } from "./parse.ts";

export function sysctlDriver(): Driver {
  return {
    name: "sysctl",
    tables: ["sysctls"],
    async observe(exec, desired) {
      const paths = [...desired.sysctls.keys()].sort();
      if (paths.length === 0) return { sysctls: new Map() };
      const r = await exec.run("sysctl", ["-e", ...paths.map(sysctlName)]);
      const wanted = new Set(paths);
      const got = parseSysctlOutput(r.stdout);
      return { sysctls: new Map([...got].filter(([k]) => wanted.has(k))) };
    },
    scripts: sysctlScripts,
  };
}
