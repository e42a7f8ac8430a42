/**
 * Which VIPs a Service gets (kube-router-features.md §3.2), per kind:
 * - cluster: every cluster IP of an enabled family;
 * - nodeport: the node IP of each family the Service has cluster IPs for, or with
 *   `--nodeport-bindon-all-ip` every global address of a link not named dummy/kube/docker;
 * - external: `spec.externalIPs`, with `--strict-external-ip-validation` only those inside
 *   `--service-external-ip-range` (none configured ⇒ none); never one inside the cluster range;
 * - lb: `status.loadBalancer.ingress[].ip`, not `ipMode: Proxy`, not hostname-only, none with
 *   `kube-router.io/service.skiplbips`; validated against `--loadbalancer-ip-range` likewise.
 * Rejected IPs produce one warning each, naming the Service and field. Pure.
 *
 * @category render
 */
import type { ServiceInfo } from "../../model/cluster.ts";
import { cidrContains, ipFamily } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { serviceRef } from "./annotations.ts";
import type { ProxyContext } from "./context.ts";

export interface Vip {
  readonly ip: string;
  readonly family: Family;
  /** The field it came from, for messages (`spec.externalIPs[1]`). */
  readonly field: string;
}

const enabled = (ctx: ProxyContext, ip: string): Family | undefined => {
  const f = ipFamily(ip);
  return f !== undefined && ctx.families.includes(f) ? f : undefined;
};

export function clusterVips(ctx: ProxyContext, s: ServiceInfo): Vip[] {
  return s.clusterIPs.flatMap((ip, i) => { const f = enabled(ctx, ip); return f ? [{ ip, family: f, field: `spec.clusterIPs[${i}]` }] : []; });
}

export function nodePortVips(ctx: ProxyContext, s: ServiceInfo): Vip[] {
  const families = ctx.families.filter((f) => s.clusterIPs.some((ip) => ipFamily(ip) === f));
  if (ctx.config.nodeportBindonAllIp) return families.flatMap((f) => (ctx.bindAllIps.get(f) ?? []).map((ip) => ({ ip, family: f, field: "node address" })));
  return families.flatMap((f) => { const ip = ctx.nodeIp.get(f); return ip ? [{ ip, family: f, field: "node IP" }] : []; });
}

/** Applies upstream's service-IP validator to one external or LB IP; a reason when rejected. */
function rejectReason(ctx: ProxyContext, ip: string, ranges: readonly string[], flag: string): string | undefined {
  if (ctx.clusterRanges.some((c) => cidrContains(c, ip))) return "is inside --service-cluster-ip-range";
  if (!ctx.config.strictExternalIpValidation) return undefined;
  if (ranges.length === 0) return `no ${flag} is configured (--strict-external-ip-validation)`;
  return ranges.some((c) => cidrContains(c, ip)) ? undefined : `is not inside ${flag}`;
}

export function externalVips(ctx: ProxyContext, s: ServiceInfo, warn: (m: string) => void): Vip[] {
  const out: Vip[] = [];
  s.externalIPs.forEach((ip, i) => {
    const f = enabled(ctx, ip);
    if (!f) return;
    const field = `spec.externalIPs[${i}]`;
    const why = rejectReason(ctx, ip, ctx.externalRanges, "--service-external-ip-range");
    if (why) warn(`Service ${serviceRef(s)}: ${field}: ${ip} ${why}; skipped`);
    else out.push({ ip, family: f, field });
  });
  return out;
}

export function loadBalancerVips(ctx: ProxyContext, s: ServiceInfo, skipLbIps: boolean, warn: (m: string) => void): Vip[] {
  if (skipLbIps) return [];
  const out: Vip[] = [];
  s.loadBalancerIngress.forEach((ing, i) => {
    if (ing.ip === undefined || ing.ipMode === "Proxy") return;
    const f = enabled(ctx, ing.ip);
    if (!f) return;
    const field = `status.loadBalancer.ingress[${i}].ip`;
    const why = rejectReason(ctx, ing.ip, ctx.lbRanges, "--loadbalancer-ip-range");
    if (why) warn(`Service ${serviceRef(s)}: ${field}: ${ing.ip} ${why}; skipped`);
    else out.push({ ip: ing.ip, family: f, field });
  });
  return out;
}
