/**
 * The service proxy (`--run-service-proxy`), rendered purely: see render.ts for the
 * guarantees, controller.ts for ownership, health.ts for the healthCheckNodePort set and
 * ipvsadm-text.ts for the `ipvsadm -Sn` form of the IPVS tables.
 *
 * @category render
 */
export { proxyController } from "./controller.ts";
export { type ProxyRender, renderProxy, renderProxyFull } from "./render.ts";
export { type HealthCheck, type DsrPod } from "./service.ts";
export { desiredHealthChecks } from "./health.ts";
export { ipvsText } from "./ipvsadm-text.ts";
export { allocateFwmarks, fnv1a32, fwmarkKey } from "./fwmark.ts";
