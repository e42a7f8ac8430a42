/**
 * A fake of the healthCheckNodePort servers: remembers what would be served, binds nothing.
 * `busy` ports refuse to bind, as a port another process holds would.
 *
 * @category apply
 */
import type { HealthCheck } from "../../model/state.ts";
import type { HealthCheckServers, ReconcileResult } from "./server.ts";

export class FakeHealthCheckServers implements HealthCheckServers {
  private readonly running = new Map<number, HealthCheck>();
  constructor(readonly busy: Set<number> = new Set()) {}

  async reconcile(desired: readonly HealthCheck[]): Promise<ReconcileResult> {
    const want = new Map<number, HealthCheck>();
    for (const c of desired) if (!want.has(c.port)) want.set(c.port, c);
    const stopped = [...this.running.keys()].filter((p) => !want.has(p));
    for (const p of stopped) this.running.delete(p);
    const started: number[] = [];
    const errors: string[] = [];
    for (const [port, check] of want) {
      if (this.running.has(port)) { this.running.set(port, check); continue; }
      if (this.busy.has(port)) { errors.push(`healthCheckNodePort ${port} of Service ${check.namespace}/${check.name}: listen EADDRINUSE: address already in use :::${port}`); continue; }
      this.running.set(port, check);
      started.push(port);
    }
    return { started: started.sort((a, b) => a - b), stopped: stopped.sort((a, b) => a - b), errors };
  }

  ports(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  checks(): HealthCheck[] {
    return [...this.running.values()].sort((a, b) => a.port - b.port);
  }

  async close(): Promise<void> {
    this.running.clear();
  }
}
