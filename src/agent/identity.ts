/**
 * The node's identity on this host: its name and its state directory (per node, never shared:
 * several agents may run on one host in different network namespaces).
 *
 * @category agent
 */
import { hostname } from "node:os";
import { join } from "node:path";
import type { NodeConfig } from "../model/config.ts";

/** The node name: --hostname-override, else NODE_NAME, else the hostname (upstream's order). */
export function resolveNodeName(cfg: NodeConfig): string {
  return cfg.hostnameOverride || cfg.nodeNameEnv || hostname();
}

/** The state directory: --state-dir, else /var/run/kube-router/<node> (per node, never shared). */
export function resolveStateDir(cfg: NodeConfig, nodeName: string): string {
  return cfg.stateDir ?? join("/var/run/kube-router", nodeName);
}
