/**
 * An in-memory ServiceStatusApi: Services as the API server would hold them, a resourceVersion
 * bumped on every write, 409 on a stale one. Records each status write. For fake-node and
 * golden cases; `seed` takes the snapshot's Services.
 *
 * @category apply
 */
import type { ServiceInfo } from "../../model/cluster.ts";
import type { IngressEntry, ServiceObject, ServiceStatusApi, WriteResult } from "./api.ts";

export class MemoryServiceStatusApi implements ServiceStatusApi {
  private readonly objects = new Map<string, ServiceObject>();
  private rv = 1000;
  /** Every successful status write, in order: `namespace/name ip,ip`. */
  readonly writes: string[] = [];
  /** Called between a read and the write it bases (tests make conflicts with it). */
  beforeWrite: ((svc: ServiceObject) => void) | undefined;

  seed(services: Iterable<ServiceInfo>): this {
    for (const s of services) {
      this.objects.set(`${s.namespace}/${s.name}`, {
        namespace: s.namespace, name: s.name, resourceVersion: s.resourceVersion ?? String(++this.rv), type: s.type,
        ...(s.loadBalancerClass ? { loadBalancerClass: s.loadBalancerClass } : {}), ingress: s.loadBalancerIngress,
      });
    }
    return this;
  }

  /** Changes a Service as another writer would (bumps its resourceVersion). */
  touch(namespace: string, name: string, change: Partial<Pick<ServiceObject, "type" | "loadBalancerClass" | "ingress">> = {}): void {
    const o = this.objects.get(`${namespace}/${name}`);
    if (o) this.objects.set(`${namespace}/${name}`, { ...o, ...change, resourceVersion: String(++this.rv) });
  }

  delete(namespace: string, name: string): void {
    this.objects.delete(`${namespace}/${name}`);
  }

  async list(): Promise<ServiceObject[]> {
    return [...this.objects.values()];
  }

  async get(namespace: string, name: string): Promise<ServiceObject | undefined> {
    return this.objects.get(`${namespace}/${name}`);
  }

  async writeStatus(svc: ServiceObject, ingress: readonly IngressEntry[]): Promise<WriteResult> {
    this.beforeWrite?.(svc);
    const key = `${svc.namespace}/${svc.name}`;
    const now = this.objects.get(key);
    if (now === undefined) return "gone";
    if (now.resourceVersion !== svc.resourceVersion) return "conflict";
    this.objects.set(key, { ...now, ingress, resourceVersion: String(++this.rv) });
    this.writes.push(`${key} ${ingress.flatMap((i) => (i.ip ? [i.ip] : [])).join(",")}`);
    return "ok";
  }
}
