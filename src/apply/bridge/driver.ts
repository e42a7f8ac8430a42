/**
 * The bridge driver: table `fdb` (the vxlan overlay's forwarding entries).
 *
 * Observe: one read-only `bridge -j fdb show` (every device; parse.ts keeps only entries on
 * our vxlan devices, names.ts OVERLAY_ENTRY_DEVICES, so a foreign device's entries and
 * kube-bridge's learned pod MACs are never planned).
 * Apply: ONE `bridge -force -batch -` per sync (compile.ts compileFdbBatch), ordered
 * ORDER.bridge, after the ip add batch (the devices exist) — deletes first, except on links
 * this same plan deletes or re-creates (they took their entries with them), then
 * `append` / `replace` lines. Never one process per peer.
 *
 * Failure: observe rejects with ExecError when `bridge` fails and Error on malformed JSON;
 * the script rejects with ExecError when any line failed (the others are applied: `-force`),
 * and the engine's next sync is a full one.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { ORDER, type Driver, type Script } from "../driver.ts";
import type { Exec } from "../exec.ts";
import { linksGone } from "../ip/compile.ts";
import { BRIDGE_BATCH_ARGS, compileFdbBatch } from "./compile.ts";
import { observeFdb } from "./run.ts";

/** The batch script of a plan's FDB changes; [] when there are none. */
export function compileBridge(plan: Pick<NodePlan, "fdb" | "links">): Script[] {
  const stdin = compileFdbBatch(plan.fdb, linksGone(plan.links));
  if (stdin === "") return [];
  return [{
    order: ORDER.bridge,
    title: "bridge -batch (fdb)",
    text: `bridge ${BRIDGE_BATCH_ARGS.join(" ")} <<'EOF'\n${stdin}EOF\n`,
    run: async (exec: Exec) => {
      await exec.run("bridge", BRIDGE_BATCH_ARGS, { stdin, write: true });
    },
  }];
}

/** The bridge driver. */
export function bridgeDriver(): Driver {
  return {
    name: "bridge",
    tables: ["fdb"],
    observe: async (exec) => ({ fdb: await observeFdb(exec) }),
    scripts: compileBridge,
  };
}
