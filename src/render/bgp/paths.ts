/**
 * The node's locally originated BGP paths (kube-router-features.md §5.4, issue 10):
 *
 * - this node's pod CIDR(s), always (`--advertise-pod-cidr` only decides the export to external
 *   peers);
 * - Service VIPs as /32 or /128, for Services of type ClusterIP, NodePort or LoadBalancer with a
 *   cluster IP: cluster IPs with `--advertise-cluster-ip`, external IPs with
 *   `--advertise-external-ip`, LoadBalancer ingress IPs (type LoadBalancer, not `ipMode: Proxy`,
 *   not with `service.skiplbips`) with `--advertise-loadbalancer-ip`; each flag overridden per
 *   Service by `kube-router.io/service.advertise.clusterip|externalip|loadbalancerip` (Go
 *   `ParseBool`; unparsable ⇒ false and a warning). External and LoadBalancer IPs are validated
 *   as the proxy does (vips.ts).
 * - Withheld: cluster IPs when `internalTrafficPolicy: Local`, external and LB IPs when
 *   `externalTrafficPolicy: Local` or `service.local: "true"`, unless this node has a ready
 *   local endpoint (EndpointSlice endpoint whose `nodeName` is this node, or, without
 *   `nodeName`, whose address is one of this node's IPs). A Service with no EndpointSlice at
 *   all advertises nothing (upstream withdraws every Service's VIPs then: a bug).
 * - The next hop is this node's best IP of the prefix's family (IPv6 paths get an IPv6 next
 *   hop); a prefix of a family the node has no address of is skipped with a warning.
 *
 * Also `clusterVips`: every VIP of every Service (cluster, external, LB IPs), advertised or not,
 * for the import policy. Pure; never throws.
 *
 * @category render
 */
import type { ServiceInfo } from "../../model/cluster.ts";
import type { BgpPath } from "../../model/bgp.ts";
import { canonicalCidr, canonicalIp, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { nodeIps, nodePodCidrs } from "../node-facts.ts";
import { ANNOTATION as SERVICE_ANNOTATION, serviceRef } from "../proxy/annotations.ts";
import { proxyContext } from "../proxy/context.ts";
import { slicesByService } from "../proxy/endpoints.ts";
import { clusterVips as proxyClusterVips, externalVips, loadBalancerVips } from "../proxy/vips.ts";
import type { BgpContext } from "./context.ts";
import { serviceVipPrefixes } from "./memo.ts";
import { parseBool } from "./parse.ts";

export const ADVERTISE_ANNOTATION = {
  clusterIp: "kube-router.io/service.advertise.clusterip",
  externalIp: "kube-router.io/service.advertise.externalip",
  loadBalancerIp: "kube-router.io/service.advertise.loadbalancerip",
} as const;

const hostPrefix = (ip: string, f: Family): string => `${ip}/${f === "ipv6" ? 128 : 32}`;

/** This node's valid pod CIDRs per enabled family (canonical, deduplicated, sorted). */
export function ownPodCidrs(ctx: BgpContext): Map<Family, string[]> {
  const out = new Map<Family, string[]>(ctx.families.map((f) => [f, []]));
  const { cidrs, field } = nodePodCidrs(ctx.self);
  for (const c of cidrs) {
    const canonical = canonicalCidr(c);
    const f = canonical === undefined ? undefined : ipFamily(canonical.split("/")[0] ?? "");
    if (canonical === undefined || f === undefined) { ctx.warn(`bgp: Node ${ctx.self.name}: ${field}: invalid pod CIDR ${JSON.stringify(c)}; not advertised`); continue; }
    const l = out.get(f);
    if (l !== undefined && !l.includes(canonical)) l.push(canonical);
  }
  for (const l of out.values()) l.sort();
  return out;
}

/** True for Services upstream's routing considers (ClusterIP, NodePort, LoadBalancer with a cluster IP). */
function advertisable(s: ServiceInfo): boolean {
  if (s.type !== "ClusterIP" && s.type !== "NodePort" && s.type !== "LoadBalancer") return false;
  return s.clusterIPs.length > 0 && !s.clusterIPs.includes("None") && !s.clusterIPs.includes("");
}

function advertiseFlag(ctx: BgpContext, s: ServiceInfo, key: string, flag: boolean): boolean {
  const text = s.annotations[key];
  if (text === undefined) return flag;
  const b = parseBool(text);
  if (b === undefined) ctx.warn(`bgp: Service ${serviceRef(s)}: metadata.annotations[${key}]: ${JSON.stringify(text)} is not a boolean; not advertised`);
  return b ?? false;
}

/** Whether a ready endpoint of the Service is on this node; undefined when it has no EndpointSlice. */
function hasLocalEndpoint(ctx: BgpContext, s: ServiceInfo, nodeAddrs: ReadonlySet<string>): boolean | undefined {
  const slices = slicesByService(ctx.snapshot.endpointSlices).get(serviceRef(s));
  if (slices === undefined || slices.length === 0) return undefined;
  return slices.some((sl) => sl.endpoints.some((ep) => ep.ready && (ep.nodeName !== undefined
    ? ep.nodeName === ctx.nodeName
    : ep.addresses.some((a) => nodeAddrs.has(canonicalIp(a) ?? a)))));
}

/**
 * Per-Service memo of what it advertises: valid while the Service object, its EndpointSlices
 * (by identity), the config object, this node's object and name and the host's interfaces are
 * the same; only a Service that raised no warning is memoised (warnings are said every render).
 */
interface VipEntry {
  readonly config: unknown;
  readonly self: unknown;
  readonly hostKey: string;
  readonly slices: readonly unknown[] | undefined;
  readonly prefixes: readonly (readonly [Family, string])[];
}
const vipMemo = new WeakMap<ServiceInfo, VipEntry>();
const sameList = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** The VIPs this node advertises, per family, as host prefixes (deduplicated). */
function advertisedVips(ctx: BgpContext): Map<Family, Set<string>> {
  const out = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  const { config } = ctx;
  const hostKey = `${ctx.nodeName}|${JSON.stringify(ctx.host.interfaces)}`;
  let pctxMemo: ReturnType<typeof proxyContext> | undefined;
  const nodeAddrs = new Set(nodeIps(ctx.self).flatMap((a) => { const v = canonicalIp(a); return v ? [v] : []; }));
  const index = slicesByService(ctx.snapshot.endpointSlices);
  const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);
  for (const [, s] of [...ctx.snapshot.services].sort(byKey)) {
    const slices = index.get(serviceRef(s));
    const hit = vipMemo.get(s);
    if (hit !== undefined && hit.config === config && hit.self === ctx.self && hit.hostKey === hostKey && sameList(hit.slices, slices)) {
      for (const [f, p] of hit.prefixes) out.get(f)?.add(p);
      continue;
    }
    let warned = false;
    const warn = (m: string): void => { warned = true; ctx.warn(m); };
    pctxMemo ??= proxyContext(config, ctx.host, ctx.self, ctx.nodeName);
    const prefixes = serviceAdvertised({ ...ctx, warn }, pctxMemo, s, nodeAddrs);
    for (const [f, p] of prefixes) out.get(f)?.add(p);
    if (!warned) vipMemo.set(s, { config, self: ctx.self, hostKey, slices, prefixes });
  }
  return out;
}

