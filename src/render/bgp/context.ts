/**
 * What every part of the BGP render needs about this node, computed once: enabled families,
 * primary IP, best IP per family, our ASN, route-reflector role, graceful-restart settings.
 * Pure; `bgpContext` returns an error line instead when BGP cannot run on this node at all
 * (node unknown, no node IP, no ASN with `--nodes-full-mesh=false`).
 *
 * @category render
 */
import type { ClusterSnapshot, NodeInfo } from "../../model/cluster.ts";
import { effectiveClusterAsn, type NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import type { BgpGracefulRestart, BgpHostFacts } from "../../model/bgp.ts";
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { enabledFamilies, nodeIpOfFamily, primaryNodeIp } from "../node-facts.ts";
import { clusterId, NODE_ANNOTATION, nodeAsn, type Warn, where } from "./node.ts";

export interface BgpContext {
  readonly config: NodeConfig;
  readonly host: HostFacts & BgpHostFacts;
  readonly snapshot: ClusterSnapshot;
  readonly nodeName: string;
  readonly self: NodeInfo;
  readonly families: readonly Family[];
  /** Canonical primary IP (first InternalIP, else ExternalIP). */
  readonly primaryIp: string;
  readonly primaryFamily: Family;
  /** Best IP per enabled family that the node has (canonical). */
  readonly nodeIp: ReadonlyMap<Family, string>;
  readonly asn: number;
  /** Our cluster ID when we are a route-reflector server / client. */
  readonly rrServer?: string;
  readonly rrClient?: string;
  /** Set on the global config and every peer with `--bgp-graceful-restart`. */
  readonly gracefulRestart?: BgpGracefulRestart;
  readonly warn: Warn;
}

/** Builds the context, or says why BGP cannot be rendered for this node. */
export function bgpContext(
  input: { readonly snapshot: ClusterSnapshot; readonly config: NodeConfig; readonly host: HostFacts & BgpHostFacts; readonly nodeName: string },
  warn: Warn,
): BgpContext | { readonly error: string } {
  const { snapshot, config, host, nodeName } = input;
  const self = snapshot.nodes.get(nodeName);
  if (self === undefined) return { error: `bgp: Node ${nodeName} not found in the cluster` };
  const primaryIp = canonicalIp(primaryNodeIp(self) ?? "");
  const primaryFamily = primaryIp === undefined ? undefined : ipFamily(primaryIp);
  if (primaryIp === undefined || primaryFamily === undefined) return { error: `bgp: Node ${nodeName}: status.addresses: no usable InternalIP or ExternalIP` };
  const families = enabledFamilies(config);
  const nodeIp = new Map<Family, string>();
  for (const f of families) {
    const ip = canonicalIp(nodeIpOfFamily(self, f) ?? "");
    if (ip !== undefined) nodeIp.set(f, ip);
  }
  let asn = effectiveClusterAsn(config);
  if (!config.nodesFullMesh) {
    const own = nodeAsn(self, warn);
    if (own === undefined) return { error: `bgp: ${where(self, NODE_ANNOTATION.asn)}: a usable ASN is required with --nodes-full-mesh=false; BGP not configured` };
    asn = own;
  }
  const rrServer = clusterId(self, NODE_ANNOTATION.rrServer, warn);
  const rrClient = rrServer === undefined ? clusterId(self, NODE_ANNOTATION.rrClient, warn) : undefined;
  if (rrServer !== undefined && self.annotations[NODE_ANNOTATION.rrClient] !== undefined) {
    warn(`${where(self, NODE_ANNOTATION.rrClient)}: ignored, the node is a route-reflector server (${NODE_ANNOTATION.rrServer})`);
  }
  const gracefulRestart: BgpGracefulRestart | undefined = config.bgpGracefulRestart
    ? { restartTime: Math.floor(config.bgpGracefulRestartTime / 1000), deferralTime: Math.floor(config.bgpGracefulRestartDeferralTime / 1000), localRestarting: true }
    : undefined;
  return {
    config, host, snapshot, nodeName, self, families, primaryIp, primaryFamily, nodeIp, asn, warn,
    ...(rrServer !== undefined ? { rrServer } : {}),
    ...(rrClient !== undefined ? { rrClient } : {}),
    ...(gracefulRestart !== undefined ? { gracefulRestart } : {}),
  };
}
