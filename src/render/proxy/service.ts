/**
 * One Service's share of the proxy's desired state, before cross-service checks (conflicts,
 * fwmark allocation): its virtual services with real servers, its hairpin SNAT rules, its
 * health-check port and DSR pod tunnels. Pure and memoised: the result is reused while the
 * Service object, its EndpointSlices, the pods it looked up and the node context are the same
 * objects (immer keeps unchanged objects' identity), so one endpoint change re-renders one
 * Service (DESIGN.md §6).
 *
 * @category render
 */
import type { ClusterSnapshot, EndpointSliceInfo, PodInfo, ServiceInfo } from "../../model/cluster.ts";
import { ruleText } from "../../model/iptables-rule.ts";
import { type Address, type Family, type HealthCheck as StateHealthCheck, type IpvsProtocol, type IpvsReal, type IpvsService, type Route, addressKey, ipvsRealKey, ipvsServiceKey, routeKey } from "../../model/state.ts";
import { vipAddress, vipPortMember, vipRoute } from "./plumbing.ts";
import { type ServiceOptions, serviceOptions, serviceRef } from "./annotations.ts";
import type { ProxyContext } from "./context.ts";
import { type Endpoint, portEndpoints } from "./endpoints.ts";
import { orNone } from "../none.ts";
import { type Vip, clusterVips, externalVips, loadBalancerVips, nodePortVips } from "./vips.ts";

export type VipKind = "cluster" | "nodeport" | "external" | "lb";

/** A rendered virtual service: for DSR ones `service.fwmark` is assigned later (dsr.ts). */
export interface Virtual {
  readonly ref: string;
  readonly kind: VipKind;
  readonly vip: string;
  readonly family: Family;
  readonly protocol: IpvsProtocol;
  readonly port: number;
  /** `proto/vip/port` whatever the service kind: the VIP:port two Services must not share. */
  readonly vipKey: string;
  readonly dsr: boolean;
  readonly service: IpvsService;
  /**
   * DSR services: their real servers, `service` left "" (filled in once the fwmark is
   * allocated, render.ts). Empty for the others, whose reals are in `entries`.
   */
  readonly reals: readonly IpvsReal[];
  /**
   * For non-DSR services, the final table entries, computed once per memoised render so a
   * re-render of unchanged Services reuses the very objects (cheap assembly, identity-fast diff).
   * The reals are kept without their keys (ipvsRealKey): the Service's table chunk (render.ts)
   * is the one place the keys live.
   */
  readonly entries?: {
    readonly key: string;
    readonly reals: readonly IpvsReal[];
    readonly address?: readonly [string, Address];
    readonly route?: readonly [string, Route];
    /** kube-router-svip-prt member. */
    readonly member: string;
  };
}

export interface DsrPod {
  readonly pod: string;
  readonly podIp: string;
  readonly vip: string;
  readonly family: Family;
}

export type HealthCheck = StateHealthCheck;

export interface ServiceRender {
  readonly ref: string;
  readonly virtuals: readonly Virtual[];
  /** Hairpin SNAT rules (KUBE-ROUTER-HAIRPIN rule text) per family. */
  readonly hairpin: readonly { readonly family: Family; readonly rule: string }[];
  readonly health?: HealthCheck;
  readonly dsrPods: readonly DsrPod[];
  readonly warnings: readonly string[];
}

const PROTO: Record<string, IpvsProtocol> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };
const host = (f: Family) => (f === "ipv4" ? "/32" : "/128");

interface MemoEntry {
  readonly ctx: ProxyContext;
  readonly slices: readonly EndpointSliceInfo[];
  readonly pods: readonly (readonly [string, PodInfo | undefined])[];
  readonly result: ServiceRender;
}
const memo = new WeakMap<ServiceInfo, MemoEntry>();
const NO_SLICES: readonly EndpointSliceInfo[] = [];
const NO_REALS: readonly IpvsReal[] = [];

/** Renders one Service (memoised; see the module comment). */
export function renderService(ctx: ProxyContext, s: ServiceInfo, slices: readonly EndpointSliceInfo[] | undefined, podsMap: ClusterSnapshot["pods"]): ServiceRender {
  const sl = slices ?? NO_SLICES;
  const hit = memo.get(s);
  if (hit && hit.ctx === ctx && hit.slices.length === sl.length && hit.slices.every((x, i) => x === sl[i]) && hit.pods.every(([k, p]) => podsMap.get(k) === p)) return hit.result;
  const looked: (readonly [string, PodInfo | undefined])[] = [];
  const pod = (ref: string) => { const p = podsMap.get(ref); looked.push([ref, p]); return p; };
  const result = computeService(ctx, s, sl, pod);
  memo.set(s, { ctx, slices: [...sl], pods: looked, result });
  return result;
}

