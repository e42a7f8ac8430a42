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
 * Links and routes are chunked tables (model/chunked-table.ts): the overlay's per-peer chunks
 * and the router's per-node route chunks keep their identity while the node is unchanged, so
 * a re-render after one node changed is diffed chunk by chunk.
 *
 * @category render
 */
import { KUBE_BRIDGE } from "../model/names.ts";
import { type FdbEntry, type Neighbor, fouPortKey } from "../model/overlay.ts";
import { ChunkedTable } from "../model/chunked-table.ts";
import { type Address, type Link, type NodeState, type PolicyRule, type Route, addressKey, linkKey, policyRuleKey } from "../model/state.ts";
import { type Table, sortedTable } from "../model/table.ts";
import type { OverlayOutput } from "./overlay.ts";

export interface MergedOverlay {
  readonly state: Partial<NodeState>;
  /** Also in `state` (kept for callers that read them apart). */
  readonly fdb: Table<FdbEntry>;
  readonly neighbors: Table<Neighbor>;
}

const values = <T>(t: Table<T> | undefined): T[] => (t === undefined ? [] : [...t.values()]);

/** A table's chunks (a plain table is one chunk named `whole`). */
const chunksOf = <T>(t: Table<T> | undefined): readonly (readonly [string, ReadonlyMap<string, T>])[] =>
  t === undefined ? [] : t instanceof ChunkedTable ? t.chunks : [["whole", t]];

/** The router's route chunks without the keys the overlay routes, memoised per chunk so an unchanged one keeps its identity. */
const filtered = new WeakMap<ReadonlyMap<string, Route>, { readonly removed: string; readonly chunk: ReadonlyMap<string, Route> }>();
function withoutOverlayKeys(chunk: ReadonlyMap<string, Route>, overlay: Table<Route>): ReadonlyMap<string, Route> {
  const removed = [...chunk.keys()].filter((k) => overlay.has(k));
  if (removed.length === 0) return chunk;
  const sig = removed.join(" ");
  const hit = filtered.get(chunk);
  if (hit !== undefined && hit.removed === sig) return hit.chunk;
  const out = new Map([...chunk].filter(([k]) => !overlay.has(k)));
  filtered.set(chunk, { removed: sig, chunk: out });
  return out;
}

/** The router's tables with the overlay folded in (see the module comment). */
export function mergeOverlay(router: Partial<NodeState>, overlay: OverlayOutput): MergedOverlay {
  // chunked: the overlay's per-peer chunks (`o:…`) keep their identity from render to render
  const bridge = values(router.links).map((l) => (l.name === KUBE_BRIDGE && overlay.podMtu !== undefined ? { ...l, mtu: overlay.podMtu } : l));
  const links = new ChunkedTable<Link>([
    ...chunksOf(overlay.links).map(([g, c]) => [`o:${g}`, c] as const),
    ["r", new Map(bridge.map((l) => [linkKey(l), l]))],
  ]);
  const routes = new ChunkedTable<Route>([
    ...chunksOf(router.routes).map(([g, c]) => [`d:${g}`, withoutOverlayKeys(c, overlay.routes)] as const),
    ...chunksOf(overlay.routes).map(([g, c]) => [`o:${g}`, c] as const),
  ]);
  const addresses: Address[] = [...values(router.addresses), ...overlay.addresses.values()];
  const rules: PolicyRule[] = [...values(router.rules), ...overlay.rules.values()];
  return {
    state: {
      ...router,
      links,
      routes,
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
