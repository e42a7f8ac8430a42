/**
 * Per-object memos of the BGP render: the facts of a Node and the VIP host prefixes of a
 * Service, cached by object identity (sources keep an unchanged object's identity, so a sync
 * re-parses only what changed). Pure: a cached value is exactly what the function computes
 * for that object; the caches hold objects weakly.
 *
 * @category render
 */
import type { NodeInfo, ServiceInfo } from "../../model/cluster.ts";
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { primaryNodeIp } from "../node-facts.ts";
import { clusterId, NODE_ANNOTATION, nodeAsn } from "./node.ts";

/** What other nodes' renders need of a node (annotations read quietly: its own agent reports them). */
export interface PeerNodeFacts {
  /** Canonical primary IP and its family, when the node has a usable one. */
  readonly primaryIp?: string;
  readonly primaryFamily?: Family;
  /** Families the node has an InternalIP/ExternalIP of. */
  readonly families: ReadonlySet<Family>;
  readonly asn?: number;
  readonly rrServer?: string;
  readonly rrClient?: string;
}

const nodeMemo = new WeakMap<NodeInfo, PeerNodeFacts>();
const quiet = (): void => undefined;

/** The node's facts (memoised on the object). */
export function peerNodeFacts(node: NodeInfo): PeerNodeFacts {
  const hit = nodeMemo.get(node);
  if (hit) return hit;
  const primaryIp = canonicalIp(primaryNodeIp(node) ?? "");
  const primaryFamily = primaryIp === undefined ? undefined : ipFamily(primaryIp);
  const families = new Set<Family>();
  for (const a of node.addresses) {
    if (a.type !== "InternalIP" && a.type !== "ExternalIP") continue;
    const f = ipFamily(a.address);
    if (f !== undefined) families.add(f);
  }
  const asn = node.annotations[NODE_ANNOTATION.asn] === undefined ? undefined : nodeAsn(node, quiet);
  const rrServer = node.annotations[NODE_ANNOTATION.rrServer] === undefined ? undefined : clusterId(node, NODE_ANNOTATION.rrServer, quiet);
  const rrClient = node.annotations[NODE_ANNOTATION.rrClient] === undefined ? undefined : clusterId(node, NODE_ANNOTATION.rrClient, quiet);
  const facts: PeerNodeFacts = {
    families,
    ...(primaryIp !== undefined && primaryFamily !== undefined ? { primaryIp, primaryFamily } : {}),
    ...(asn !== undefined ? { asn } : {}),
    ...(rrServer !== undefined ? { rrServer } : {}),
    ...(rrClient !== undefined ? { rrClient } : {}),
  };
  nodeMemo.set(node, facts);
  return facts;
}

const vipMemo = new WeakMap<ServiceInfo, readonly (readonly [Family, string])[]>();

/** Every cluster, external and LB ingress IP of the Service as `[family, ip/32|/128]` (memoised). */
export function serviceVipPrefixes(s: ServiceInfo): readonly (readonly [Family, string])[] {
  const hit = vipMemo.get(s);
  if (hit) return hit;
  const out: [Family, string][] = [];
  for (const text of [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIngress.flatMap((i) => (i.ip !== undefined ? [i.ip] : []))]) {
    const ip = canonicalIp(text);
    const f = ip === undefined ? undefined : ipFamily(ip);
    if (ip !== undefined && f !== undefined) out.push([f, `${ip}/${f === "ipv6" ? 128 : 32}`]);
  }
  vipMemo.set(s, out);
  return out;
}
