/**
 * Picks the agent's ClusterSource from the flags: `--snapshot FILE` → the snapshot-watching
 * source (syncs on file change); otherwise the Kubernetes API (`--kubeconfig`, `--master`, or
 * in-cluster). The source modules are loaded on demand, so `--once --snapshot` never loads the
 * API client (nor the snapshot watcher).
 *
 * Fails (rejects) only for configuration errors (a kubeconfig that does not parse), with a
 * one-line message; an unreachable API server is not an error here (the source retries).
 *
 * @category agent
 */
import { type InputWarning, formatWarning } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { SourceLog } from "../../sources/kube/index.ts";
import type { ClusterSource } from "../../sources/source.ts";
import { resolveNodeName } from "../identity.ts";
import type { Logger } from "./log.ts";

/** A source's log callback, into pino (component "source"). */
export function sourceLogger(log: Logger): SourceLog {
  const child = log.child({ component: "source" });
  return (level, msg, fields) => child[level]({ ...fields }, msg);
}

/** Input warnings (objects skipped or defaulted), each logged once by the source, naming the object. */
export function warningLogger(log: Logger): (w: InputWarning) => void {
  const child = log.child({ component: "source" });
  return (w) => child.warn({ kind: w.kind, ...(w.ref ? { object: w.ref } : {}), ...(w.field ? { field: w.field } : {}) }, formatWarning(w));
}

/**
 * The ConfigMaps the API source watches (each by fieldSelector, into `snapshot().configMaps`):
 * the route extender's own ConfigMap (`--route-extender-configmap-namespace/-name`,
 * `kube-system/kube-chorus-router` by default) with `--run-route-extender`; none otherwise.
 */
export function watchedConfigMaps(cfg: NodeConfig): readonly { namespace: string; name: string }[] {
  // the route extender reads its ConfigMap back (its allocation, its own address)
  return cfg.runRouteExtender ? [{ namespace: cfg.routeExtenderConfigmapNamespace, name: cfg.routeExtenderConfigmapName }] : [];
}

/** Builds (does not start) the source the flags ask for. Throws KubeConfigError (one line) for a bad kubeconfig. */
export async function makeSource(cfg: NodeConfig, log: Logger): Promise<ClusterSource> {
  const opts = { log: sourceLogger(log), onWarning: warningLogger(log) };
  if (cfg.snapshot !== undefined) {
    const { createSnapshotWatchSource } = await import("../../sources/snapshot-watch.ts");
    const log2 = opts.log;
    return createSnapshotWatchSource({ path: cfg.snapshot, nodeName: resolveNodeName(cfg), onWarning: opts.onWarning, log: (level, msg) => log2(level, msg) });
  }
  const { createKubeSource } = await import("../../sources/kube/index.ts");
  return createKubeSource({
    ...(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}),
    ...(cfg.master ? { master: cfg.master } : {}),
    configMaps: watchedConfigMaps(cfg),
    ...opts,
  });
}
