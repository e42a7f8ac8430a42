/**
 * The router controller (`--run-router`; BGP comes later), as upstream's routing controller
 * sets a node up (kube-router-features.md §5.1):
 * kube-bridge, the bridge CNI config, a route to every other node's pod CIDR when that node
 * is on a directly connected subnet, the overlay (render/overlay.ts: tunnels or kube-vxlan,
 * their FDB and neighbour entries, table-77 routes and rules) for the others — or, with
 * `--enable-overlay=false`, a warning naming each peer on another subnet that gets no route —
 * the node ipsets, pod egress MASQUERADE, the FORWARD accepts and the sysctls they need.
 * `--auto-mtu` with the overlay on gives kube-bridge and the CNI config the underlay MTU minus
 * the encapsulation overhead. IPv4 and IPv6 (each family when enabled). Pure.
 *
 * @category render
 */
import { ChunkedTable } from "../model/chunked-table.ts";
import { COMMENT, IPSET, KUBE_BRIDGE, KUBE_DUMMY_IF, ipsetName } from "../model/names.ts";
import { ruleText } from "../model/iptables-rule.ts";
import {
  type Family, type Ipset, type Jump, type Link, type ManagedFile, type NodeState, type Route, type Sysctl,
  fileKey, ipsetKey, jumpKey, linkKey, routeKey, sysctlKey,
} from "../model/state.ts";
import { sortedTable } from "../model/table.ts";
import { renderCniConfig } from "./cni.ts";
import { renderOverlay } from "./overlay.ts";
import { mergeOverlay } from "./overlay-merge.ts";
import { interfaceWithIp, underlaySubnets } from "./overlay-peers.ts";
import { type RouterNodeStep, podCidrsByFamily, routerNodeContexts, routerNodeStep, uniqueRouteChunks } from "./router-node.ts";
import type { Controller, ControllerResult, RenderInput } from "./controller.ts";
import { enabledFamilies, nodePodCidrs, primaryNodeIp } from "./node-facts.ts";


/** The router controller. */
export const routerController: Controller = {
  name: "router",
  enabled: (cfg) => cfg.runRouter,
  render: renderRouter,
};

