/**
 * No silent flags: for every upstream kube-router flag, whether it works here or which values
 * ask for something not built yet, with a one-line reason. One declaration per flag in
 * `FLAG_STATUS`; when a feature lands, its flags flip to `works(…)` one line each.
 *
 * The rule (also in the README): a flag is refused when its value asks for something not
 * built *and* it would matter, i.e. the controller it belongs to is on:
 * - `on` — a switch that is off by default, set to true (`--run-loadbalancer`, `--enable-bfd`);
 * - `changed` — a setting of an unbuilt feature given a value other than upstream's default
 *   (`--peer-router-ips=10.0.0.1`, `--bgp-port=1179`);
 * - `explicit-on` — a switch that is ON by default upstream (
 *   `--enable-ibgp`, `--advertise-pod-cidr`, `--disable-source-dest-check`) is refused only
 *   when given on the command line as true: an operator who did not pass it is not refused,
 *   and `=false` is honoured as is (we never do the thing it turns off);
 * - `given` — any explicit value asks for the feature (`--nodes-full-mesh`: true is the iBGP
 *   mesh, false the per-node-ASN mesh; both are BGP).
 *
 * Guarantees: `refusals` is pure and total (every upstream flag has exactly one declaration,
 * checked by a test), returns refusals in flag-name order, and never prints a secret's value.
 *
 * @category agent
 */
import { DEFAULT_CONFIG, type NodeConfig, formatGoDuration } from "../model/config.ts";
import { deepEqual } from "../model/table.ts";
import { FLAGS, type FlagSpec } from "./flags.ts";
import { extenderSettings } from "../render/extender/config.ts";

/** The controller a flag belongs to: /healthz reports a refusal under this name. */
export type FlagOwner = "router" | "bgp" | "proxy" | "firewall" | "loadbalancer" | "extender" | "agent";

/** Which values ask for the unbuilt feature (see the module comment). */
export type Asks = "on" | "changed" | "explicit-on" | "given";

export interface Works {
  readonly status: "works";
  /** Optional qualifier shown in the README table. */
  readonly note?: string;
}

export interface Unbuilt {
  readonly status: "unbuilt";
  readonly owner: FlagOwner;
  readonly asks: Asks;
  /** What is missing, one short clause: `BGP is not built yet`. */
  readonly missing: string;
  /** The flag matters only while this also holds (besides its owner being on). */
  readonly onlyWith?: { readonly flag: string; readonly holds: (c: NodeConfig) => boolean };
  /** Never print the value. */
  readonly secret?: boolean;
}

export type FlagStatus = Works | Unbuilt;

const works = (note?: string): Works => (note === undefined ? { status: "works" } : { status: "works", note });
const unbuilt = (owner: FlagOwner, asks: Asks, missing: string, more: Partial<Pick<Unbuilt, "onlyWith" | "secret">> = {}): Unbuilt =>
  ({ status: "unbuilt", owner, asks, missing, ...more });

const LB = "the LoadBalancer IP allocator is not built yet";

