/**
 * The router's overlay (`--enable-overlay`, `--overlay-type`, `--overlay-encap`,
 * `--overlay-encap-port`, `--overlay-vni`): pure render of everything that carries pod
 * traffic to peer nodes that are not reached directly (kube-router-features.md §5.1 step 5,
 * §5.5; issue 11). Same input, identical output: peers are visited in name order, every
 * table is a sorted table, names and MACs are hashes of node identity.
 *
 * - type `subnet`: peers whose node IP (per family) is on no subnet of this host's
 *   underlay interfaces; `full`: every peer. Peers reached directly keep the router's
 *   `via <node IP>` route; `overlayPeers` lists the ones this renderer covers so the router
 *   drops its direct route for them (one route per key, never two writers).
 * - encap `ipip` / `fou`: overlay-tunnels.ts; `vxlan`: overlay-vxlan.ts.
 * - every encap: `ip rule from <own pod CIDR> lookup 77` (priority 32765, as the kernel
 *   numbers upstream's priority-less rule) while the overlay is enabled, so pods reach peer
 *   node IPs through the overlay (table 77 holds one route per overlay peer).
 * - `--auto-mtu`: `podMtu` = underlay MTU − the largest overhead of the families in use
 *   (model/overlay.ts overlayMtu) for kube-bridge and the CNI config while at least one peer
 *   is reached through the overlay (a one-subnet cluster keeps the underlay MTU, as
 *   upstream, which never subtracts since #1033), and the same on the tunnel / vxlan links.
 *
 * Failure modes: an unknown type or encap, a port or VNI out of range ⇒ `error` (one line
 * naming the flag; nothing rendered). Per peer, never fatal, one warning naming the node:
 * the overlay is off and the peer is on another subnet (no route: underlay routing
 * expected); this node or the peer has no IP of a family both have pod CIDRs in; two peers
 * claim one tunnel name or VTEP (the first by name wins, the other is skipped).
 *
 * @category render
 */
import type { ClusterSnapshot } from "../model/cluster.ts";
import type { NodeConfig } from "../model/config.ts";
import type { HostFacts } from "../model/host.ts";
import { FOU_DEFAULT_PORT, OVERLAY_DEFAULT_VNI, OVERLAY_RULE_PRIORITY, OVERLAY_TABLE, VXLAN_IANA_PORT } from "../model/names.ts";
import {
  type FdbEntry, type FouPort, type Neighbor, type OverlayEncap, type OverlayLink, type OverlayRoute,
  overlayMtu, vtepAddress,
} from "../model/overlay.ts";
import { type Address, type Family, type PolicyRule, addressKey, linkKey, policyRuleKey, routeKey } from "../model/state.ts";
import { ChunkedTable } from "../model/chunked-table.ts";
import { type Table, sortedTable } from "../model/table.ts";
import { enabledFamilies } from "./node-facts.ts";
import { type PeerContext, overlayPeerStep } from "./overlay-peer.ts";
import { interfaceWithIp, nodeFamilyFacts, underlaySubnets } from "./overlay-peers.ts";
import { vxlanDeviceState } from "./overlay-vxlan.ts";

/** The config the overlay reads (`overlayVni`: NodeConfig's `--overlay-vni`; absent = 1). */
export type OverlayConfig = Pick<NodeConfig,
  "enableIpv4" | "enableIpv6" | "enableOverlay" | "overlayType" | "overlayEncap" | "overlayEncapPort" | "autoMtu"> &
  Partial<Pick<NodeConfig, "overlayVni">>;

export interface OverlayInput {
  readonly snapshot: ClusterSnapshot;
  readonly config: OverlayConfig;
  readonly host: HostFacts;
  readonly nodeName: string;
}

export type { FouPort } from "../model/overlay.ts";

export interface OverlayOutput {
  readonly links: Table<OverlayLink>;
  readonly addresses: Table<Address>;
  readonly routes: Table<OverlayRoute>;
  readonly rules: Table<PolicyRule>;
  readonly fdb: Table<FdbEntry>;
  readonly neighbors: Table<Neighbor>;
  readonly fouPorts: readonly FouPort[];
  /** `family/node` of every peer whose pod CIDRs this renderer routes (the router must not). */
  readonly overlayPeers: ReadonlySet<string>;
  /** MTU for kube-bridge and the CNI config (`--auto-mtu` with the overlay on), else absent. */
  readonly podMtu?: number;
  readonly warnings: readonly string[];
}