function renderRouter(input: RenderInput): ControllerResult {
  const { snapshot, config, host, nodeName } = input;
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const families = enabledFamilies(config);
  const self = snapshot.nodes.get(nodeName);
  if (self === undefined) return { error: `router: Node ${nodeName} not found in the cluster`, warnings };
  const primary = primaryNodeIp(self);
  if (primary === undefined) return { error: `router: Node ${nodeName}: status.addresses: host IP unknown (no InternalIP or ExternalIP)`, warnings };
  const ownCidrs = podCidrsByFamily(self, families, warn);
  const allOwn = families.flatMap((f) => ownCidrs.get(f) ?? []);
  if (allOwn.length === 0) {
    return { error: `router: Node ${nodeName}: ${nodePodCidrs(self).field}: no pod CIDR (set spec.podCIDR(s) or annotation kube-router.io/pod-cidr(s))`, warnings };
  }
  const nodeIface = interfaceWithIp(host, primary);
  if (nodeIface === undefined) warn(`router: no interface on this host carries the node IP ${primary}; MTU and the node-interface FORWARD accept are skipped`);
  const overlay = renderOverlay({ snapshot, config, host, nodeName });
  if ("error" in overlay) return { error: overlay.error, warnings };
  // the overlay's pod MTU (underlay minus encapsulation) when it is on; else the underlay's
  const mtu = config.autoMtu ? (overlay.ok.podMtu ?? nodeIface?.mtu) : undefined;
  const subnets = underlaySubnets(host);

  const links: Link[] = [{ name: KUBE_BRIDGE, kind: "bridge", up: true, ...(mtu !== undefined ? { mtu } : {}) }];

  const files: ManagedFile[] = [];
  if (config.enableCni) {
    const cni = renderCniConfig({
      path: host.cniConf.path,
      ...(host.cniConf.content !== undefined ? { current: host.cniConf.content } : {}),
      podCidrs: allOwn,
      ...(mtu !== undefined ? { mtu } : {}),
    });
    if ("error" in cni) warn(`router: CNI config ${cni.error}; left as it is`);
    else files.push({ path: host.cniConf.path, content: cni.content, mode: 0o644 });
  }

  // per node: its pod CIDRs, addresses, direct routes and warnings, memoised (router-node.ts)
  const stepCtx = routerNodeContexts(families, subnets);
  const steps: [string, RouterNodeStep][] = [];
  for (const node of snapshot.nodes.values()) {
    const step = routerNodeStep(node, node.name === nodeName ? stepCtx.self : stepCtx.peer);
    steps.push([node.name, step]);
    warnings.push(...step.warnings);
  }
  const routeChunks = uniqueRouteChunks(steps);

  const ipsets: Ipset[] = [];
  if (config.enablePodEgress || config.enableOverlay) {
    for (const f of families) {
      const family = f === "ipv6" ? "inet6" : "inet";
      const members = (type: "hash:net" | "hash:ip") => {
        const set = new Set<string>();
        const errors = new Set<string>();
        for (const [, s] of steps) for (const m of s.members) if (m.family === f && m.type === type) { if (m.member !== undefined) set.add(m.member); else errors.add(m.error!); }
        for (const e of errors) warn(`router: ${e}; skipped`);
        return set;
      };
      ipsets.push({ name: ipsetName(IPSET.podSubnets, f), type: "hash:net", family, timeout: 0, members: members("hash:net") });
      ipsets.push({ name: ipsetName(IPSET.nodeIps, f), type: "hash:ip", family, timeout: 0, members: members("hash:ip") });
    }
  }

  const jumps: Jump[] = [];
  for (const f of families) {
    const forward = (args: string[], comment: string) =>
      jumps.push({ family: f, table: "filter", chain: "FORWARD", comment, rule: ruleText([...args.slice(0, 2), "-m", "comment", "--comment", comment, "-j", "ACCEPT"]), position: jumps.filter((j) => j.family === f && j.chain === "FORWARD").length + 1 });
    forward(["-i", KUBE_BRIDGE], COMMENT.forwardFromPods);
    forward(["-o", KUBE_BRIDGE], COMMENT.forwardToPods);
    if (nodeIface !== undefined) forward(["-o", nodeIface.name], COMMENT.forwardNodeIface);
    if (config.enablePodEgress) {
      const pods = ipsetName(IPSET.podSubnets, f);
      const nodes = ipsetName(IPSET.nodeIps, f);
      jumps.push({
        family: f, table: "nat", chain: "POSTROUTING", comment: COMMENT.podEgress, position: 1,
        rule: ruleText(["-m", "set", "--match-set", pods, "src", "-m", "set", "!", "--match-set", pods, "dst", "-m", "set", "!", "--match-set", nodes, "dst", "-m", "comment", "--comment", COMMENT.podEgress, "-j", "MASQUERADE", "--random-fully"]),
      });
    }
  }

  const sysctls: Sysctl[] = [
    ...(config.enableIpv4 ? [{ path: "net/ipv4/ip_forward", value: "1" }, { path: "net/bridge/bridge-nf-call-iptables", value: "1" }] : []),
    ...(config.enableIpv6
      ? [{ path: "net/ipv6/conf/all/disable_ipv6", value: "0" }, { path: "net/ipv6/conf/all/forwarding", value: "1" }, { path: "net/bridge/bridge-nf-call-ip6tables", value: "1" }]
      : []),
  ];

  const own: Partial<NodeState> = {
    links: sortedTable(links.map((l) => [linkKey(l), l])),
    files: sortedTable(files.map((f) => [fileKey(f), f])),
    routes: new ChunkedTable(routeChunks),
    ipsets: sortedTable(ipsets.map((s) => [ipsetKey(s), s])),
    jumps: sortedTable(jumps.map((j) => [jumpKey(j), j])),
    sysctls: sortedTable(sysctls.map((s) => [sysctlKey(s), s])),
  };
  // the overlay's routes win their keys (a peer on the overlay keeps no direct route)
  const state = mergeOverlay(own, overlay.ok).state;
  return { ok: { state, warnings: [...warnings, ...overlay.ok.warnings] } };
}
