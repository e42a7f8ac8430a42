/**
 * The iptables driver: observes owned chains and builtin-chain jumps with one save per
 * family, applies plans with one `iptables-restore --noflush` per changed family and table.
 * Cleanup needs nothing special: diff an empty desired state against what observe returns.
 *
 * @category apply
 */
import type { Family, NodeState } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import type { NodePlan } from "../../model/plan.ts";
import type { Displacement, Driver } from "../driver.ts";
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
export async function observeIptables(exec: Exec, backend: IptablesBackend, displacedBy?: Map<string, string>): Promise<OwnedIptables> {
  const families = ["ipv4", "ipv6"] as const satisfies readonly Family[];
  const parts: OwnedIptables[] = await Promise.all(
    families.map(async (family) => parseOwned(family, (await exec.run(backend.save[family], [])).stdout, displacedBy)),
  );
  return {
    chains: sortedTable(parts.flatMap((p) => [...p.chains])),
    jumps: sortedTable(parts.flatMap((p) => [...p.jumps])),
  };
}

/**
 * The re-placements in `plan` (updates of jumps observed displaced), each naming the foreign
 * rule that sat above ours in `displacedBy` (from the observe the plan was made against). Pure.
 */
export function displacedJumps(plan: Pick<NodePlan, "jumps">, displacedBy: ReadonlyMap<string, string>): Displacement[] {
  return plan.jumps.flatMap((c) => {
    if (c.op !== "update" || c.before.position >= 0) return [];
    const j = c.before;
    const foreign = displacedBy.get(c.key) ?? "";
    const what = foreign === "" ? "below another copy of itself" : `below the foreign rule ${JSON.stringify(foreign)}`;
    return [{ chain: j.chain, line: `${j.family} ${j.table} ${j.chain}: our jump ${JSON.stringify(j.comment)} was ${what}` }];
  });
}

/**
 * The iptables Driver over one backend (see backend.ts to pick it). It remembers, from its
 * last observe, which foreign rule displaced each of our jumps (for `displaced`).
 */
export function iptablesDriver(backend: IptablesBackend): Driver {
  let displacedBy = new Map<string, string>();
  return {
    name: "iptables",
    tables: ["chains", "jumps"],
    async observe(exec: Exec, _desired: NodeState): Promise<Partial<NodeState>> {
      const seen = new Map<string, string>();
      const owned = await observeIptables(exec, backend, seen);
      displacedBy = seen;
      return owned;
    },
    scripts: (plan) => compileIptables(plan, backend),
    displaced: (plan) => displacedJumps(plan, displacedBy),
  };
}
