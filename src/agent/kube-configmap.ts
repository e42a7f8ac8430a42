/**
 * Builds the kube-configmap driver (the route extender's ConfigMap through the API) from the
 * flags, as kube-status.ts does for the allocator:
 * - `--run-route-extender` off, or its settings invalid (refused before anything touches the
 *   API): a driver with nothing to do (the extender renders no rows);
 * - `--snapshot`: no API server; observe reports the snapshot's ConfigMap, apply fails with one
 *   line (dry-run prints the patch);
 * - otherwise a client from `--kubeconfig`/`--master`/in-cluster; the long-running agent (not
 *   `--dry-run`, not `--once`) elects a writer through the Lease `kube-router-route-extender`
 *   in `POD_NAMESPACE` (default kube-system) as `POD_NAME` (default the node name). `--once`
 *   writes without the Lease (an operator's explicit one-shot).
 *
 * @category agent
 */
import type { Driver } from "../apply/driver.ts";
import { EXTENDER_LEASE, kubeConfigMapDriver } from "../apply/kube-configmap/driver.ts";
import { kubeWriter } from "./kube-writer.ts";
import type { NodeConfig } from "../model/config.ts";
import { extenderSettings } from "../render/extender/config.ts";

export interface KubeConfigMapCaps {
  readonly config: NodeConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly nodeName?: string;
  readonly log?: (line: string) => void;
}

export async function realKubeConfigMapDriver({ config, env = process.env, nodeName, log }: KubeConfigMapCaps): Promise<Driver> {
  const logs = log ? { log } : {};
  if (!config.runRouteExtender || "errors" in extenderSettings(config)) return kubeConfigMapDriver(logs);
  if (config.snapshot !== undefined) {
    const { loadSnapshotFile } = await import("../sources/snapshot-file.ts");
    const file = config.snapshot;
    return kubeConfigMapDriver({ ...logs, readback: (ns, name) => { try { return loadSnapshotFile(file).snapshot.configMaps?.get(`${ns}/${name}`)?.data; } catch { return undefined; } } });
  }
  const { kubeConfigMapApi } = await import("../apply/kube-configmap/client.ts");
  const w = await kubeWriter(config, env, nodeName, EXTENDER_LEASE, log);
  return kubeConfigMapDriver({ api: kubeConfigMapApi(w.http), ...logs, ...(w.elector ? { elector: w.elector } : {}) });
}
