/**
 * healthCheckNodePort servers (kube-router-features.md §3.2): for every Service with
 * `spec.healthCheckNodePort` the proxy renders, an HTTP server on that port answers
 * `GET /healthz` with 200 `N Service Endpoints found` while the Service has N ≥ 1 local,
 * ready, non-terminating endpoints, and 503 `No Service Endpoints Found` otherwise; any other
 * path is 404. Load balancers use it to send externalTrafficPolicy=Local traffic only to
 * nodes with a local endpoint.
 *
 * `reconcile(desired)` makes the running set match (the list from the pure
 * proxy render's `healthChecks` table): starts missing servers, stops servers no
 * longer wanted, and updates counts in place (a count change never restarts a server, so no
 * probe sees a refused connection). It never throws: a port that cannot be bound is reported
 * in `errors` (one line naming the Service and port) and retried on the next reconcile.
 * The healthcheck driver (driver.ts) calls it from a planned change; `close()` on shutdown.
 *
 * @category apply
 */
import { type Server, createServer } from "node:http";
import type { HealthCheck } from "../../model/state.ts";

export interface ReconcileResult {
  readonly started: readonly number[];
  readonly stopped: readonly number[];
  readonly errors: readonly string[];
}

export interface HealthCheckServers {
  reconcile(desired: readonly HealthCheck[]): Promise<ReconcileResult>;
  /** Ports served now, ascending. */
  ports(): number[];
  /** The checks served now (what each port answers), ascending by port. */
  checks(): HealthCheck[];
  /** Stops every server. */
  close(): Promise<void>;
}

export interface HealthCheckOptions {
  /** Bind address; default all addresses (as upstream). */
  readonly host?: string;
}

interface Running {
  readonly server: Server;
  check: HealthCheck;
}

/** Answers one request for a check (exported for tests of the protocol alone). */
export function healthResponse(path: string | undefined, check: HealthCheck): { status: number; body: string } {
  if ((path ?? "").split("?")[0] !== "/healthz") return { status: 404, body: "404 page not found\n" };
  return check.localEndpoints > 0
    ? { status: 200, body: `${check.localEndpoints} Service Endpoints found\n` }
    : { status: 503, body: "No Service Endpoints Found\n" };
}

/** Creates the (initially empty) set of servers. */
export function healthCheckServers(opts: HealthCheckOptions = {}): HealthCheckServers {
  const running = new Map<number, Running>();

  const start = (check: HealthCheck): Promise<Running> =>
    new Promise((resolve, reject) => {
      const entry: { check: HealthCheck } = { check };
      const server = createServer((req, res) => {
        const r = healthResponse(req.url, entry.check);
        res.writeHead(r.status, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" });
        res.end(r.body);
      });
      server.keepAliveTimeout = 1000;
      server.once("error", reject);
      server.listen({ port: check.port, ...(opts.host ? { host: opts.host } : {}) }, () => {
        server.off("error", reject);
        const r: Running = { server, get check() { return entry.check; }, set check(c: HealthCheck) { entry.check = c; } };
        resolve(r);
      });
    });

  const stop = (r: Running): Promise<void> =>
    new Promise((resolve) => {
      r.server.close(() => resolve());
      r.server.closeAllConnections();
    });

  return {
    async reconcile(desired) {
      const want = new Map<number, HealthCheck>();
      for (const c of desired) if (!want.has(c.port)) want.set(c.port, c);
      const stopped: number[] = [];
      for (const [port, r] of [...running]) {
        if (want.has(port)) continue;
        running.delete(port);
        await stop(r);
        stopped.push(port);
      }
      const started: number[] = [];
      const errors: string[] = [];
      for (const [port, check] of want) {
        const r = running.get(port);
        if (r) { r.check = check; continue; }
        try {
          running.set(port, await start(check));
          started.push(port);
        } catch (e) {
          errors.push(`healthCheckNodePort ${port} of Service ${check.namespace}/${check.name}: ${(e as Error).message}`);
        }
      }
      return { started: started.sort((a, b) => a - b), stopped: stopped.sort((a, b) => a - b), errors };
    },
    ports: () => [...running.keys()].sort((a, b) => a - b),
    checks: () => [...running.values()].map((r) => r.check).sort((a, b) => a.port - b.port),
    async close() {
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map(stop));
    },
  };
}
