/**
 * The service proxy's render (`--run-service-proxy`): ClusterSnapshot + NodeConfig + HostFacts
 * → IPVS services and real servers plus their plumbing, warnings and the side outputs the
 * agent needs (health-check ports, DSR pod tunnels).
 *
 * Guarantees:
 * - pure and deterministic: Services are rendered in `namespace/name` order, endpoints sorted,
 *   fwmarks allocated in sorted order; same input ⇒ byte-identical output;
 * - bad input never fails the render: a rejected IP, an unknown annotation value, two Services
 *   claiming one VIP:port (both skipped for that VIP:port, one warning naming both — a conflict
 *   is data, never last-writer-wins) each give one warning line naming the objects and field;
 * - `--excluded-cidrs`: no IPVS service is rendered for a VIP inside them (those are never
 *   ours, see names.ts `ownsIpvsService`);
 * - a kernel without IPVS (`host.ipvs.available === false`) fails the controller with one line
 *   saying what to load; the engine then keeps the proxy's objects and the others still sync;
 * - incremental: per-Service results are memoised on input identity (service.ts), so one
 *   endpoint change re-renders one Service.
 *
 * @category render
 */
import { cidrContains } from "../../model/ip.ts";
import { KUBE_DUMMY_IF } from "../../model/names.ts";
import {
  type Address, type Chain, type Family, type IpvsReal, type IpvsService, type Jump, type Link, type NodeState, type PolicyRule, type Route,
  chainKey, ipsetKey, ipvsRealKey, ipvsServiceKey, jumpKey, linkKey, policyRuleKey, routeKey, sysctlKey,
} from "../../model/state.ts";
import type { ControllerResult, RenderInput } from "../controller.ts";
import { skipReason } from "./annotations.ts";
import { proxyContext } from "./context.ts";
import { type DsrEntry, dsrPlumbing } from "./dsr.ts";
import { slicesByService } from "./endpoints.ts";
import { allocateFwmarks, fwmarkKey } from "./fwmark.ts";
import { natRules, proxyIpsets, proxySysctls, servicesFirewall, vipPortMember } from "./plumbing.ts";
import { type DsrPod, type HealthCheck, type ServiceRender, type Virtual, renderService } from "./service.ts";

/** Kernel modules the proxy needs (what the one-line error asks to load). */
export const IPVS_MODULES = ["ip_vs", "ip_vs_rr", "ip_vs_lc", "ip_vs_dh", "ip_vs_sh", "ip_vs_mh", "nf_conntrack", "xt_ipvs", "dummy"];

export interface ProxyRender {
  readonly result: ControllerResult;
  /** healthCheckNodePort servers wanted (sorted by port). */
  readonly healthChecks: readonly HealthCheck[];
  /** DSR tunnels wanted inside local endpoint pods (sorted). */
  readonly dsrPods: readonly (DsrPod & { readonly containerId?: string })[];
}

const EMPTY: Pick<ProxyRender, "healthChecks" | "dsrPods"> = { healthChecks: [], dsrPods: [] };

let sortedMemo: { services: RenderInput["snapshot"]["services"]; keys: string[] } | undefined;
function sortedServiceKeys(services: RenderInput["snapshot"]["services"]): string[] {
  if (sortedMemo?.services === services) return sortedMemo.keys;
  const keys = [...services.keys()].sort();
  sortedMemo = { services, keys };
  return keys;
}

