/**
 * The iptables driver: observes owned chains and builtin-chain jumps with one save per
 * family, applies plans with one `iptables-restore --noflush` per changed family and table.
 * Cleanup needs nothing special: diff an empty desired state against what observe returns.
 *
 * @category apply
 */
import type { Family, NodeState } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import type { Driver } from "../driver.ts";
import type { Exec } from "../exec.ts";
import type { IptablesBackend } from "./backend.ts";
import { compileIptables } from "./compile.ts";
import { type OwnedIptables, parseOwned } from "./parse.ts";

/**
 * Reads the owned chains and jumps of both families (ipv4 and ipv6 always, so stale owned
 * IPv6 objects are found, and cleaned, even when IPv6 is off). Read-only: runs
 * `<save tool>` with no arguments once per family.
 * Fails with ExecError when a save fails, or with an Error naming the line when its output
 * does not parse.
 */
export async function observeIptables(exec: Exec, backend: IptablesBackend): Promise<OwnedIptables> {
  const families = ["ipv4", "ipv6"] as const satisfies readonly Family[];
  const parts: OwnedIptables[] = await Promise.all(
    families.map(async (family) => parseOwned(family, (await exec.run(backend.save[family], [])).stdout)),
  );
  return {
    chains: sortedTable(parts.flatMap((p) => [...p.chains])),
    jumps: sortedTable(parts.flatMap((p) => [...p.jumps])),
  };
}

/** The iptables Driver over one backend (see backend.ts to pick it). */
export function iptablesDriver(backend: IptablesBackend): Driver {
  return {
    name: "iptables",
    tables: ["chains", "jumps"],
    async observe(exec: Exec, _desired: NodeState): Promise<Partial<NodeState>> {
      return observeIptables(exec, backend);
    },
    scripts: (plan) => compileIptables(plan, backend),
  };
}
