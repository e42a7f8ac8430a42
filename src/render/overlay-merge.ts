/**
 * How the router controller folds the overlay into its own render (pure): one route per key,
 * never two writers.
 *
 * - routes: the overlay's win their keys (`family/table/dst`): a peer reached through the
 *   overlay keeps no `via <node IP>` route from the router;
 * - links: the router's plus the overlay's (tunnels, kube-vxlan*); kube-bridge takes the
 *   overlay's pod MTU when there is one (the CNI config must get the same value: the router
 *   passes `podMtu` where it computes its auto-MTU today);
 * - addresses and rules: the router's plus the overlay's (disjoint: kube-vxlan's VTEP
 *   address; table-77 rules);
 * - fdb, neighbors and FoU receive ports: the overlay's (the router is their only writer).
 *
 * @category render
 */
import { KUBE_BRIDGE } from "../model/names.ts";
import { type FdbEntry, type Neighbor, fouPortKey } from "../model/overlay.ts";
import { type Address, type Link, type NodeState, type PolicyRule, type Route, addressKey, linkKey, policyRuleKey, routeKey } from "../model/state.ts";
import { type Table, sortedTable } from "../model/table.ts";
import type { OverlayOutput } from "./overlay.ts";

export interface MergedOverlay {
  readonly state: Partial<NodeState>;
  /** Also in `state` (kept for callers that read them apart). */
  readonly fdb: Table<FdbEntry>;
  readonly neighbors: Table<Neighbor>;
}

const values = <T>(t: Table<T> | undefined): T[] => (t === undefined ? [] : [...t.values()]);

/** The router's tables with the overlay folded in (see the module comment). */
export function mergeOverlay(router: Partial<NodeState>, overlay: OverlayOutput): MergedOverlay {
  const links: Link[] = [
    ...values(router.links).map((l) => (l.name === KUBE_BRIDGE && overlay.podMtu !== undefined ? { ...l, mtu: overlay.podMtu } : l)),
    ...overlay.links.values(),
  ];
  const routes: Route[] = [...values(router.routes).filter((r) => !overlay.routes.has(routeKey(r))), ...overlay.routes.values()];
  const addresses: Address[] = [...values(router.addresses), ...overlay.addresses.values()];
  const rules: PolicyRule[] = [...values(router.rules), ...overlay.rules.values()];
  return {
    state: {
      ...router,
      links: sortedTable(links.map((l) => [linkKey(l), l])),
      routes: sortedTable(routes.map((r) => [routeKey(r), r])),
      addresses: sortedTable(addresses.map((a) => [addressKey(a), a])),
      rules: sortedTable(rules.map((r) => [policyRuleKey(r), r])),
      fdb: overlay.fdb,
      neighbors: overlay.neighbors,
      fouPorts: sortedTable(overlay.fouPorts.map((p) => [fouPortKey(p), p])),
    },
    fdb: overlay.fdb,
    neighbors: overlay.neighbors,
  };
}
