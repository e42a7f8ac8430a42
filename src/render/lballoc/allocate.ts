/**
 * The LoadBalancer IP allocator (kube-router-features.md §5.7) as a pure function of the
 * snapshot: no I/O, no clock, no randomness. Same Services and flags ⇒ same IPs.
 *
 * Rules, in order:
 * 1. Ranges: `--loadbalancer-ip-range` CIDRs of both families, in flag order. An invalid one,
 *    one overlapping `--service-cluster-ip-range` or an earlier range is skipped with a
 *    one-line warning naming the flag.
 * 2. Handled: Services of type LoadBalancer whose `spec.loadBalancerClass` is `kube-router`,
 *    or unset with `--loadbalancer-default-class`; in creation order, then namespace/name.
 * 3. Taken, never stolen: every status ingress IP of a Service of type LoadBalancer (handled
 *    or not) and every externalIP. A handled Service keeps the IPs its status holds for its
 *    life; the same IP in two Services' status stays with the first (order above), the other
 *    loses it with a warning. A Service that is deleted or leaves type LoadBalancer frees its
 *    IPs (its status no longer counts).
 * 4. `spec.loadBalancerIP`: honoured when valid, of a family the Service wants, inside a range
 *    and not taken (reserved before any dynamic allocation, so a later-created Service's
 *    request wins over an earlier one's dynamic pick); otherwise a warning naming the Service
 *    and the Service stays pending for that family (never a different IP than the one asked).
 * 5. Families wanted: `spec.ipFamilies` (default IPv4) under `spec.ipFamilyPolicy`:
 *    SingleStack the first; PreferDualStack both, each if a range has a free IP;
 *    RequireDualStack both or none (pending with a warning).
 * 6. Dynamic: the lowest free IP walking the family's ranges in flag order (every address of
 *    the range is usable). None free: pending with a warning naming the Service.
 *
 * @category render
 */
import type { ServiceInfo } from "../../model/cluster.ts";
import { type Cidr, type Family, cidrNetwork, formatIp, parseCidr, parseIp } from "../../model/ip.ts";
import type { LbProblem, LbStatus } from "../../model/rows.ts";

export const LB_CLASS = "kube-router";

/**
 * Event reasons of the allocation problems a Service's row carries (`problems`), one warning
 * each: a `spec.loadBalancerIP` that cannot be honoured (not an IP, wrong family, outside every
 * range, held by another Service); no address to give (pool exhausted, no range of the
 * family, RequireDualStack short of one); a status IP another Service holds too.
 */
export const REASONS = {
  requested: "LoadBalancerIPNotHonoured",
  exhausted: "AllocationFailed",
  conflict: "IngressIPConflict",
} as const;

export interface AllocConfig {
  readonly loadbalancerIpRange: readonly string[];
  readonly loadbalancerDefaultClass: boolean;
  readonly serviceClusterIpRange: readonly string[];
}

export interface AllocResult {
  /** One row per handled Service, in key order of insertion (handled order). */
  readonly rows: readonly LbStatus[];
  readonly warnings: readonly string[];
}

