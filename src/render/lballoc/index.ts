/**
 * The `lballoc` controller (`--run-loadbalancer`): renders the cluster-wide table `lbStatus`,
 * the wanted `status.loadBalancer.ingress` of each LoadBalancer Service it handles
 * (allocate.ts). Every agent renders it; only the Lease holder's driver writes it
 * (apply/kube-status). Pure.
 *
 * @category render
 */
import { lbStatusKey } from "../../model/rows.ts";
import type { LbStatus } from "../../model/rows.ts";
import { sortedTable } from "../../model/table.ts";
import type { Controller } from "../controller.ts";
import { allocate } from "./allocate.ts";

export { allocate, handles, parseRanges, LB_CLASS } from "./allocate.ts";

export const lballocController: Controller = {
  name: "lballoc",
  enabled: (c) => c.runLoadbalancer,
  render: ({ snapshot, config }) => {
    const { rows, warnings } = allocate(snapshot.services.values(), config);
    return { ok: { state: { lbStatus: sortedTable(rows.map((r) => [lbStatusKey(r), r] as [string, LbStatus])) }, warnings } };
  },
};
