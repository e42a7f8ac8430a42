/**
 * Which nodes the route extender serves (reference/route-extender.md C4, C7 [fix]), and the
 * per-node facts it publishes. Pure.
 *
 * Eligible: no taint whose key is in the skip list, and an IPv4 node IP (the address
 * kube-router itself uses: first InternalIP, else ExternalIP, of IPv4). Two nodes with the
 * same IP: the first by name keeps it, the other is skipped with a warning.
 *
 * @category render
 */
import { createHash } from "node:crypto";
import type { NodeInfo } from "../../model/cluster.ts";
import { canonicalIp, parseCidr } from "../../model/ip.ts";
import { nodeIpOfFamily, nodePodCidrs } from "../node-facts.ts";
import { ipv4ToNumber, numberToIpv4 } from "./plan.ts";

export interface ExtenderNode {
  readonly name: string;
  readonly uid: string;
  /** canonical IPv4 node IP */
  readonly ip: string;
  /** `CNI-<ip>`: first host of the IPv4 pod CIDR + `/len` (C5), when the node has one */
  readonly cni?: string;
}

/** The eligible nodes in name order, and one warning per node skipped for a clash. */
export function eligibleNodes(nodes: Iterable<NodeInfo>, skipTaints: ReadonlySet<string>): { nodes: ExtenderNode[]; warnings: string[] } {
  const out: ExtenderNode[] = [];
  const warnings: string[] = [];
  const byIp = new Map<string, string>();
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of sorted) {
    if ((n.taints ?? []).some((t) => skipTaints.has(t.key))) continue;
    const raw = nodeIpOfFamily(n, "ipv4");
    const ip = raw === undefined ? undefined : canonicalIp(raw);
    if (ip === undefined) continue;
    const other = byIp.get(ip);
    if (other !== undefined) { warnings.push(`extender: Node ${n.name}: node IP ${ip} is also Node ${other}'s; skipped`); continue; }
    byIp.set(ip, n.name);
    const cni = cniValue(n);
    out.push({ name: n.name, uid: n.uid, ip, ...(cni !== undefined ? { cni } : {}) });
  }
  return { nodes: out, warnings };
}

/** True when `node` is served (same rule as eligibleNodes, without the IP clash check). */
export function isEligible(node: NodeInfo, skipTaints: ReadonlySet<string>): boolean {
  return !(node.taints ?? []).some((t) => skipTaints.has(t.key)) && nodeIpOfFamily(node, "ipv4") !== undefined;
}

/** First host address of the node's first IPv4 pod CIDR with its prefix (`10.244.1.0/24` → `10.244.1.1/24`). */
export function cniValue(node: NodeInfo): string | undefined {
  for (const c of nodePodCidrs(node).cidrs) {
    const p = parseCidr(c);
    if (p === undefined || p.family !== "ipv4" || p.prefix > 30) continue;
    const base = ipv4ToNumber(c.split("/")[0]!);
    if (base === undefined) continue;
    const mask = p.prefix === 0 ? 0 : (0xffffffff << (32 - p.prefix)) >>> 0;
    return `${numberToIpv4(((base & mask) >>> 0) + 1)}/${p.prefix}`;
  }
  return undefined;
}

/**
 * The MAC of a node's routervxlan0: SHA-256 of `kube-router route-extender <node uid>`, first 6
 * bytes, locally administered, unicast. Derived from metadata.uid (C3 [fix]) so it survives
 * agent restarts and a re-created device; distinct from the overlay's vtepMac (another text
 * is hashed), so the two devices of one node never share a MAC.
 */
export function extenderMac(uid: string): string {
  const b = [...createHash("sha256").update(`kube-router route-extender ${uid}`).digest().subarray(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}
