/**
 * What the agent's two API writers (the LoadBalancer allocator's kube-status driver and the
 * route extender's kube-configmap driver) share: a client from `--kubeconfig`/`--master`/
 * in-cluster, this agent's identity (`POD_NAME`, else the node name, else `NODE_NAME`), and —
 * for the long-running agent only (not `--dry-run`, not `--once`: an operator's explicit
 * one-shot writes without a Lease) — a leader elector on the named Lease in `POD_NAMESPACE`
 * (default kube-system). The API client is loaded only when called.
 *
 * @category agent
 */
import type { KubeHttp } from "../model/kube-http.ts";
import type { LeaseElector } from "../apply/kube-status/lease.ts";
import type { NodeConfig } from "../model/config.ts";

export interface KubeWriter {
  /** Calls to the API server the flags name (sources/kube/request.ts). */
  readonly http: KubeHttp;
  readonly identity: string;
  /** Present when this agent must hold the Lease to write. */
  readonly elector?: (onChange: (leader: boolean) => void) => LeaseElector;
}

/** The client, identity and (long-running agent) Lease elector for `leaseName`. Throws one line on a bad kubeconfig. */
export async function kubeWriter(
  config: NodeConfig, env: Readonly<Record<string, string | undefined>>, nodeName: string | undefined, leaseName: string, log?: (line: string) => void,
): Promise<KubeWriter> {
  const { loadKubeConfig } = await import("../sources/kube/config.ts");
  const { kubeHttp } = await import("../sources/kube/request.ts");
  const { LeaseElector, leaseApi } = await import("../apply/kube-status/lease.ts");
  const http = kubeHttp(loadKubeConfig({ ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}), ...(config.master ? { master: config.master } : {}) }));
  const identity = env["POD_NAME"] || nodeName || env["NODE_NAME"] || "kube-router";
  if (config.dryRun || config.once) return { http, identity };
  const namespace = env["POD_NAMESPACE"] || "kube-system";
  return {
    http, identity,
    elector: (onChange) => new LeaseElector(leaseApi(http, namespace, leaseName), { identity, onChange, leaseName, ...(log ? { onError: log } : {}) }),
  };
}