/** Every upstream flag's status. Flip one line to `works(…)` when its feature lands. */
export const FLAG_STATUS: Readonly<Record<string, FlagStatus>> = {
  // §1.1 global / process
  "run-router": works(),
  "run-service-proxy": works(),
  "run-firewall": works(),
  "run-loadbalancer": works("the LoadBalancer IP allocator (render/lballoc, apply/kube-status): the Lease holder writes Services' status"),
  kubeconfig: works(),
  master: works(),
  "hostname-override": works(),
  "cache-sync-timeout": works(),
  "cleanup-config": works(),
  "enable-ipv4": works(),
  "enable-ipv6": works(),
  "health-addr": works(),
  "health-port": works(),
  "metrics-addr": works(),
  "metrics-port": works(),
  "metrics-path": works(),
  "enable-pprof": unbuilt("agent", "on", "the pprof debug server is not built (Node has no pprof; use node --inspect or --heap-prof)"),
  v: works("0 info, 1 debug (plans), 2+ trace (every command)"),
  help: works(),
  version: works(),
  "service-cluster-ip-range": works(),
  "service-external-ip-range": works(),
  "loadbalancer-ip-range": works("proxy, firewall, and the allocator's pools with --run-loadbalancer"),
  "strict-external-ip-validation": works(),
  "service-node-port-range": works(),
  // §1.2 service proxy
  "ipvs-sync-period": works(),
  "ipvs-permit-all": works(),
  "ipvs-graceful-termination": works(),
  "ipvs-graceful-period": works("per real server, its pod's terminationGracePeriodSeconds wins when set and non-zero, as upstream"),
  "masquerade-all": works(),
  "nodeport-bindon-all-ip": works(),
  "hairpin-mode": works(),
  "excluded-cidrs": works(),
  "runtime-endpoint": works(),
  "service-tcp-timeout": works(),
  "service-tcpfin-timeout": works(),
  "service-udp-timeout": works(),
  // §1.3 network policy
  "iptables-sync-period": works(),
  "netpol-default-deny": works(),
  "use-nftables-for-netpol": unbuilt("firewall", "on", "the nftables NetworkPolicy backend is not built (the iptables one is)"),
  // §1.4 routing / BGP / overlay / CNI
  "routes-sync-period": works(),
  "injected-routes-sync-period": works("the bgp controller's full resync period is the smaller of this and --routes-sync-period; learned-route changes apply at once"),
  "cluster-asn": works(),
  "nodes-full-mesh": works(),
  "enable-ibgp": works(),
  "peer-router-ips": works(),
  "peer-router-asns": works(),
  "peer-router-ports": works(),
  "peer-router-passwords": works(),
  "peer-router-passwords-file": works(),
  "peer-router-multihop-ttl": works(),
  "bgp-port": works(),
  "bgp-holdtime": works(),
  "bgp-graceful-restart": works(),
  "bgp-graceful-restart-time": works(),
  "bgp-graceful-restart-deferral-time": works(),
  "enable-bfd": works("on the external peers from --peer-router-* (the peers annotation has its own bfd block)"),
  "bfd-port": works(),
  "bfd-detection-multiplier": works(),
  "bfd-desired-min-tx-interval": works(),
  "bfd-required-min-rx-interval": works(),
  "router-id": works(),
  "override-nexthop": works(),
  "advertise-cluster-ip": works(),
  "advertise-external-ip": works(),
  "advertise-loadbalancer-ip": works(),
  "advertise-pod-cidr": works(),
  "gobgp-admin-address": works(),
  "gobgp-admin-port": works("opt-in: the admin API listens only when this flag is given"),
  "enable-overlay": works("with =false a peer on another subnet gets no route (a warning names it): the network must route pod CIDRs, as upstream"),
  "overlay-type": works(),
  "overlay-encap": works("ipip, fou, and vxlan (ours); ipip/fou checked on fakes only (no such modules on the CI kernel)"),
  "overlay-encap-port": works("0 = the encap's default: fou 5555 (upstream's), vxlan 4789"),
  "enable-cni": works(),
  "auto-mtu": works(),
  "enable-pod-egress": works(),
  "disable-source-dest-check": unbuilt("router", "explicit-on", "disabling the AWS EC2 source/destination check is not built; disable it in AWS"),
  // §1.5 LoadBalancer allocator
  "loadbalancer-default-class": works(),
  "loadbalancer-sync-period": works("the allocator lane's full-sync period"),
};

/** One refused flag: `line` names the flag, its value and what is missing. */
export interface Refusal {
  readonly flag: string;
  readonly owner: FlagOwner;
  readonly line: string;
}

/** True when the controller owning a flag is on (a refusal only matters then). */
export function ownerOn(owner: FlagOwner, c: NodeConfig): boolean {
  switch (owner) {
    case "router": return c.runRouter;
    case "bgp": return c.runRouter;
    case "proxy": return c.runServiceProxy;
    case "firewall": return c.runFirewall;
    case "loadbalancer": return c.runLoadbalancer;
    case "extender": return c.runRouteExtender;
    case "agent": return true;
  }
}

function asksFor(s: Unbuilt, spec: FlagSpec, c: NodeConfig, given: boolean): boolean {
  const v: unknown = c[spec.key];
  switch (s.asks) {
    case "on": return v === true;
    case "explicit-on": return given && v === true;
    case "given": return given;
    case "changed": return !deepEqual(v, DEFAULT_CONFIG[spec.key]);
  }
}

/** `--flag=value` as the operator wrote it (lists comma-joined; secrets masked). */
function shown(spec: FlagSpec, s: Unbuilt, c: NodeConfig): string {
  if (s.secret) return `--${spec.name}=<hidden>`;
  const v: unknown = c[spec.key];
  const text = Array.isArray(v) ? v.join(",") : spec.kind.t === "duration" ? formatGoDuration(v as number) : String(v);
  return `--${spec.name}=${text}`;
}

/** The refusals of `c`, in flag-name order (empty = every flag given works). Pure. */
export function refusals(c: NodeConfig): Refusal[] {
  const given = new Set(c.flagsGiven ?? []);
  const out: Refusal[] = [];
  for (const spec of FLAGS) {
    const s = FLAG_STATUS[spec.name];
    if (s === undefined || s.status === "works") continue;
    if (!ownerOn(s.owner, c) || (s.onlyWith && !s.onlyWith.holds(c))) continue;
    if (!asksFor(s, spec, c, given.has(spec.name))) continue;
    out.push({ flag: spec.name, owner: s.owner, line: `${shown(spec, s, c)}: ${s.missing} (${s.owner} ${s.owner === "agent" ? "process" : "controller"})` });
  }
  return [...out, ...extenderRefusals(c)];
}

/**
 * With `--run-route-extender`, each invalid extender setting (render/extender/config.ts) is a
 * refusal of the extender controller: its lane is parked, `--once` exits 1, the others run.
 */
function extenderRefusals(c: NodeConfig): Refusal[] {
  if (!c.runRouteExtender) return [];
  const r = extenderSettings(c);
  return "errors" in r ? r.errors.map((line) => ({ flag: /--([a-z-]+)/.exec(line)?.[1] ?? "run-route-extender", owner: "extender" as const, line: `${line} (extender controller)` })) : [];
}
