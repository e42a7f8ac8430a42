/**
 * The ipset driver: table `ipsets`. Observe is one `ipset save` (read), parsed to the owned
 * sets; apply is the fill and destroy `ipset restore -exist` scripts of compile.ts.
 * Failure modes: observe fails with ExecError if `ipset save` fails, or with the parser's
 * `Error("ipset save line N: …")` on a dump it cannot model.
 *
 * @category apply
 */
import type { Driver } from "../driver.ts";
import { ipsetScripts } from "./compile.ts";
import { type IpsetParseCache, parseIpsetSaveCached } from "./parse-cache.ts";

/** An ipset driver; each instance remembers the set blocks it parsed last (parse-cache.ts). */
export function ipsetDriver(): Driver {
  const cache: IpsetParseCache = new Map();
  return {
    name: "ipset",
    tables: ["ipsets"],
    async observe(exec) {
      const r = await exec.run("ipset", ["save"]);
      return { ipsets: parseIpsetSaveCached(r.stdout, cache) };
    },
    scripts: ipsetScripts,
  };
}