function computeService(ctx: ProxyContext, s: ServiceInfo, slices: readonly EndpointSliceInfo[], pod: (ref: string) => PodInfo | undefined): ServiceRender {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const ref = serviceRef(s);
  const opt = serviceOptions(s, ctx.config.hairpinMode, warn);
  const cluster = clusterVips(ctx, s);
  const external = externalVips(ctx, s, warn);
  const lb = loadBalancerVips(ctx, s, opt.skipLbIps, warn);
  const nodePorts = s.ports.some((p) => p.nodePort) ? nodePortVips(ctx, s) : [];
  const loc = { nodeName: ctx.nodeName, nodeAddrs: ctx.nodeAddrs, pod, grace: ctx.config.ipvsGracefulTermination };
  const virtuals: Virtual[] = [];
  const hairpin: { family: Family; rule: string }[] = [];
  const dsrPods: DsrPod[] = [];
  const healthy = new Set<string>();
  let dsr = opt.dsr;
  const perPort = s.ports.map((p) => ({ p, eps: portEndpoints(slices, p.name, loc, []) }));
  if (dsr) {
    const hostNet = perPort.flatMap(({ eps }) => eps).find((e) => e.pod !== undefined && pod(e.pod)?.hostNetwork === true);
    if (hostNet) {
      warn(`Service ${ref}: metadata.annotations[kube-router.io/service.dsr]: endpoint pod ${hostNet.pod} uses hostNetwork, which DSR cannot serve; external and LoadBalancer IPs skipped`);
    }
    dsr = hostNet === undefined;
    if (!dsr) { external.length = 0; lb.length = 0; }
  }
  for (const { p, eps } of perPort) {
    const protocol = PROTO[p.protocol] ?? "tcp";
    for (const e of eps) if (e.local && e.ready && !e.terminating) healthy.add(e.address);
    const add = (kind: VipKind, vips: readonly Vip[], port: number, localOnly: boolean, viaDsr: boolean) => {
      for (const v of vips) {
        const chosen = eps.filter((e) => e.family === v.family && (!localOnly || e.local));
        if (localOnly && chosen.length === 0) continue; // traffic policy Local and nothing local: no service, no VIP
        virtuals.push(virtual(ctx, ref, opt, s, kind, v, protocol, port, chosen, viaDsr));
        if (viaDsr) for (const e of chosen) if (e.local && e.pod !== undefined) dsrPods.push({ pod: e.pod, podIp: e.address, vip: v.ip, family: v.family });
      }
    };
    add("cluster", cluster, p.port, opt.internalLocal, false);
    if (p.nodePort) add("nodeport", nodePorts, p.nodePort, opt.externalLocal, false);
    add("external", external, p.port, opt.externalLocal, dsr);
    add("lb", lb, p.port, opt.externalLocal, dsr);
    if (opt.hairpin) {
      for (const e of eps) {
        if (!e.local) continue;
        const rule = (vip: string, vport: number) =>
          hairpin.push({ family: e.family, rule: ruleText(["-s", `${e.address}${host(e.family)}`, "-d", `${e.address}${host(e.family)}`, "-m", "ipvs", "--vaddr", vip, "--vport", String(vport), "-j", "SNAT", "--to-source", vip]) });
        for (const v of cluster) if (v.family === e.family) rule(v.ip, p.port);
        if (opt.hairpinExternalIps) for (const v of external) if (v.family === e.family && !dsr) rule(v.ip, p.port);
        const nodeIp = ctx.nodeIp.get(e.family);
        if (p.nodePort && nodeIp !== undefined && cluster.some((v) => v.family === e.family)) rule(nodeIp, p.nodePort);
      }
    }
  }
  const health = s.healthCheckNodePort ? { namespace: s.namespace, name: s.name, port: s.healthCheckNodePort, localEndpoints: healthy.size } : undefined;
  return { ref, virtuals: orNone(virtuals), hairpin: orNone(hairpin), ...(health ? { health } : {}), dsrPods: orNone(dsrPods), warnings: orNone(warnings) };
}

function virtual(ctx: ProxyContext, ref: string, opt: ServiceOptions, s: ServiceInfo, kind: VipKind, v: Vip, protocol: IpvsProtocol, port: number, eps: readonly Endpoint[], dsr: boolean): Virtual {
  const persistent = s.sessionAffinity === "ClientIP" ? { persistent: s.sessionAffinityTimeoutSeconds ?? 10800 } : {};
  const service: IpvsService = dsr
    ? { family: v.family, protocol: "fwmark", address: "", port: 0, fwmark: 0, scheduler: opt.scheduler, flags: opt.flags, ...persistent }
    : { family: v.family, protocol, address: v.ip, port, scheduler: opt.scheduler, flags: opt.flags, ...persistent };
  const graceful = ctx.config.ipvsGracefulTermination;
  const vipKey = ipvsServiceKey({ family: v.family, protocol, address: v.ip, port });
  const forward = dsr ? "tunnel" : "masq";
  // one literal shape per case (no spread): a real server is one small object at L's 150k
  const realOf = (e: Endpoint, service: string): IpvsReal => {
    const weight = graceful && e.terminating ? 0 : 1;
    // upstream: a pod grace period of 0 (or none) means --ipvs-graceful-period
    return graceful && e.graceSeconds !== undefined && e.graceSeconds > 0
      ? { service, address: e.address, port: e.port, weight, forward, graceSeconds: e.graceSeconds }
      : { service, address: e.address, port: e.port, weight, forward };
  };
  const member = vipPortMember(v.family, v.ip, protocol, port);
  if (dsr) return { ref, kind, vip: v.ip, family: v.family, protocol, port, dsr, service, vipKey, reals: eps.map((e) => realOf(e, "")) };
  const reals = eps.map((e) => realOf(e, vipKey));
  const onDummy = kind !== "nodeport";
  const address = onDummy ? vipAddress(v.ip, v.family) : undefined;
  const route = onDummy ? vipRoute(v.ip, v.family, ctx.nodeIp.get(v.family)) : undefined;
  return {
    ref, kind, vip: v.ip, family: v.family, protocol, port, dsr, service, vipKey, reals: NO_REALS,
    entries: {
      key: vipKey, reals, member,
      ...(address ? { address: [addressKey(address), address] as const } : {}),
      ...(route ? { route: [routeKey(route), route] as const } : {}),
    },
  };
}
