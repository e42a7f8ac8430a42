/**
 * Test support: the overlay's part of a sync, as the lead's engine will run it once the fdb
 * and neighbour tables are registered: observe (the ip driver's dumps, `ip -j neigh show`,
 * `bridge -j fdb show`), diff per table, then apply in this order —
 * neighbour deletes (before any address delete: the kernel flushes a device's ARP entries,
 * permanent ones too, when its last IPv4 address goes), the ip driver's remove batches, its
 * add batches (links first), neighbour replaces, then ONE `bridge -batch` (FDB deletes except
 * on links this sync deletes or re-creates, then appends/replaces).
 * Also renders a node the way the router must once the overlay is wired in: the router's
 * routes for peers the overlay does not cover, the overlay's for the rest, kube-bridge with
 * the overlay's pod MTU.
 */
import { applyFdbBatch, observeFdb } from "../../src/apply/bridge/run.ts";
import { compileFdbBatch } from "../../src/apply/bridge/compile.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { compileIp, needsRecreate } from "../../src/apply/ip/compile.ts";
import { ipDriver } from "../../src/apply/ip/driver.ts";
import { compileNeighbors } from "../../src/apply/ip/neigh.ts";
import { applyNeighLines, observeNeighbors } from "../../src/apply/ip/neigh-run.ts";
import { ORDER } from "../../src/apply/driver.ts";
import type { ClusterSnapshot } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import type { HostFacts } from "../../src/model/host.ts";
import type { FdbEntry, Neighbor } from "../../src/model/overlay.ts";
import { type Address, type Link, type PolicyRule, type Route, emptyNodeState } from "../../src/model/state.ts";
import { type Change, type Table, diffTable } from "../../src/model/table.ts";
import { type OverlayConfig, type OverlayOutput, renderOverlay } from "../../src/render/overlay.ts";
import { routerController } from "../../src/render/router.ts";
import { mergeOverlay } from "../../src/render/overlay-merge.ts";

export interface OverlayState {
  readonly links: Table<Link>;
  readonly addresses: Table<Address>;
  readonly routes: Table<Route>;
  readonly rules: Table<PolicyRule>;
  readonly fdb: Table<FdbEntry>;
  readonly neighbors: Table<Neighbor>;
}

export const EMPTY_OVERLAY_STATE: OverlayState = {
  links: new Map(), addresses: new Map(), routes: new Map(), rules: new Map(), fdb: new Map(), neighbors: new Map(),
};

export interface OverlayPlan {
  readonly links: readonly Change<Link>[];
  readonly addresses: readonly Change<Address>[];
  readonly routes: readonly Change<Route>[];
  readonly rules: readonly Change<PolicyRule>[];
  readonly fdb: readonly Change<FdbEntry>[];
  readonly neighbors: readonly Change<Neighbor>[];
}

/** Number of changes in a plan. */
export const planSize = (p: OverlayPlan): number =>
  p.links.length + p.addresses.length + p.routes.length + p.rules.length + p.fdb.length + p.neighbors.length;

/** Observes the overlay's tables (ip driver tables scoped by `desired`, like the engine). */
export async function observeOverlay(exec: Exec, desired: OverlayState): Promise<OverlayState> {
  const scope = { ...emptyNodeState(), links: desired.links, addresses: desired.addresses, routes: desired.routes, rules: desired.rules };
  const [ip, fdb, neighbors] = await Promise.all([ipDriver().observe(exec, scope), observeFdb(exec), observeNeighbors(exec)]);
  return {
    links: ip.links ?? new Map(), addresses: ip.addresses ?? new Map(), routes: ip.routes ?? new Map(), rules: ip.rules ?? new Map(),
    fdb, neighbors,
  };
}

/** Plans `desired` against what `exec` observes. */
export async function planOverlay(exec: Exec, desired: OverlayState): Promise<OverlayPlan> {
  const o = await observeOverlay(exec, desired);
  return {
    links: diffTable(desired.links, o.links), addresses: diffTable(desired.addresses, o.addresses),
    routes: diffTable(desired.routes, o.routes), rules: diffTable(desired.rules, o.rules),
    fdb: diffTable(desired.fdb, o.fdb), neighbors: diffTable(desired.neighbors, o.neighbors),
  };
}

/** One sync: plan, apply in the order above; returns the plan. */
export async function syncOverlay(exec: Exec, desired: OverlayState): Promise<OverlayPlan> {
  const plan = await planOverlay(exec, desired);
  const ipScripts = compileIp(plan);
  const neigh = compileNeighbors(plan.neighbors);
  // Links this sync deletes or re-creates take their FDB entries with them.
  const gone = new Set(plan.links.flatMap((c) => (c.op === "delete" || (c.op === "update" && needsRecreate(c.before, c.after)) ? [c.key] : [])));
  await applyNeighLines(exec, neigh.remove);
  for (const s of ipScripts.filter((x) => x.order === ORDER.ipRemove)) await s.run(exec);
  for (const s of ipScripts.filter((x) => x.order === ORDER.ipAdd)) await s.run(exec);
  await applyNeighLines(exec, neigh.add);
  await applyFdbBatch(exec, compileFdbBatch(plan.fdb, gone));
  return plan;
}

/**
 * Renders node `nodeName`'s router + overlay, merged by render/overlay-merge.ts as the router
 * controller must. Throws on a render error.
 */
export function renderNodeOverlay(snapshot: ClusterSnapshot, overlay: OverlayConfig, host: HostFacts, nodeName: string): { state: OverlayState; out: OverlayOutput; warnings: string[] } {
  const config: NodeConfig = { ...DEFAULT_CONFIG, ...overlay, enableCni: false, runRouter: true };
  const r = routerController.render?.({ snapshot, config, host, nodeName });
  if (r === undefined || "error" in r) throw new Error(`router render: ${r === undefined ? "none" : r.error}`);
  const o = renderOverlay({ snapshot, config: overlay, host, nodeName });
  if ("error" in o) throw new Error(`overlay render: ${o.error}`);
  const m = mergeOverlay(r.ok.state, o.ok);
  return {
    state: {
      links: m.state.links ?? new Map(), addresses: m.state.addresses ?? new Map(), routes: m.state.routes ?? new Map(),
      rules: m.state.rules ?? new Map(), fdb: m.fdb, neighbors: m.neighbors,
    },
    out: o.ok,
    warnings: [...r.ok.warnings, ...o.ok.warnings],
  };
}
