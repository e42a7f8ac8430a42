/**
 * Which controllers get a sync lane, their periods, and which source kinds make each dirty.
 *
 * A lane exists for every controller that is enabled by its flag and built (has a renderer);
 * an enabled controller that is not built yet keeps its kernel objects as they are and is
 * reported once at start (`notBuilt`). A controller one of whose flags asks for something not
 * built (flag-status.ts) gets a parked lane carrying the refusal: it never syncs, /healthz
 * reports it, the other lanes run. `refused` lists every refusal, including those of owners
 * without a lane (the LoadBalancer allocator, the process). The kind lists are generous on purpose: a spurious
 * dirty mark costs one cheap partial sync with an empty plan, a missing one a late change.
 * A resting lane (the extender turned off) syncs once at start and never again.
 *
 * @category agent
 */
import type { NodeConfig } from "../../model/config.ts";
import { type Refusal, refusals } from "../flag-status.ts";
import type { ControllerName } from "../../render/controller.ts";
import { CONTROLLERS } from "../../render/controllers.ts";
import type { SourceKind } from "../../sources/source.ts";
import type { LaneSpec } from "./schedule.ts";

const KINDS: Readonly<Record<ControllerName, readonly SourceKind[]>> = {
  router: ["nodes", "services", "endpointSlices"],
  bgp: ["nodes", "services", "endpointSlices"],
  proxy: ["nodes", "services", "endpointSlices", "pods"],
  firewall: ["nodes", "namespaces", "pods", "networkPolicies"],
  // a deleted or changed Service frees its IPs for a pending one at once
  lballoc: ["services"],
  // node taints, IPs and pod CIDRs; the ConfigMap read back (its keys and the allocation)
  extender: ["nodes", "configMaps"],
};

/** The sync period flag of each controller (upstream's per-controller periods). */
export function periodOf(name: ControllerName, cfg: NodeConfig): number {
  switch (name) {
    case "router": return cfg.routesSyncPeriod;
    // learned routes are re-injected at least every --injected-routes-sync-period (upstream's two periods)
    case "bgp": return Math.min(cfg.routesSyncPeriod, cfg.injectedRoutesSyncPeriod);
    case "proxy": return cfg.ipvsSyncPeriod;
    case "firewall": return cfg.iptablesSyncPeriod;
    case "lballoc": return cfg.loadbalancerSyncPeriod;
    case "extender": return cfg.routesSyncPeriod;
  }
}

/**
 * True for a lane that syncs once at start and then rests (no period, no source kinds): the
 * extender while `--run-route-extender` is off, whose only job is to remove what an earlier run
 * left (its render is empty; it asks the API nothing), so node churn costs it nothing.
 */
function resting(name: ControllerName, cfg: NodeConfig): boolean {
  return name === "extender" && !cfg.runRouteExtender;
}

/**
 * Lanes for the enabled, built controllers (in controller order; parked with `refused` when a
 * flag of theirs is refused), the enabled ones not built yet, and every refusal.
 */
export function laneSpecs(cfg: NodeConfig): { lanes: LaneSpec[]; notBuilt: ControllerName[]; refused: Refusal[] } {
  const lanes: LaneSpec[] = [];
  const notBuilt: ControllerName[] = [];
  const refused = refusals(cfg);
  for (const c of CONTROLLERS) {
    if (!c.enabled(cfg)) continue;
    if (c.render === undefined) { notBuilt.push(c.name); continue; }
    const mine = refused.filter((r) => r.owner === c.name).map((r) => r.line);
    const rest = resting(c.name, cfg);
    lanes.push({ name: c.name, periodMs: rest ? Infinity : periodOf(c.name, cfg), kinds: new Set(rest ? [] : KINDS[c.name]), ...(mine.length > 0 ? { refused: mine.join("; ") } : {}) });
  }
  return { lanes, notBuilt, refused };
}