interface Range {
  readonly text: string;
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

const toBig = (bytes: readonly number[]): bigint => bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
const fromBig = (v: bigint, family: Family): string => {
  const n = family === "ipv4" ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes[i] = Number((v >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return formatIp({ family, bytes });
};

function rangeOf(text: string, c: Cidr): Range {
  const bits = c.family === "ipv4" ? 32 : 128;
  const first = toBig(cidrNetwork(c).bytes);
  const size = 1n << BigInt(bits - c.prefix);
  return { text, family: c.family, first, last: first + size - 1n };
}

const overlaps = (a: Range, b: Range): boolean => a.family === b.family && a.first <= b.last && b.first <= a.last;

/** A canonical IP and its family, or undefined. */
function ipOf(text: string): { ip: string; family: Family; value: bigint } | undefined {
  const a = parseIp(text);
  return a ? { ip: formatIp(a), family: a.family, value: toBig(a.bytes) } : undefined;
}

const FAMILY: Readonly<Record<"IPv4" | "IPv6", Family>> = { IPv4: "ipv4", IPv6: "ipv6" };
const other = (f: Family): Family => (f === "ipv4" ? "ipv6" : "ipv4");

/** True when the allocator handles this Service (type LoadBalancer and our class). */
export function handles(s: Pick<ServiceInfo, "type" | "loadBalancerClass">, cfg: Pick<AllocConfig, "loadbalancerDefaultClass">): boolean {
  if (s.type !== "LoadBalancer") return false;
  return s.loadBalancerClass === LB_CLASS || (s.loadBalancerClass === undefined && cfg.loadbalancerDefaultClass);
}

/** The ranges to allocate from, with a warning per skipped flag value. */
export function parseRanges(cfg: AllocConfig): { ranges: Range[]; warnings: string[] } {
  const warnings: string[] = [];
  const cluster = cfg.serviceClusterIpRange.flatMap((t) => {
    const c = parseCidr(t);
    return c ? [rangeOf(t, c)] : [];
  });
  const ranges: Range[] = [];
  for (const text of cfg.loadbalancerIpRange) {
    const c = parseCidr(text.trim());
    if (!c) { warnings.push(`--loadbalancer-ip-range: ${JSON.stringify(text)} is not a CIDR; skipped`); continue; }
    const r = rangeOf(text.trim(), c);
    const hit = cluster.find((k) => overlaps(k, r));
    if (hit) { warnings.push(`--loadbalancer-ip-range: ${r.text} overlaps --service-cluster-ip-range ${hit.text}; skipped`); continue; }
    const dup = ranges.find((k) => overlaps(k, r));
    if (dup) { warnings.push(`--loadbalancer-ip-range: ${r.text} overlaps ${dup.text} given before it; skipped`); continue; }
    ranges.push(r);
  }
  return { ranges, warnings };
}

const svcKey = (s: Pick<ServiceInfo, "namespace" | "name">): string => `${s.namespace}/${s.name}`;
/** Creation order (a missing timestamp sorts last), then namespace/name. */
const byAge = (a: ServiceInfo, b: ServiceInfo): number => {
  const ta = a.creationTimestamp ?? "\uffff";
  const tb = b.creationTimestamp ?? "\uffff";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = svcKey(a);
  const kb = svcKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** Allocates; see the module comment. Never throws. */
export function allocate(services: Iterable<ServiceInfo>, cfg: AllocConfig): AllocResult {
  const { ranges, warnings } = parseRanges(cfg);
  /** Service key → its problems, in the order warned. */
  const problems = new Map<string, LbProblem[]>();
  const warn = (k: string, reason: string, message: string) => {
    warnings.push(message);
    problems.set(k, [...(problems.get(k) ?? []), { reason, message }]);
  };
  const all = [...services].sort(byAge);
  const handled = all.filter((s) => handles(s, cfg));
  const handledKeys = new Set(handled.map(svcKey));
  /** IP → the Service (key) holding it. */
  const owner = new Map<string, string>();
  const inRange = (v: { family: Family; value: bigint }) => ranges.some((r) => r.family === v.family && r.first <= v.value && v.value <= r.last);
  const statusIps = (s: ServiceInfo): string[] => s.loadBalancerIngress.flatMap((i) => (i.ip ? [i.ip] : []));

  // 3. taken: status of LoadBalancer Services and externalIPs, first holder (in order) wins
  const kept = new Map<string, string[]>();
  for (const s of all) {
    const k = svcKey(s);
    const mine: string[] = [];
    const claims = [...(s.type === "LoadBalancer" ? statusIps(s) : []), ...s.externalIPs];
    for (const text of claims) {
      const v = ipOf(text);
      if (!v) continue;
      const holder = owner.get(v.ip);
      if (holder !== undefined && holder !== k) {
        if (handledKeys.has(k) && statusIps(s).includes(text)) warn(k, REASONS.conflict, `Service ${k}: status.loadBalancer.ingress IP ${v.ip} is also held by Service ${holder}; left to ${holder}`);
        continue;
      }
      owner.set(v.ip, k);
      if (s.type === "LoadBalancer" && statusIps(s).includes(text) && !mine.includes(v.ip)) mine.push(v.ip);
    }
    if (handledKeys.has(k)) kept.set(k, mine);
  }

  // 5. families each handled Service wants
  const wants = new Map<string, { families: Family[]; policy: string }>();
  for (const s of handled) {
    const declared = (s.ipFamilies ?? []).map((f) => FAMILY[f]);
    const firstFamily = declared[0] ?? (s.clusterIPs.map((c) => ipOf(c)?.family).find((f) => f !== undefined) ?? "ipv4");
    const policy = s.ipFamilyPolicy ?? "SingleStack";
    wants.set(svcKey(s), { families: policy === "SingleStack" ? [firstFamily] : [firstFamily, other(firstFamily)], policy });
  }
  const hasFamily = (k: string, f: Family) => (kept.get(k) ?? []).some((ip) => ipOf(ip)?.family === f);

  // 4. requested IPs, reserved before dynamic allocation; `ip` absent = pending for `family`
  const requested = new Map<string, { ip?: string; family?: Family }>();
  for (const s of handled) {
    const k = svcKey(s);
    const text = s.loadBalancerIP?.trim();
    if (!text) continue;
    const v = ipOf(text);
    const want = wants.get(k)!;
    if (v && (kept.get(k) ?? []).includes(v.ip)) continue; // already has it
    if (!v) { warn(k, REASONS.requested, `Service ${k}: spec.loadBalancerIP ${JSON.stringify(text)} is not an IP address; pending`); requested.set(k, {}); continue; }
    if (!want.families.includes(v.family)) { warn(k, REASONS.requested, `Service ${k}: spec.loadBalancerIP ${v.ip} is ${v.family}, the Service asks for ${want.families.join(" and ")}; pending`); requested.set(k, {}); continue; }
    if (hasFamily(k, v.family)) continue; // its IP of that family stays for its life
    if (!inRange(v)) { warn(k, REASONS.requested, `Service ${k}: spec.loadBalancerIP ${v.ip} is outside every --loadbalancer-ip-range; pending`); requested.set(k, { family: v.family }); continue; }
    const holder = owner.get(v.ip);
    if (holder !== undefined && holder !== k) { warn(k, REASONS.requested, `Service ${k}: spec.loadBalancerIP ${v.ip} is held by Service ${holder}; not taken from it, pending`); requested.set(k, { family: v.family }); continue; }
    owner.set(v.ip, k);
    requested.set(k, { ip: v.ip, family: v.family });
  }

  // 6. dynamic: lowest free IP of the family's ranges, in flag order
  // IPs only get taken during one render, so the lowest free IP of a family only moves up:
  // a cursor per family keeps allocating n Services linear in n, not quadratic
  const cursor = new Map<Family, { ri: number; v: bigint }>();
  const nextFree = (f: Family): string | undefined => {
    const c = cursor.get(f) ?? { ri: 0, v: -1n };
    for (let ri = c.ri; ri < ranges.length; ri++) {
      const r = ranges[ri]!;
      if (r.family !== f) continue;
      for (let v = ri === c.ri && c.v >= r.first ? c.v : r.first; v <= r.last; v++) {
        const ip = fromBig(v, f);
        if (!owner.has(ip)) { cursor.set(f, { ri, v }); return ip; }
      }
    }
    cursor.set(f, { ri: ranges.length, v: 0n });
    return undefined;
  };
  const rows: LbStatus[] = [];
  for (const s of handled) {
    const k = svcKey(s);
    const { families, policy } = wants.get(k)!;
    const ingress = [...(kept.get(k) ?? [])];
    const req = requested.get(k);
    const fresh: string[] = [];
    let short = false;
    for (const f of families) {
      if (ingress.some((ip) => ipOf(ip)?.family === f)) continue;
      if (req !== undefined && (req.family ?? families[0]) === f) {
        // the requested IP, or pending for this family (warned above)
        if (req.ip !== undefined) fresh.push(req.ip);
        else short = true;
        continue;
      }
      const ip = ranges.some((r) => r.family === f) ? nextFree(f) : undefined;
      if (ip !== undefined) { fresh.push(ip); continue; }
      if (policy === "PreferDualStack" && f !== families[0]) continue; // what is free, quietly
      short = true;
      const why = ranges.some((r) => r.family === f) ? `no free ${f} address in --loadbalancer-ip-range` : `no ${f} range in --loadbalancer-ip-range`;
      warn(k, REASONS.exhausted, `Service ${k}: ${why}; ${policy === "RequireDualStack" ? "RequireDualStack needs both families; " : ""}pending`);
    }
    // RequireDualStack short of a family takes no new IP (a reserved requested IP stays reserved for it)
    if (!(policy === "RequireDualStack" && short)) {
      for (const ip of fresh) owner.set(ip, k);
      ingress.push(...fresh);
    }
    rows.push({
      namespace: s.namespace, name: s.name, ingress, resourceVersion: s.resourceVersion ?? "",
      current: statusIps(s).flatMap((t) => { const v = ipOf(t); return v ? [v.ip] : []; }),
      ...(problems.has(k) ? { problems: problems.get(k)! } : {}),
    });
  }
  return { rows, warnings };
}