export type OverlayResult = { readonly ok: OverlayOutput } | { readonly error: string };

/** The UDP port in use: `--overlay-encap-port`, where 0 means the encap's default (fou 5555, vxlan 4789). */
export function encapPort(encap: OverlayEncap, configured: number): number {
  if (configured !== 0) return configured;
  return encap === "vxlan" ? VXLAN_IANA_PORT : FOU_DEFAULT_PORT;
}

/** One-line error naming the flag, or undefined when the overlay flags are usable. */
export function checkOverlayConfig(c: OverlayConfig): string | undefined {
  if (c.overlayType !== "subnet" && c.overlayType !== "full") return `--overlay-type: "${c.overlayType}" is not subnet or full`;
  if (c.overlayEncap !== "ipip" && c.overlayEncap !== "fou" && c.overlayEncap !== "vxlan") return `--overlay-encap: "${c.overlayEncap}" is not ipip, fou or vxlan`;
  const p = c.overlayEncapPort;
  if (!Number.isInteger(p) || (p !== 0 && (p < 1024 || p > 65535))) return `--overlay-encap-port: ${p} is out of range (1024-65535, or 0 for the encap's default)`;
  const vni = c.overlayVni ?? OVERLAY_DEFAULT_VNI;
  if (!Number.isInteger(vni) || vni < 1 || vni > 16777215) return `--overlay-vni: ${vni} is out of range (1-16777215)`;
  return undefined;
}

