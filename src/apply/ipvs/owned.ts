/**
 * Which IPVS virtual services are ours (DESIGN.md §5: "IPVS services for VIPs we render";
 * foreign ones are never touched). Pure.
 *
 * A virtual service is owned when
 * - its VIP is the VIP of some service in the rendered scope (the proxy renders it now; this
 *   covers NodePort services on node IPs, and stale ports of a VIP we still serve), or
 * - its VIP is an address on `kube-dummy-if` (every non-DSR VIP we ever rendered lives there
 *   until we prune it, so a service whose Service object is gone is still recognised; this
 *   is what `--cleanup-config` relies on: kernel state alone), or lies in one of the service
 *   ranges (`--service-cluster-ip-range`, `--service-external-ip-range`,
 *   `--loadbalancer-ip-range`), or is a local address of the node with a port in
 *   `--service-node-port-range` (a NodePort service) — unless the VIP lies in an
 *   `--excluded-cidrs` range;
 * - for fwmark (DSR) services: its mark is rendered now, or an `ip rule fwmark M lookup 78`
 *   (the DSR table, names.ts OWNED_RULE_TABLES) exists for it;
 * - or always, when the operator says we own IPVS (`ownAll`).
 *
 * So a foreign IPVS service is one on an address outside our ranges (or excluded) that is
 * not on kube-dummy-if and not a local address with a NodePort-range port.
 *
 * @category apply
 */
import { cidrContains } from "../../model/ip.ts";
import type { IpvsService, NodeState } from "../../model/state.ts";

export interface IpvsOwnership {
  /** VIPs rendered now (canonical IP text). */
  readonly renderedVips: ReadonlySet<string>;
  /** fwmark service keys rendered now (`fwmark/ipv4/4660`). */
  readonly renderedMarks: ReadonlySet<string>;
  /** Addresses on kube-dummy-if (canonical IP, no prefix); undefined when not read. */
  readonly dummyVips?: ReadonlySet<string>;
  /** Every local address of the node (canonical IP); undefined when not read. */
  readonly localAddrs?: ReadonlySet<string>;
  /** Service CIDRs whose every VIP is ours (cluster IP, external IP and LoadBalancer ranges). */
  readonly serviceCidrs?: readonly string[];
  /** `--service-node-port-range` as [first, last]. */
  readonly nodePortRange?: readonly [number, number];
  /** fwmarks (per family: `ipv4/4660`) of `ip rule … lookup 78`; undefined when not read. */
  readonly dsrMarks?: ReadonlySet<string>;
  readonly excludedCidrs?: readonly string[];
  readonly ownAll?: boolean;
}

/** VIPs and fwmark keys rendered in a (desired / scope) state. */
export function renderedIpvs(scope: Pick<NodeState, "ipvsServices">): Pick<IpvsOwnership, "renderedVips" | "renderedMarks"> {
  const renderedVips = new Set<string>();
  const renderedMarks = new Set<string>();
  for (const [k, s] of scope.ipvsServices) {
    if (s.protocol === "fwmark") renderedMarks.add(k);
    else renderedVips.add(s.address);
  }
  return { renderedVips, renderedMarks };
}

/** True when rendered state alone proves ownership (no kernel read needed). */
export function ownedByRender(s: IpvsService, o: Pick<IpvsOwnership, "renderedVips" | "renderedMarks" | "ownAll">): boolean {
  if (o.ownAll) return true;
  return s.protocol === "fwmark"
    ? o.renderedMarks.has(`fwmark/${s.family}/${s.fwmark ?? 0}`)
    : o.renderedVips.has(s.address);
}

/** The ownership predicate (see the module comment). */
export function ownsIpvsService(s: IpvsService, o: IpvsOwnership): boolean {
  if (ownedByRender(s, o)) return true;
  if (s.protocol === "fwmark") return o.dsrMarks?.has(`${s.family}/${s.fwmark ?? 0}`) ?? false;
  if ((o.excludedCidrs ?? []).some((c) => cidrContains(c, s.address))) return false;
  if (o.dummyVips?.has(s.address)) return true;
  if ((o.serviceCidrs ?? []).some((c) => cidrContains(c, s.address))) return true;
  const [lo, hi] = o.nodePortRange ?? [1, 0];
  return (o.localAddrs?.has(s.address) ?? false) && s.port >= lo && s.port <= hi;
}

/** `30000-32767` → [30000, 32767]; undefined when malformed. */
export function parsePortRange(text: string): [number, number] | undefined {
  const m = /^(\d+)\s*[-:]\s*(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  return lo <= hi && hi <= 65535 ? [lo, hi] : undefined;
}
