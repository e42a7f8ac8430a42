/**
 * The BGP facts of one node from its annotations (kube-router-features.md §2.2): ASN, route
 * reflector role, communities, AS-path prepend, custom import rejects, BGP listen addresses.
 * Pure; never throws: an unusable value is reported through `warn` as one line naming the
 * node and the annotation, and treated as absent.
 *
 * @category render
 */
import type { NodeInfo } from "../../model/cluster.ts";
import { canonicalCidr, canonicalIp, cidrFamily, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { commaList, isNodeAsn, parseClusterId, parseCommunity, parseUint, UINT32_MAX } from "./parse.ts";

export const NODE_ANNOTATION = {
  asn: "kube-router.io/node.asn",
  rrServer: "kube-router.io/rr.server",
  rrClient: "kube-router.io/rr.client",
  peers: "kube-router.io/peers",
  peerIps: "kube-router.io/peer.ips",
  peerAsns: "kube-router.io/peer.asns",
  peerPasswords: "kube-router.io/peer.passwords",
  peerLocalIps: "kube-router.io/peer.localips",
  peerPorts: "kube-router.io/peer.ports",
  prependAs: "kube-router.io/path-prepend.as",
  prependRepeat: "kube-router.io/path-prepend.repeat-n",
  communities: "kube-router.io/node.bgp.communities",
  customImportReject: "kube-router.io/node.bgp.customimportreject",
  localAddresses: "kube-router.io/bgp-local-addresses",
} as const;

export type Warn = (line: string) => void;

/** `Node <name>: metadata.annotations[<key>]: ` — the prefix of every annotation warning. */
export const where = (node: Pick<NodeInfo, "name">, key: string): string => `Node ${node.name}: metadata.annotations[${key}]`;

/** `kube-router.io/node.asn`, when present and usable (a non-reserved uint32, Go base 0). */
export function nodeAsn(node: NodeInfo, warn: Warn): number | undefined {
  const text = node.annotations[NODE_ANNOTATION.asn];
  if (text === undefined) return undefined;
  const asn = parseUint(text, UINT32_MAX, true);
  if (asn === undefined || !isNodeAsn(asn)) {
    warn(`${where(node, NODE_ANNOTATION.asn)}: ${JSON.stringify(text)} is not a usable ASN (1-4294967294, not reserved); ignored`);
    return undefined;
  }
  return asn;
}

/** The node's cluster ID from `rr.server` or `rr.client` (IPv4 form), when present and valid. */
export function clusterId(node: NodeInfo, key: typeof NODE_ANNOTATION.rrServer | typeof NODE_ANNOTATION.rrClient, warn: Warn): string | undefined {
  const text = node.annotations[key];
  if (text === undefined) return undefined;
  const id = parseClusterId(text);
  if (id === undefined) warn(`${where(node, key)}: ${JSON.stringify(text)} is not a cluster ID (uint32 or IPv4 address); ignored`);
  return id;
}

/** Node communities (`a:b` form, deduplicated, in annotation order); bad items skipped. */
export function nodeCommunities(node: NodeInfo, warn: Warn): string[] {
  const text = node.annotations[NODE_ANNOTATION.communities];
  if (text === undefined) return [];
  const out: string[] = [];
  for (const item of commaList(text)) {
    const c = parseCommunity(item);
    if (c === undefined) warn(`${where(node, NODE_ANNOTATION.communities)}: ${JSON.stringify(item)} is not a BGP community (uint32, a:b or a well-known name); skipped`);
    else if (!out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * AS-path prepend: both annotations or neither. One alone, an unusable ASN or a repeat count
 * outside 1..255 ⇒ a warning and no prepend (upstream refuses to start BGP).
 */
export function pathPrepend(node: NodeInfo, warn: Warn): { asn: number; repeat: number } | undefined {
  const asText = node.annotations[NODE_ANNOTATION.prependAs];
  const nText = node.annotations[NODE_ANNOTATION.prependRepeat];
  if (asText === undefined && nText === undefined) return undefined;
  if (asText === undefined || nText === undefined) {
    const [has, lacks] = asText === undefined ? [NODE_ANNOTATION.prependRepeat, NODE_ANNOTATION.prependAs] : [NODE_ANNOTATION.prependAs, NODE_ANNOTATION.prependRepeat];
    warn(`${where(node, has)}: set without ${lacks}; no AS-path prepend`);
    return undefined;
  }
  const asn = parseUint(asText, UINT32_MAX);
  if (asn === undefined || !isNodeAsn(asn)) {
    warn(`${where(node, NODE_ANNOTATION.prependAs)}: ${JSON.stringify(asText)} is not a usable ASN; no AS-path prepend`);
    return undefined;
  }
  const repeat = parseUint(nText, 255);
  if (repeat === undefined || repeat < 1) {
    warn(`${where(node, NODE_ANNOTATION.prependRepeat)}: ${JSON.stringify(nText)} is not a repeat count in 1-255; no AS-path prepend`);
    return undefined;
  }
  return { asn, repeat };
}

/** Custom import rejects per family (canonical network CIDRs, deduplicated); bad items skipped. */
export function customImportRejects(node: NodeInfo, families: readonly Family[], warn: Warn): Map<Family, string[]> {
  const out = new Map<Family, string[]>(families.map((f) => [f, []]));
  const text = node.annotations[NODE_ANNOTATION.customImportReject];
  if (text === undefined) return out;
  for (const item of commaList(text)) {
    const c = networkCidr(item);
    const f = c === undefined ? undefined : cidrFamily(c);
    if (c === undefined || f === undefined) { warn(`${where(node, NODE_ANNOTATION.customImportReject)}: ${JSON.stringify(item)} is not a CIDR; skipped`); continue; }
    const list = out.get(f);
    if (list === undefined) continue; // family not enabled
    if (!list.includes(c)) list.push(c);
  }
  return out;
}

/**
 * `kube-router.io/bgp-local-addresses`: canonical addresses of enabled families, deduplicated;
 * undefined when the annotation is absent (the caller uses the node's best IP per family).
 */
export function localAddresses(node: NodeInfo, families: readonly Family[], warn: Warn): string[] | undefined {
  const text = node.annotations[NODE_ANNOTATION.localAddresses];
  if (text === undefined) return undefined;
  const out: string[] = [];
  for (const item of commaList(text)) {
    const ip = canonicalIp(item);
    const f = ip === undefined ? undefined : ipFamily(ip);
    if (ip === undefined || f === undefined) { warn(`${where(node, NODE_ANNOTATION.localAddresses)}: ${JSON.stringify(item)} is not an IP address; skipped`); continue; }
    if (!families.includes(f)) { warn(`${where(node, NODE_ANNOTATION.localAddresses)}: ${ip} is ${f} and ${f} is not enabled; skipped`); continue; }
    if (!out.includes(ip)) out.push(ip);
  }
  return out;
}

/** A CIDR with host bits cleared (`10.1.2.3/16` → `10.1.0.0/16`); undefined when invalid. */
export function networkCidr(text: string): string | undefined {
  return canonicalCidr(text.trim());
}
