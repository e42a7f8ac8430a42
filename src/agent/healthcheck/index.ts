/**
 * healthCheckNodePort servers; see server.ts. The agent loop calls, after each sync:
 * `await servers.reconcile(desiredHealthChecks(renderInput))`.
 *
 * @category agent
 */
export { type HealthCheckServers, type HealthCheckOptions, type ReconcileResult, healthCheckServers, healthResponse } from "./server.ts";
export { desiredHealthChecks } from "../../render/proxy/health.ts";
