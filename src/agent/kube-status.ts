/**
 * Builds the kube-status driver (LoadBalancer status through the API) from the flags:
 * - `--run-loadbalancer` off: a driver with nothing to do (the allocator renders no rows);
 * - `--snapshot`: no API server; observe reports the snapshot's status, apply fails with one
 *   line (dry-run prints the patches);
 * - otherwise a client from `--kubeconfig`/`--master`/in-cluster; the long-running agent
 *   (not `--dry-run`, not `--once`) elects a leader through the Lease `kube-router-lballoc` in
 *   `POD_NAMESPACE` (default kube-system) as `POD_NAME` (default the node name), and only
 *   the leader writes. `--once` writes without the Lease (an operator's explicit one-shot).
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
  const { CoreV1Api, CoordinationV1Api } = await import("@kubernetes/client-node");
  const { loadKubeConfig } = await import("../sources/kube/config.ts");
  const { kubeServiceStatusApi } = await import("../apply/kube-status/client.ts");
  const { LeaseElector, leaseApi } = await import("../apply/kube-status/lease.ts");
  const { kubeEventApi } = await import("../apply/kube-status/events.ts");
  const kc = loadKubeConfig({ ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}), ...(config.master ? { master: config.master } : {}) });
  const core = kc.makeApiClient(CoreV1Api);
  const api = kubeServiceStatusApi(core);
  const elect = !config.dryRun && !config.once;
  const namespace = env["POD_NAMESPACE"] || "kube-system";
  const identity = env["POD_NAME"] || nodeName || env["NODE_NAME"] || "kube-router";
  const coord = kc.makeApiClient(CoordinationV1Api);
  return kubeStatusDriver({
    api, handles: ours, events: kubeEventApi(core, identity), ...(log ? { log } : {}),
    ...(elect ? { elector: (onChange: (leader: boolean) => void) => new LeaseElector(leaseApi(coord, namespace), { identity, onChange, ...(log ? { onError: log } : {}) }) } : {}),
  });
}
