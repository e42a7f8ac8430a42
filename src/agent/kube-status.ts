/**
 * Builds the kube-status driver (LoadBalancer status through the API) from the flags:
 * - `--run-loadbalancer` off: a driver with nothing to do (the allocator renders no rows);
 * - `--snapshot`: no API server; observe reports the snapshot's status, apply fails with one
 *   line (dry-run prints the patches);
 * - otherwise a client, identity and Lease elector from kube-writer.ts (Lease
 *   `kube-router-lballoc`): only the leader writes; `--once` writes without the Lease.
 *   Allocation problems become Warning Events on their Service (apply/kube-status/events.ts),
 *   reported by the same identity.
 * The Kubernetes client is loaded only when used (one-shot runs stay fast).
 *
 * @category agent
 */
import type { Driver } from "../apply/driver.ts";
import { kubeStatusDriver } from "../apply/kube-status/driver.ts";
import type { NodeConfig } from "../model/config.ts";
import { handles } from "../render/lballoc/allocate.ts";
import { kubeWriter } from "./kube-writer.ts";

export interface KubeStatusCaps {
  readonly config: NodeConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The node name (default identity when POD_NAME is not set). */
  readonly nodeName?: string;
  readonly log?: (line: string) => void;
}

export async function realKubeStatusDriver({ config, env = process.env, nodeName, log }: KubeStatusCaps): Promise<Driver> {
  const ours = (s: { type: string; loadBalancerClass?: string }) => handles({ type: s.type as "LoadBalancer", ...(s.loadBalancerClass !== undefined ? { loadBalancerClass: s.loadBalancerClass } : {}) }, config);
  if (!config.runLoadbalancer || config.snapshot !== undefined) return kubeStatusDriver({ handles: ours, ...(log ? { log } : {}) });
  const { kubeServiceStatusApi } = await import("../apply/kube-status/client.ts");
  const { kubeEventApi } = await import("../apply/kube-status/events.ts");
  const { LEASE_NAME } = await import("../apply/kube-status/lease.ts");
  const w = await kubeWriter(config, env, nodeName, LEASE_NAME, log);
  return kubeStatusDriver({
    api: kubeServiceStatusApi(w.http), handles: ours, events: kubeEventApi(w.http, w.identity), ...(log ? { log } : {}),
    ...(w.elector ? { elector: w.elector } : {}),
  });
}
