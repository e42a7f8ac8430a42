/**
 * The route extender's kernel state on its own node (reference/route-extender.md C8 [fix],
 * §3.7). Pure.
 *
 * VXLAN: `routervxlan0` (vxlan, VNI, dstport, lower device = the interface holding the node
 * IP, learning on, no local/remote, MTU = that interface's MTU − 50, MAC = extenderMac(uid)),
 * up; its address `<Interface-ip>/<prefix>` only once the ConfigMap holds a valid
 * assignment for this node (the Lease holder's allocation is the authority: an agent never
 * uses its own computation for its own address); FDB `00:00:00:00:00:00 dst <VTEP> self
 * permanent`; the UDP accept rule in KUBE-ROUTER-EXTENDER, jumped to from INPUT.
 * IPIP: `routertun0` (ipip, remote = tunnel endpoint, local = node IP), up, no address, and
 * rp_filter 0 on all and default (routertun0 inherits default when created). No iptables rule.
 *
 * @category render
 */
import type { HostFacts } from "../../model/host.ts";
import { EXTENDER_CHAIN, EXTENDER_IPIP, EXTENDER_JUMP_COMMENT, EXTENDER_VXLAN } from "../../model/names.ts";
import { encapOverhead, type FdbEntry } from "../../model/overlay.ts";
import { ruleText } from "../../model/iptables-rule.ts";
import type { Address, Chain, Jump, Link, Sysctl } from "../../model/rows.ts";
import { interfaceWithIp } from "../overlay-peers.ts";
import type { ExtenderSettings } from "./config.ts";
import { extenderMac } from "./nodes.ts";

/** The kernel's vxlan port when none is given (ip driver canon.ts: observed 8472 is reported as absent). */
const LINUX_VXLAN_PORT = 8472;

export interface ExtenderKernel {
  readonly links: Link[];
  readonly addresses: Address[];
  readonly fdb: FdbEntry[];
  readonly chains: Chain[];
  readonly jumps: Jump[];
  readonly sysctls: Sysctl[];
}

export const NO_KERNEL: ExtenderKernel = { links: [], addresses: [], fdb: [], chains: [], jumps: [], sysctls: [] };

/** The UDP accept rule of the extender's chain. */
export const acceptRule = (port: number): string => ruleText(["-p", "udp", "-m", "udp", "--dport", String(port), "-j", "ACCEPT"]);

/** The node's own tables; `address` is its kept overlay address (undefined: none yet). */
export function extenderKernel(s: ExtenderSettings, me: { readonly uid: string; readonly ip: string }, address: string | undefined, host: HostFacts): ExtenderKernel {
  const underlay = interfaceWithIp(host, me.ip);
  if (s.type === "IPIP") {
    const rp = (name: string): Sysctl => ({ path: `net/ipv4/conf/${name}/rp_filter`, value: "0" });
    return {
      ...NO_KERNEL,
      links: [{ name: EXTENDER_IPIP, kind: "ipip", up: true, tunnel: { local: me.ip, remote: s.tunnelEndpoint ?? "any" } }],
      // `default` before the link exists: routertun0 is created with rp_filter 0 (its own path
      // does not exist until then, and sysctls are applied before links)
      sysctls: [rp("all"), rp("default")],
    };
  }
  const link: Link = {
    name: EXTENDER_VXLAN, kind: "vxlan", up: true,
    ...(underlay !== undefined ? { mtu: underlay.mtu - encapOverhead("vxlan", "ipv4") } : {}),
    address: extenderMac(me.uid),
    // canonical as the ip driver observes it: the kernel's default port 8472 and learning on are implied
    vxlan: { id: s.vni!, ...(underlay !== undefined ? { dev: underlay.name } : {}), ...(s.port !== LINUX_VXLAN_PORT ? { port: s.port! } : {}) },
  };
  return {
    links: [link],
    addresses: address !== undefined ? [{ dev: EXTENDER_VXLAN, cidr: `${address}/${s.network!.prefix}` }] : [],
    fdb: [{ dev: EXTENDER_VXLAN, mac: "00:00:00:00:00:00", dst: s.vtep!, self: true, state: "permanent" }],
    chains: [{ family: "ipv4", table: "filter", name: EXTENDER_CHAIN, rules: [acceptRule(s.port!)] }],
    jumps: [{ family: "ipv4", table: "filter", chain: "INPUT", comment: EXTENDER_JUMP_COMMENT, rule: ruleText(["-m", "comment", "--comment", EXTENDER_JUMP_COMMENT, "-j", EXTENDER_CHAIN]), position: 1 }],
    sysctls: [],
  };
}
