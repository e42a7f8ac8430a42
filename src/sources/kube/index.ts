/**
 * The Kubernetes API source (our own list-watch informers over node:http). Entry points: `createKubeSource`,
 * `loadKubeConfig`, `KubeConfigError`. See kube-source.ts.
 *
 * @category sources
 */
export { createKubeSource, KubeSource, DEFAULT_WATCH_SILENCE_MS, type KubeSourceOptions, type KubeSourceDetails, type SourceLog } from "./kube-source.ts";
export { loadKubeConfig, KubeConfigError, KubeConnection, type ConnectionFlags } from "./config.ts";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export type { InformerStatus } from "./informer.ts";
