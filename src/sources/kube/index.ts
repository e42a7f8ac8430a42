/**
 * The Kubernetes API source (client-node 1.4 informers). Entry points: `createKubeSource`,
 * `loadKubeConfig`, `KubeConfigError`. See kube-source.ts.
 *
 * @category sources
 */
export { createKubeSource, KubeSource, DEFAULT_WATCH_SILENCE_MS, type KubeSourceOptions, type KubeSourceDetails, type SourceLog } from "./kube-source.ts";
export { loadKubeConfig, KubeConfigError, type ConnectionFlags } from "./config.ts";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export type { InformerStatus } from "./informer.ts";
