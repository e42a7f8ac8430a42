/**
 * The route extender's settings, validated (reference/route-extender.md §2.1, C2, E5 [fix]).
 * Pure. Every problem is one line naming the flag (and its upstream environment name) and
 * the value: a bad setting parks the extender (agent/flag-status.ts refusals: `--once` exits
 * 1, the long-running agent keeps its other controllers running) before anything touches
 * the API or the kernel.
 *
 * @category render
 */
import type { NodeConfig } from "../../model/config.ts";
import { type ExtenderNetwork, ipv4ToNumber, parseNetwork } from "./plan.ts";

export type ExtenderType = "VXLAN" | "IPIP";

export interface ExtenderSettings {
  readonly type: ExtenderType;
  /** VXLAN only */
  readonly network?: ExtenderNetwork;
  readonly vni?: number;
  readonly port?: number;
  /** the device's VTEP (VXLAN) */
  readonly vtep?: string;
  /** IPIP only */
  readonly tunnelEndpoint?: string;
  readonly namespace: string;
  readonly name: string;
  readonly skipTaints: ReadonlySet<string>;
}

type Fields = Pick<NodeConfig, "routeExtenderNetwork" | "routeExtenderVni" | "routeExtenderPort" | "routeExtenderVtepIp" | "routeExtenderType" |
  "routeExtenderTunnelEndpoint" | "routeExtenderConfigmapNamespace" | "routeExtenderConfigmapName" | "routeExtenderSkipTaints">;

const bad = (flag: string, env: string | undefined, value: string, why: string): string =>
  `invalid value ${JSON.stringify(value)} for --${flag}${env ? ` (${env})` : ""}: ${why}`;

/** A decimal integer in [lo, hi], or undefined. */
function intIn(text: string, lo: number, hi: number): number | undefined {
  if (!/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= lo && n <= hi ? n : undefined;
}

/** Validates the extender's flags; `{ errors }` lists every problem (one line each). Never throws. */
export function extenderSettings(c: Fields): { ok: ExtenderSettings } | { errors: string[] } {
  const errors: string[] = [];
  const namespace = c.routeExtenderConfigmapNamespace;
  const name = c.routeExtenderConfigmapName;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) errors.push(bad("route-extender-configmap-namespace", undefined, namespace, "not a namespace name"));
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) errors.push(bad("route-extender-configmap-name", undefined, name, "not a ConfigMap name"));
  const skipTaints = new Set(c.routeExtenderSkipTaints.map((t) => t.trim()).filter((t) => t !== ""));
  const base = { namespace, name, skipTaints };
  const type = c.routeExtenderType;
  if (type === "IPIP") {
    const te = c.routeExtenderTunnelEndpoint;
    if (ipv4ToNumber(te) === undefined) errors.push(bad("route-extender-tunnel-endpoint", "REMOTE_TUNNEL_ENDPOINT", te, te === "" ? "required with --route-extender-type=IPIP" : "not an IPv4 address"));
    return errors.length > 0 ? { errors } : { ok: { type, tunnelEndpoint: te, ...base } };
  }
  if (type !== "VXLAN") {
    errors.push(bad("route-extender-type", "TYPE", type, "must be exactly VXLAN or IPIP"));
    return { errors };
  }
  const net = c.routeExtenderNetwork;
  const network = parseNetwork(net);
  if (network === undefined) errors.push(bad("route-extender-network", "NETWORK", net, net === "" ? "required (an IPv4 CIDR, /8 to /30)" : "not an IPv4 CIDR (a.b.c.d/len)"));
  else if (network.prefix < 8 || network.prefix > 30) errors.push(bad("route-extender-network", "NETWORK", net, "prefix must be /8 to /30"));
  const vni = intIn(c.routeExtenderVni, 1, 16777215);
  if (vni === undefined) errors.push(bad("route-extender-vni", "VNID", c.routeExtenderVni, "must be 1-16777215"));
  const port = intIn(c.routeExtenderPort, 1, 65535);
  if (port === undefined) errors.push(bad("route-extender-port", "VXLAN_PORT", c.routeExtenderPort, "must be 1-65535"));
  const vtep = c.routeExtenderVtepIp;
  if (ipv4ToNumber(vtep) === undefined) errors.push(bad("route-extender-vtep-ip", "REMOTE_VTEPIP", vtep, vtep === "" ? "required (the device's VTEP IPv4)" : "not an IPv4 address"));
  if (errors.length > 0) return { errors };
  return { ok: { type, network: network!, vni: vni!, port: port!, vtep, ...base } };
}
