/**
 * The healthCheckNodePort servers a node should run (kube-router-features.md §3.2): one per
 * Service with `spec.healthCheckNodePort` that the proxy renders, serving `/healthz` with 200
 * while the Service has ≥ 1 local ready, non-terminating endpoint and 503 otherwise. Pure: the
 * agent calls it after each render and hands the list to src/agent/healthcheck `reconcile`.
 * Two Services on one port (the API forbids it): the first in `namespace/name` order keeps it.
 *
 * @category render
 */
import type { RenderInput } from "../controller.ts";
import { renderProxyFull } from "./render.ts";
import type { HealthCheck } from "./service.ts";

/** The wanted servers, sorted by port, one per port; [] when the proxy does not render. */
export function desiredHealthChecks(input: RenderInput): HealthCheck[] {
  if (!input.config.runServiceProxy) return [];
  const seen = new Set<number>();
  return renderProxyFull(input).healthChecks.filter((h) => (seen.has(h.port) ? false : (seen.add(h.port), true)));
}