/** What one Service advertises from this node, as `[family, host prefix]`. */
function serviceAdvertised(ctx: BgpContext, pctx: ReturnType<typeof proxyContext>, s: ServiceInfo, nodeAddrs: ReadonlySet<string>): [Family, string][] {
  const { config } = ctx;
  const out: [Family, string][] = [];
  // the proxy reports rejected external/LB IPs when it runs; say it once, not twice
  const vipWarn = config.runServiceProxy ? () => undefined : ctx.warn;
  {
    if (!advertisable(s)) return out;
    const cluster = advertiseFlag(ctx, s, ADVERTISE_ANNOTATION.clusterIp, config.advertiseClusterIp);
    const external = advertiseFlag(ctx, s, ADVERTISE_ANNOTATION.externalIp, config.advertiseExternalIp);
    const lb = advertiseFlag(ctx, s, ADVERTISE_ANNOTATION.loadBalancerIp, config.advertiseLoadbalancerIp) && s.type === "LoadBalancer";
    if (!cluster && !external && !lb) return out;
    const local = hasLocalEndpoint(ctx, s, nodeAddrs);
    if (local === undefined) return out; // no EndpointSlice: only this Service's VIPs are withdrawn
    const externalLocal = s.externalTrafficPolicy === "Local" || s.annotations[SERVICE_ANNOTATION.local] === "true";
    const vips = [
      ...(cluster && (s.internalTrafficPolicy !== "Local" || local) ? proxyClusterVips(pctx, s) : []),
      ...(external && (!externalLocal || local) ? externalVips(pctx, s, vipWarn) : []),
      ...(lb && (!externalLocal || local) ? loadBalancerVips(pctx, s, s.annotations[SERVICE_ANNOTATION.skipLbIps] !== undefined, vipWarn) : []),
    ];
    for (const v of vips) {
      const ip = canonicalIp(v.ip);
      if (ip !== undefined) out.push([v.family, hostPrefix(ip, v.family)]);
    }
  }
  return out;
}

/** The node's paths: pod CIDRs and advertised VIPs, each with the next hop of its family. */
export function renderPaths(ctx: BgpContext, podCidrs: ReadonlyMap<Family, readonly string[]>): BgpPath[] {
  const out: BgpPath[] = [];
  const vips = advertisedVips(ctx);
  for (const f of ctx.families) {
    const prefixes = [...(podCidrs.get(f) ?? []), ...[...(vips.get(f) ?? [])].sort()];
    if (prefixes.length === 0) continue;
    const nextHop = ctx.nodeIp.get(f);
    if (nextHop === undefined) { ctx.warn(`bgp: Node ${ctx.self.name}: no ${f} address for the next hop; ${prefixes.length} ${f} prefix(es) not advertised`); continue; }
    for (const prefix of prefixes) out.push({ family: f, prefix, nextHop, communities: [] });
  }
  return out;
}

/**
 * Every VIP of every Service in the cluster (cluster IPs, external IPs, LB ingress IPs; any
 * Service type with such fields), per enabled family, as sorted host prefixes. Not validated
 * against the service ranges: the import policy rejects them all.
 */
export function allClusterVips(ctx: BgpContext): Map<Family, string[]> {
  const out = new Map<Family, Set<string>>(ctx.families.map((f) => [f, new Set()]));
  for (const s of ctx.snapshot.services.values()) for (const [f, prefix] of serviceVipPrefixes(s)) out.get(f)?.add(prefix);
  return new Map([...out].map(([f, set]) => [f, [...set].sort()]));
}