/** Renders the overlay of node `nodeName`. Pure. */
export function renderOverlay(input: OverlayInput): OverlayResult {
  const { snapshot, config, host, nodeName } = input;
  const bad = checkOverlayConfig(config);
  if (bad !== undefined) return { error: bad };
  const self = snapshot.nodes.get(nodeName);
  if (self === undefined) return { error: `overlay: Node ${nodeName} not found in the cluster` };
  const encap = config.overlayEncap as OverlayEncap;
  const port = encapPort(encap, config.overlayEncapPort);
  const vni = config.overlayVni ?? OVERLAY_DEFAULT_VNI;
  const warnings: string[] = [];
  const subnets = underlaySubnets(host);
  const peers = [...snapshot.nodes.values()].filter((n) => n.name !== nodeName).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const subnetsKey = JSON.stringify(subnets);
  const deviceLinks: [Family, OverlayLink][] = [];
  const addresses: Address[] = [];
  const rules: PolicyRule[] = [];
  const fouPorts: FouPort[] = [];
  // per peer: chunk maps from overlay-peer.ts, reused by identity while the peer is unchanged
  const linkChunks: [string, ReadonlyMap<string, OverlayLink>][] = [];
  const routeChunks: [string, ReadonlyMap<string, OverlayRoute>][] = [];
  const fdbChunks: [string, ReadonlyMap<string, FdbEntry>][] = [];
  const neighborChunks: [string, ReadonlyMap<string, Neighbor>][] = [];
  const overlayPeers = new Set<string>();
  const familiesInUse: Family[] = [];
  const claimedBy = new Map<string, string>();
  /** True when `key` is free (then it is taken by `node`); warns when another node holds it. */
  const claim = (key: string, what: string, node: string): boolean => {
    const holder = claimedBy.get(key);
    if (holder === undefined) { claimedBy.set(key, node); return true; }
    warnings.push(`overlay: Node ${node}: ${what} already used by Node ${holder}; no overlay route to its pods`);
    return false;
  };
  /** Claims every route key of a peer, or none (warning about the first taken one). */
  const claimRoutes = (rs: readonly OverlayRoute[], keys: readonly string[], node: string): boolean => {
    for (let i = 0; i < keys.length; i++) if (claimedBy.has(keys[i]!)) return claim(keys[i]!, `route ${rs[i]!.dst} (table ${rs[i]!.table})`, node);
    for (const k of keys) claimedBy.set(k, node);
    return true;
  };
  /** Claims the peer's keys in order; false at the first one taken (warned about). */
  const claimAll = (claims: readonly (readonly [string, string])[], node: string): boolean => {
    for (const [key, what] of claims) if (!claim(key, what, node)) return false;
    return true;
  };

  for (const family of enabledFamilies(config)) {
    const me = nodeFamilyFacts(self, family);
    const underlay = me.ip === undefined ? undefined : interfaceWithIp(host, me.ip);
    const active = config.enableOverlay && me.ip !== undefined && me.cidrs.length > 0;
    if (active) familiesInUse.push(family);
    const linkMtu = config.autoMtu && underlay !== undefined ? overlayMtu(underlay.mtu, encap, [family]) : undefined;
    const myVtep = me.cidrs[0] === undefined ? undefined : vtepAddress(me.cidrs[0]);
    if (active && me.ip !== undefined && myVtep !== undefined) {
      for (const c of me.cidrs) rules.push({ family, priority: OVERLAY_RULE_PRIORITY, selector: `from ${c}`, table: OVERLAY_TABLE });
      if (encap === "vxlan") {
        const dev = vxlanDeviceState({
          family, nodeName, localIp: me.ip, vni, port, vtep: myVtep,
          ...(underlay !== undefined ? { underlayDev: underlay.name } : {}), ...(linkMtu !== undefined ? { mtu: linkMtu } : {}),
        });
        deviceLinks.push([family, dev.link]);
        if (dev.address !== undefined) addresses.push(dev.address);
        claim(`vtep/${myVtep}`, `VTEP ${myVtep}`, nodeName);
      }
      if (encap === "fou") fouPorts.push({ family, port });
    }
    const ctx: PeerContext = {
      family, encap, port, enableOverlay: config.enableOverlay, overlayType: config.overlayType, subnets, me, myVtep, linkMtu,
      key: [family, encap, port, config.enableOverlay, config.overlayType, subnetsKey, me.ip ?? "", me.cidrs.length, myVtep ?? "", linkMtu ?? ""].join("|"),
    };
    for (const peer of peers) {
      const step = overlayPeerStep(peer, ctx);
      if (step.skip) {
        if (step.warning !== undefined) warnings.push(step.warning);
        continue;
      }
      const r = step.reach;
      if (!claimAll(r.claims, peer.name) || !claimRoutes(r.routes, r.routeClaims, peer.name)) continue;
      const group = `${family}/${peer.name}`;
      linkChunks.push([group, r.linkChunk]);
      routeChunks.push([group, r.routeChunk]);
      fdbChunks.push([group, r.fdbChunk]);
      neighborChunks.push([group, r.neighborChunk]);
      overlayPeers.add(group);
    }
  }
  // The underlay MTU is the MTU of the interface carrying our first in-use family's node IP.
  const firstIp = familiesInUse.length === 0 ? undefined : nodeFamilyFacts(self, familiesInUse[0] as Family).ip;
  const underlayMtu = firstIp === undefined ? undefined : interfaceWithIp(host, firstIp)?.mtu;
  // Only while some peer is reached through the overlay: a one-subnet cluster with the
  // default `--enable-overlay=true --overlay-type=subnet` keeps the underlay MTU, as upstream.
  const podMtu = config.autoMtu && underlayMtu !== undefined && overlayPeers.size > 0 ? overlayMtu(underlayMtu, encap, familiesInUse) : undefined;
  return {
    ok: {
      // the devices' chunk `ipv4`/`ipv6` sorts before their family's peers (`ipv4/<node>`)
      links: new ChunkedTable([...deviceLinks.map(([family, l]) => [family, new Map([[linkKey(l), l]])] as const), ...linkChunks]),
      addresses: sortedTable(addresses.map((a) => [addressKey(a), a])),
      routes: new ChunkedTable(routeChunks),
      rules: sortedTable(rules.map((r) => [policyRuleKey(r), r])),
      fdb: new ChunkedTable(fdbChunks),
      neighbors: new ChunkedTable(neighborChunks),
      fouPorts,
      overlayPeers,
      ...(podMtu !== undefined ? { podMtu } : {}),
      warnings,
    },
  };
}
