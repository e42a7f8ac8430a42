/**
 * The node facts the proxy render needs, computed once per (config, host, node) and shared by
 * every service's render: this node's IP per family, its pod CIDRs, the local addresses
 * NodePorts bind to with `--nodeport-bindon-all-ip`, the addresses of `kube-router-local-ips`,
 * the node MTU (DSR TCPMSS) and the parsed service ranges. Pure; memoised on input identity,
 * so one changed endpoint does not invalidate every service's memoised render.
 *
 * @category render
 */
import type { NodeInfo } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import { canonicalCidr, canonicalIp, cidrContains, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { enabledFamilies, nodeIpOfFamily, nodeIps, nodePodCidrs } from "../node-facts.ts";

export interface ProxyContext {
  readonly config: NodeConfig;
  readonly nodeName: string;
  readonly families: readonly Family[];
  /** This node's best IP per enabled family (NodePort VIP, SNAT source, local-route src). */
  readonly nodeIp: ReadonlyMap<Family, string>;
  /** Every InternalIP/ExternalIP of the node (endpoint locality by pod hostIP). */
  readonly nodeAddrs: ReadonlySet<string>;
  /** This node's valid pod CIDRs per family. */
  readonly podCidrs: ReadonlyMap<Family, readonly string[]>;
  /** NodePort VIPs with --nodeport-bindon-all-ip: global addresses of non-dummy/kube/docker links, lo excluded. */
  readonly bindAllIps: ReadonlyMap<Family, readonly string[]>;
  /** Members of kube-router-local-ips per family: every address of non-dummy/kube/docker links. */
  readonly localIps: ReadonlyMap<Family, readonly string[]>;
  /** MTU of the link carrying the node IP (DSR TCPMSS), when known. */
  readonly nodeMtu?: number;
  /** Name of the link carrying the node IP, when known. */
  readonly nodeIface?: string;
  readonly clusterRanges: readonly string[];
  readonly externalRanges: readonly string[];
  readonly lbRanges: readonly string[];
}

/** Links upstream leaves out of local-IP lists (`dummy`, `kube`, `docker` in the name). */
export const isServiceLink = (name: string): boolean => name.includes("dummy") || name.includes("kube") || name.includes("docker");

const validCidrs = (list: readonly string[]): string[] => list.flatMap((c) => { const v = canonicalCidr(c); return v ? [v] : []; });

let memo: { key: readonly unknown[]; ctx: ProxyContext } | undefined;

/** Builds (or reuses) the context; the node must exist (the caller checks). */
export function proxyContext(config: NodeConfig, host: HostFacts, node: NodeInfo, nodeName: string): ProxyContext {
  const key = [config, host, node, nodeName];
  if (memo && memo.key.every((k, i) => k === key[i])) return memo.ctx;
  const families = enabledFamilies(config);
  const nodeIp = new Map<Family, string>();
  for (const f of families) {
    const ip = canonicalIp(nodeIpOfFamily(node, f) ?? "");
    if (ip !== undefined) nodeIp.set(f, ip);
  }
  const podCidrs = new Map<Family, string[]>(families.map((f) => [f, []]));
  for (const c of nodePodCidrs(node).cidrs) {
    const v = canonicalCidr(c);
    const f = v === undefined ? undefined : ipFamily(v.split("/")[0] ?? "");
    if (v !== undefined && f !== undefined) podCidrs.get(f)?.push(v);
  }
  const bindAllIps = new Map<Family, string[]>(families.map((f) => [f, []]));
  const localIps = new Map<Family, string[]>(families.map((f) => [f, []]));
  for (const iface of host.interfaces) {
    if (isServiceLink(iface.name)) continue;
    for (const a of iface.addrs) {
      const ip = canonicalIp(a.split("/")[0] ?? "");
      const f = ip === undefined ? undefined : ipFamily(ip);
      if (ip === undefined || f === undefined) continue;
      const local = localIps.get(f);
      if (local && !local.includes(ip)) local.push(ip);
      const bind = bindAllIps.get(f);
      if (bind && iface.name !== "lo" && !cidrContains("fe80::/10", ip) && !cidrContains("127.0.0.0/8", ip) && !bind.includes(ip)) bind.push(ip);
    }
  }
  for (const l of [...bindAllIps.values(), ...localIps.values()]) l.sort();
  const primary = nodeIp.get(families[0] ?? "ipv4");
  const nodeIface = primary === undefined ? undefined : host.interfaces.find((i) => i.addrs.some((a) => canonicalIp(a.split("/")[0] ?? "") === primary));
  const ctx: ProxyContext = {
    config, nodeName, families, nodeIp,
    nodeAddrs: new Set(nodeIps(node).flatMap((a) => { const v = canonicalIp(a); return v ? [v] : []; })),
    podCidrs, bindAllIps, localIps,
    ...(nodeIface !== undefined ? { nodeMtu: nodeIface.mtu, nodeIface: nodeIface.name } : {}),
    clusterRanges: validCidrs(config.serviceClusterIpRange),
    externalRanges: validCidrs(config.serviceExternalIpRange),
    lbRanges: validCidrs(config.loadbalancerIpRange),
  };
  memo = { key, ctx };
  return ctx;
}