/** Renders the proxy with its side outputs (see the module comment). */
export function renderProxyFull(input: RenderInput): ProxyRender {
  const { snapshot, config, host, nodeName } = input;
  if (host.ipvs?.available === false) {
    const why = host.ipvs.reason ? ` (${host.ipvs.reason})` : "";
    return { ...EMPTY, result: { error: `proxy: the kernel has no IPVS${why}; load it with: modprobe ${IPVS_MODULES.join(" ")}; the service proxy stays off (its kernel objects untouched) until IPVS is available, the other controllers keep running`, warnings: [] } };
  }
  const node = snapshot.nodes.get(nodeName);
  if (node === undefined) return { ...EMPTY, result: { error: `proxy: Node ${nodeName} not found in the cluster`, warnings: [] } };
  const ctx = proxyContext(config, host, node, nodeName);
  if (ctx.nodeIp.size === 0) return { ...EMPTY, result: { error: `proxy: Node ${nodeName}: status.addresses: host IP unknown (no InternalIP or ExternalIP)`, warnings: [] } };
  const warnings: string[] = [];
  const index = slicesByService(snapshot.endpointSlices);
  const renders: ServiceRender[] = [];
  for (const key of sortedServiceKeys(snapshot.services)) {
    const s = snapshot.services.get(key)!;
    if (skipReason(s) !== undefined) continue;
    const r = renderService(ctx, s, index.get(key), snapshot.pods);
    renders.push(r);
    for (const w of r.warnings) warnings.push(w);
  }

  // Conflicts: a VIP:port claimed by two Services is skipped for both; excluded CIDRs dropped.
  const claimants = new Map<string, string>();
  const conflicted = new Map<string, Set<string>>();
  for (const r of renders) {
    for (const v of r.virtuals) {
      const prev = claimants.get(v.vipKey);
      if (prev === undefined) claimants.set(v.vipKey, r.ref);
      else if (prev !== r.ref) (conflicted.get(v.vipKey) ?? conflicted.set(v.vipKey, new Set([prev])).get(v.vipKey)!).add(r.ref);
    }
  }
  for (const [k, refs] of [...conflicted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    warnings.push(`proxy: ${k} is claimed by Services ${[...refs].sort().join(", ")}; skipped for all of them until only one claims it`);
  }
  const excluded = config.excludedCidrs;
  const taken = new Set<string>();
  const finals: Virtual[] = [];
  for (const r of renders) {
    for (const v of r.virtuals) {
      if (conflicted.has(v.vipKey) || taken.has(v.vipKey)) continue; // same VIP:port twice in one Service: first wins
      if (excluded.length > 0 && excluded.some((c) => cidrContains(c, v.vip))) {
        warnings.push(`Service ${v.ref}: ${v.vip} is inside --excluded-cidrs; no IPVS service rendered for it`);
        continue;
      }
      taken.add(v.vipKey);
      finals.push(v);
    }
  }

  // DSR fwmarks, allocated over the sorted set of DSR keys.
  const dsrVirtuals = finals.filter((v) => v.dsr);
  const { marks, errors: markErrors } = allocateFwmarks(dsrVirtuals.map((v) => fwmarkKey(v.vip, v.protocol, v.port)));
  for (const e of markErrors) warnings.push(`proxy: ${e}`);

  const ipvsServices = new Map<string, IpvsService>();
  const ipvsReals = new Map<string, IpvsReal>();
  const addresses = new Map<string, Address>();
  const routes = new Map<string, Route>();
  const vips = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  const vipPorts = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  const dsrEntries: DsrEntry[] = [];
  let sloppy = false;
  for (const v of finals) {
    vips.get(v.family)?.add(v.vip);
    const e = v.entries;
    if (e !== undefined) {
      ipvsServices.set(e.key, v.service);
      for (const [k, r] of e.reals) ipvsReals.set(k, r);
      if (e.address) addresses.set(e.address[0], e.address[1]);
      if (e.route) routes.set(e.route[0], e.route[1]);
      vipPorts.get(v.family)?.add(e.member);
      continue;
    }
    // DSR: the key depends on the fwmark, allocated across Services above
    const mark = marks.get(fwmarkKey(v.vip, v.protocol, v.port));
    if (mark === undefined) continue;
    const svc: IpvsService = { ...v.service, fwmark: mark };
    dsrEntries.push({ family: v.family, vip: v.vip, protocol: v.protocol, port: v.port, fwmark: mark });
    if (svc.scheduler === "mh") sloppy = true;
    const key = ipvsServiceKey(svc);
    ipvsServices.set(key, svc);
    for (const real of v.reals) {
      const r: IpvsReal = { service: key, ...real };
      ipvsReals.set(ipvsRealKey(r), r);
    }
    vipPorts.get(v.family)?.add(vipPortMember(v.family, v.vip, v.protocol, v.port));
  }

  const hairpin = new Map<Family, string[]>();
  for (const r of renders) for (const h of r.hairpin) (hairpin.get(h.family) ?? hairpin.set(h.family, []).get(h.family)!).push(h.rule);
  for (const [f, rules] of hairpin) hairpin.set(f, [...new Set(rules)].sort());

  const fw = servicesFirewall(ctx);
  const nat = natRules(ctx, hairpin);
  warnings.push(...nat.warnings);
  dsrEntries.sort((a, b) => (a.fwmark - b.fwmark));
  const mtu = ctx.nodeMtu ?? 1500;
  if (dsrEntries.length > 0 && ctx.nodeMtu === undefined) warnings.push(`proxy: no host interface carries the node IP; DSR TCPMSS assumes MTU 1500`);
  const dsr = dsrPlumbing(dsrEntries, mtu);
  for (const rt of dsr.routes) routes.set(routeKey(rt), rt);

  const link: Link = { name: KUBE_DUMMY_IF, kind: "dummy", up: true };
  const chains: Chain[] = [...fw.chains, ...nat.chains, ...dsr.chains];
  const jumps: Jump[] = [...fw.jumps, ...nat.jumps, ...dsr.jumps];
  const rules: PolicyRule[] = dsr.rules;
  const state: Partial<NodeState> = {
    ipvsServices,
    ipvsReals,
    links: new Map([[linkKey(link), link]]),
    addresses,
    routes,
    rules: new Map(rules.map((r) => [policyRuleKey(r), r])),
    ipsets: new Map(proxyIpsets(ctx, vips, vipPorts).map((s) => [ipsetKey(s), s])),
    chains: new Map(chains.map((c) => [chainKey(c), c])),
    jumps: new Map(jumps.map((j) => [jumpKey(j), j])),
    sysctls: new Map(proxySysctls(sloppy).map((s) => [sysctlKey(s), s])),
  };

  const healthChecks = renders.flatMap((r) => (r.health ? [r.health] : [])).sort((a, b) => a.port - b.port || (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  const dsrVips = new Set(dsrEntries.map((e) => e.vip));
  const dsrPods = renders.flatMap((r) => r.dsrPods).filter((p) => dsrVips.has(p.vip)).map((p) => {
    const pod = snapshot.pods.get(p.pod);
    return { ...p, ...(pod?.containerID !== undefined ? { containerId: pod.containerID } : {}) };
  });
  const uniq = new Map(dsrPods.map((p) => [`${p.pod}|${p.podIp}|${p.vip}`, p]));
  return { result: { ok: { state, warnings } }, healthChecks, dsrPods: [...uniq.keys()].sort().map((k) => uniq.get(k)!) };
}

/** The controller's render: the proxy's tables and warnings (or its one error line). */
export function renderProxy(input: RenderInput): ControllerResult {
  return renderProxyFull(input).result;
}
