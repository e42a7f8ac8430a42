/**
 * Node identity facts, as upstream kube-router derives them (kube-router-features.md §0):
 * primary node IP (first InternalIP, else first ExternalIP), the best address per family,
 * and pod CIDRs with the annotation override. Pure.
 *
 * @category render
 */
import type { NodeInfo } from "../model/cluster.ts";
import type { Family } from "../model/state.ts";
import { ipFamily } from "../model/ip.ts";

export const ANNOTATION_POD_CIDR = "kube-router.io/pod-cidr";
export const ANNOTATION_POD_CIDRS = "kube-router.io/pod-cidrs";

/** The primary IP: first InternalIP, else first ExternalIP; undefined when the node has neither. */
export function primaryNodeIp(node: NodeInfo): string | undefined {
  return (node.addresses.find((a) => a.type === "InternalIP") ?? node.addresses.find((a) => a.type === "ExternalIP"))?.address;
}

/**
 * The node's best address of a family: the primary IP if of that family, else the first
 * InternalIP of the family, else the first ExternalIP of the family.
 */
export function nodeIpOfFamily(node: NodeInfo, family: Family): string | undefined {
  const primary = primaryNodeIp(node);
  if (primary !== undefined && ipFamily(primary) === family) return primary;
  const of = (type: string) => node.addresses.find((a) => a.type === type && ipFamily(a.address) === family)?.address;
  return of("InternalIP") ?? of("ExternalIP");
}

/** Every InternalIP and ExternalIP of the node (deduplicated, in order). */
export function nodeIps(node: NodeInfo): string[] {
  return [...new Set(node.addresses.filter((a) => a.type === "InternalIP" || a.type === "ExternalIP").map((a) => a.address))];
}

/**
 * The node's pod CIDRs, in precedence order: annotation `kube-router.io/pod-cidrs` (comma
 * list), else annotation `kube-router.io/pod-cidr`, else `spec.podCIDRs`, else `spec.podCIDR`.
 * Returns the source field alongside, so errors can name it. Values are not validated here.
 */
export function nodePodCidrs(node: NodeInfo): { cidrs: string[]; field: string } {
  const list = node.annotations[ANNOTATION_POD_CIDRS];
  if (list !== undefined && list.trim() !== "") {
    return { cidrs: list.split(",").map((s) => s.trim()).filter((s) => s !== ""), field: `metadata.annotations[${ANNOTATION_POD_CIDRS}]` };
  }
  const single = node.annotations[ANNOTATION_POD_CIDR];
  if (single !== undefined && single.trim() !== "") return { cidrs: [single.trim()], field: `metadata.annotations[${ANNOTATION_POD_CIDR}]` };
  if (node.podCIDRs.length > 0) return { cidrs: [...node.podCIDRs], field: "spec.podCIDRs" };
  if (node.podCIDR !== undefined && node.podCIDR !== "") return { cidrs: [node.podCIDR], field: "spec.podCIDR" };
  return { cidrs: [], field: "spec.podCIDR" };
}

/** The families enabled by the config, in order ipv4, ipv6. */
export function enabledFamilies(cfg: { readonly enableIpv4: boolean; readonly enableIpv6: boolean }): Family[] {
  return [...(cfg.enableIpv4 ? (["ipv4"] as const) : []), ...(cfg.enableIpv6 ? (["ipv6"] as const) : [])];
}
