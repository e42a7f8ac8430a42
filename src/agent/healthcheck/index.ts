/**
 * healthCheckNodePort servers (src/apply/healthcheck/server.ts), re-exported for the agent and
 * tests. The healthcheck driver reconciles them from the proxy render's `healthChecks` table.
 *
 * @category agent
 */
export { type HealthCheckServers, type HealthCheckOptions, type ReconcileResult, healthCheckServers, healthResponse } from "../../apply/healthcheck/server.ts";
export { desiredHealthChecks } from "../../render/proxy/health.ts";
