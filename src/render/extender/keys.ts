/**
 * The route extender's ConfigMap data as rows (reference/route-extender.md §4, C1–C6, E1, E7).
 * Pure. Every agent renders the full data alike; the driver writes the "leader" rows only on
 * the Lease holder and each agent its own "self" row (its Mac- key).
 *
 * VXLAN: EndpointIP (broadcast − 1), Type VXLAN, VTEP `kube-routerkube-bridge`, and per
 * eligible node with an address: Host-<uid>, Interface-<ip>, Mac-<ip>, CNI-<ip> (when the
 * node has an IPv4 pod CIDR) and Node-<ip> only when Interface, Mac and CNI are all there.
 * IPIP (E7): EndpointIP "", Type IPIP, and per node Host-<uid> and Node-<ip> only.
 *
 * @category render
 */
import type { ConfigMapKey } from "../../model/rows.ts";
import { allocateAddresses } from "./allocate.ts";
import type { ExtenderSettings } from "./config.ts";
import { type ExtenderNode, extenderMac } from "./nodes.ts";
import { endpointIpOf, numberToIpv4 } from "./plan.ts";

/** VTEP's value: the CNI kind and interface, as upstream concatenates them (C5). */
export const EXTENDER_VTEP_VALUE = "kube-routerkube-bridge";

export interface KeysResult {
  readonly rows: readonly ConfigMapKey[];
  /** node IP → its overlay address kept from the ConfigMap (the authority for the node's own address) */
  readonly kept: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
}

/** The rows for `nodes` (eligible, name order) given the ConfigMap data read back. */
export function extenderKeys(s: ExtenderSettings, nodes: readonly ExtenderNode[], data: Readonly<Record<string, string>>, ownNode: string): KeysResult {
  const row = (key: string, value: string, writer: ConfigMapKey["writer"] = "leader"): ConfigMapKey => ({ namespace: s.namespace, name: s.name, key, value, writer });
  const rows: ConfigMapKey[] = [];
  if (s.type === "IPIP" || s.network === undefined) {
    rows.push(row("EndpointIP", ""), row("Type", "IPIP"));
    for (const n of nodes) rows.push(row(`Host-${n.uid}`, n.ip), row(`Node-${n.ip}`, n.ip));
    return { rows, kept: new Map(), warnings: [] };
  }
  const alloc = allocateAddresses(s.network, nodes, data, `${s.namespace}/${s.name}`);
  rows.push(row("EndpointIP", numberToIpv4(endpointIpOf(s.network))), row("Type", "VXLAN"), row("VTEP", EXTENDER_VTEP_VALUE));
  const kept = new Map<string, string>();
  for (const n of nodes) {
    const addr = alloc.addresses.get(n.ip);
    if (addr === undefined) continue;
    if (alloc.kept.has(n.ip)) kept.set(n.ip, addr);
    rows.push(row(`Host-${n.uid}`, n.ip), row(`Interface-${n.ip}`, addr), row(`Mac-${n.ip}`, extenderMac(n.uid), n.name === ownNode ? "self" : "leader"));
    if (n.cni !== undefined) rows.push(row(`CNI-${n.ip}`, n.cni), row(`Node-${n.ip}`, n.ip));
  }
  return { rows, kept, warnings: alloc.warnings };
}
