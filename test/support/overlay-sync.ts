/**
 * Test support: the overlay's part of a node, synced through the real engine (agent/engine.ts
 * syncNode) with the real ip and bridge drivers — the same render (router controller with the
 * overlay folded in), observe, diff, compile and apply as production, over whatever `Exec`
 * the test gives (semantic fakes, or `ip netns exec` into a kernel namespace).
 *
 * Only the router renders (firewall and proxy off, no CNI file); only the ip and bridge
 * drivers exist, so the router's ipsets, jumps and sysctls are planned but never applied:
 * `planSize` counts the overlay's tables only (links, addresses, routes, rules, neighbours,
 * FDB). The node's drivers live as long as the node, so `wantsFullSync` carries over between
 * syncs, as in the agent.
 */
import type { EngineDeps, SyncOutcome } from "../../src/agent/engine.ts";
import { syncNode } from "../../src/agent/engine.ts";
import { bridgeDriver } from "../../src/apply/bridge/driver.ts";
import type { Driver } from "../../src/apply/driver.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { ipDriver, readHostInterfaces } from "../../src/apply/ip/driver.ts";
import type { ClusterSnapshot } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import type { NodePlan } from "../../src/model/plan.ts";
import type { TableName } from "../../src/model/registry.ts";
import type { OverlayConfig } from "../../src/render/overlay.ts";

/** The tables the overlay writes through the ip and bridge drivers. */
export const OVERLAY_TABLES = ["links", "addresses", "routes", "rules", "neighbors", "fdb"] as const satisfies readonly TableName[];
export type OverlayPlan = Pick<NodePlan, (typeof OVERLAY_TABLES)[number]>;

/** Number of changes to the overlay's tables in a plan. */
export const planSize = (p: OverlayPlan): number => OVERLAY_TABLES.reduce((n, t) => n + p[t].length, 0);

/** One node: its exec, its engine deps (ip + bridge drivers, host facts read through `exec`). */
export interface OverlayNode {
  readonly exec: Exec;
  readonly deps: EngineDeps;
  /** The ip driver (for `wantsFullSync`). */
  readonly ip: Driver;
}

/** Builds a node over `exec`; its host facts are the interfaces `ip -j addr show` lists there. */
export function overlayNode(exec: Exec): OverlayNode {
  const ip = ipDriver();
  const readHost = async () => ({ interfaces: await readHostInterfaces(exec), cniConf: { path: "/nonexistent/10-kuberouter.conf" } });
  return { exec, ip, deps: { exec, drivers: [ip, bridgeDriver()], readHost } };
}

/** The NodeConfig of a router-only node with these overlay settings. */
export function overlayNodeConfig(overlay: Partial<OverlayConfig>): NodeConfig {
  return { ...DEFAULT_CONFIG, ...overlay, enableCni: false, runRouter: true, runFirewall: false, runServiceProxy: false };
}

/**
 * One full sync of node `nodeName` (observe, diff, apply); throws with the errors and the
 * write commands when anything failed. `mode: "plan"` only plans; `cleanup` removes what
 * the router owns (what `--cleanup-config` does).
 */
export async function syncOverlay(node: OverlayNode, snapshot: ClusterSnapshot, overlay: Partial<OverlayConfig>, nodeName: string, mode: "apply" | "plan" | "cleanup" | "cleanup-plan" = "apply"): Promise<SyncOutcome> {
  const out = await syncNode(node.deps, { mode, config: overlayNodeConfig(overlay), nodeName, snapshot });
  if (out.errors.length > 0) {
    throw new Error(`${nodeName}: ${out.errors.join("; ")}\n${out.scripts.map((s) => s.text).join("")}`);
  }
  return out;
}
