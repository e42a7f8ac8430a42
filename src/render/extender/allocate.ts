/**
 * Overlay address allocation of the route extender (reference/route-extender.md C6 [fix]) as a
 * pure function of the eligible nodes and the ConfigMap data read back. Same input ⇒ same
 * addresses; nothing is remembered between renders except what the ConfigMap holds.
 *
 * Rules, nodes in name order:
 * 1. Keep: a node's existing `Interface-<ip>` value is kept when it is an IPv4 in the pool
 *    (network+1 … broadcast−1, never EndpointIP) and no earlier node keeps the same address.
 *    An invalid, out-of-pool or duplicate value is dropped with a warning naming the key
 *    (the key is rewritten with a fresh address).
 * 2. New: every other node gets the lowest free pool address ≥ base+1.
 * 3. Exhausted: a node left without an address gets none, with a warning naming it (it then
 *    has no keys at all); never a duplicate.
 * A node that is gone holds nothing: its address is free for the next node.
 *
 * @category render
 */
import { type ExtenderNetwork, endpointIpOf, inPool, ipv4ToNumber, numberToIpv4 } from "./plan.ts";

export interface AllocNode {
  readonly name: string;
  /** canonical IPv4 node IP (the key suffix) */
  readonly ip: string;
}

export interface Allocation {
  /** node IP → overlay address (dotted), for the nodes that got one */
  readonly addresses: ReadonlyMap<string, string>;
  /** node IPs whose address was kept from the ConfigMap (valid existing assignments) */
  readonly kept: ReadonlySet<string>;
  readonly warnings: readonly string[];
}

/**
 * Allocates addresses for `nodes` (any order; sorted by name here) given the ConfigMap's
 * `data` (`where` names it in warnings, `ns/name`). Never throws.
 */
export function allocateAddresses(net: ExtenderNetwork, nodes: readonly AllocNode[], data: Readonly<Record<string, string>>, where: string): Allocation {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const held = new Set<number>();
  const addresses = new Map<string, string>();
  const kept = new Set<string>();
  const warnings: string[] = [];
  for (const n of sorted) {
    const key = `Interface-${n.ip}`;
    const v = data[key];
    if (v === undefined) continue;
    const ip = ipv4ToNumber(v);
    if (ip === undefined || !inPool(net, ip)) {
      warnings.push(`extender: ConfigMap ${where} key ${key}: ${JSON.stringify(v)} is not an address of the pool (${numberToIpv4(net.network + 1)}-${numberToIpv4(endpointIpOf(net) - 1)}); rewritten`);
      continue;
    }
    if (held.has(ip)) {
      warnings.push(`extender: ConfigMap ${where} key ${key}: ${v} is already held by another node; rewritten`);
      continue;
    }
    held.add(ip);
    addresses.set(n.ip, numberToIpv4(ip));
    kept.add(n.ip);
  }
  let next = net.network + 1;
  const last = endpointIpOf(net) - 1;
  for (const n of sorted) {
    if (addresses.has(n.ip)) continue;
    while (next <= last && held.has(next)) next++;
    if (next > last) {
      warnings.push(`extender: Node ${n.name} (${n.ip}): no free address left in ${numberToIpv4(net.network)}/${net.prefix}; no ConfigMap keys for it`);
      continue;
    }
    held.add(next);
    addresses.set(n.ip, numberToIpv4(next));
  }
  return { addresses, kept, warnings };
}
