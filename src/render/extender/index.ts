/**
 * The `extender` controller: the route extender (reference/route-extender.md §7, C1–C9 [fix])
 * as tables of the reconciler. Pure.
 *
 * - cluster-wide, rendered alike by every agent: the ConfigMap's keys (keys.ts), table
 *   `configMapKeys`; the Lease holder's driver writes them, each agent its own Mac- key;
 * - on its own node, when eligible (nodes.ts): the device, its address, the FDB entry and
 *   the accept rule (kernel.ts).
 *
 * Always enabled: with `--run-route-extender` off it renders nothing, so the device, FDB
 * entry and rule of an extender that was turned off are removed (the engine would keep a
 * disabled controller's objects). Its ConfigMap keys are not observed then (no API), so
 * nothing is written to the API while it is off. Invalid settings are refused before it
 * runs (agent/flag-status.ts); render fails with the same lines if it is asked anyway.
 *
 * @category render
 */
import { type ConfigMapKey, configMapKeyKey } from "../../model/rows.ts";
import type { NodeState } from "../../model/state.ts";
import { fdbKey } from "../../model/overlay.ts";
import { addressKey, chainKey, jumpKey, linkKey, sysctlKey } from "../../model/rows.ts";
import { sortedTable } from "../../model/table.ts";
import type { Controller, ControllerResult, RenderInput } from "../controller.ts";
import { extenderSettings } from "./config.ts";
import { NO_KERNEL, extenderKernel } from "./kernel.ts";
import { extenderKeys } from "./keys.ts";
import { eligibleNodes } from "./nodes.ts";

const table = <T>(rows: readonly T[], key: (r: T) => string) => sortedTable(rows.map((r) => [key(r), r] as [string, T]));

/** The extender's render (see the module comment). */
export function renderExtender({ snapshot, config, host, nodeName }: RenderInput): ControllerResult {
  if (!config.runRouteExtender) return { ok: { state: state([], NO_KERNEL), warnings: [] } };
  const parsed = extenderSettings(config);
  if ("errors" in parsed) return { error: parsed.errors.join("; "), warnings: [] };
  const s = parsed.ok;
  const { nodes, warnings } = eligibleNodes(snapshot.nodes.values(), s.skipTaints);
  const data = snapshot.configMaps?.get(`${s.namespace}/${s.name}`)?.data ?? {};
  const keys = extenderKeys(s, nodes, data, nodeName);
  const me = nodes.find((n) => n.name === nodeName);
  const kernel = me === undefined ? NO_KERNEL : extenderKernel(s, me, keys.kept.get(me.ip), host);
  return { ok: { state: state(keys.rows, kernel), warnings: [...warnings, ...keys.warnings] } };
}

function state(rows: readonly ConfigMapKey[], k: typeof NO_KERNEL): Partial<NodeState> {
  return {
    configMapKeys: table(rows, configMapKeyKey),
    links: table(k.links, linkKey),
    addresses: table(k.addresses, addressKey),
    fdb: table(k.fdb, fdbKey),
    chains: table(k.chains, chainKey),
    jumps: table(k.jumps, jumpKey),
    sysctls: table(k.sysctls, sysctlKey),
  };
}

export const extenderController: Controller = {
  name: "extender",
  enabled: () => true,
  render: renderExtender,
};
