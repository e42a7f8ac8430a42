/**
 * Which controllers get a sync lane, their periods, and which source kinds make each dirty.
 *
 * A lane exists for every controller that is enabled by its flag and built (has a renderer);
 * an enabled controller that is not built yet keeps its kernel objects as they are and is
 * reported once at start (`notBuilt`). The kind lists are generous on purpose: a spurious
 * dirty mark costs one cheap partial sync with an empty plan, a missing one a late change.
 *
 * @category agent
 */
import type { NodeConfig } from "../../model/config.ts";
import type { ControllerName } from "../../render/controller.ts";
import { CONTROLLERS } from "../../render/controllers.ts";
import type { SourceKind } from "../../sources/source.ts";
import type { LaneSpec } from "./schedule.ts";

const KINDS: Readonly<Record<ControllerName, readonly SourceKind[]>> = {
  router: ["nodes", "services", "endpointSlices"],
  proxy: ["nodes", "services", "endpointSlices", "pods"],
  firewall: ["nodes", "namespaces", "pods", "networkPolicies"],
};

/** The sync period flag of each controller (upstream's per-controller periods). */
export function periodOf(name: ControllerName, cfg: NodeConfig): number {
  switch (name) {
    case "router": return cfg.routesSyncPeriod;
    case "proxy": return cfg.ipvsSyncPeriod;
    case "firewall": return cfg.iptablesSyncPeriod;
  }
}

/** Lanes for the enabled, built controllers (in controller order), and the enabled ones not built yet. */
export function laneSpecs(cfg: NodeConfig): { lanes: LaneSpec[]; notBuilt: ControllerName[] } {
  const lanes: LaneSpec[] = [];
  const notBuilt: ControllerName[] = [];
  for (const c of CONTROLLERS) {
    if (!c.enabled(cfg)) continue;
    if (c.render === undefined) { notBuilt.push(c.name); continue; }
    lanes.push({ name: c.name, periodMs: periodOf(c.name, cfg), kinds: new Set(KINDS[c.name]) });
  }
  return { lanes, notBuilt };
}
