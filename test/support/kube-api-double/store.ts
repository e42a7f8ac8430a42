/**
 * The double's object store: objects per resource, one cluster-wide resourceVersion counter
 * (as etcd's revision), and a bounded event history that watches replay from.
 *
 * - Every write bumps the counter and stamps the object's `metadata.resourceVersion`; a new
 *   object also gets a `uid` and `creationTimestamp`; a namespaced object without a namespace
 *   goes to `default`.
 * - The history keeps the last `historyWindow` events. A watch from resourceVersion R can be
 *   served only when every event after R is still there (`R >= compactedThrough`); otherwise
 *   the caller answers 410 Gone, as the real server does after etcd compaction.
 * - Stored objects are never mutated in place (an update replaces the object), so a list page
 *   may keep references to them.
 */
import { randomUUID } from "node:crypto";
import { RESOURCES, type ResourceName, type ResourceSpec, apiVersionOf } from "./resources.ts";

export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };
export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  readonly rv: number;
  readonly resource: ResourceName;
  readonly namespace: string;
  readonly type: EventType;
  /** The object as sent on the wire (with kind and apiVersion). */
  readonly object: KubeObject;
}

const keyOf = (namespace: string, name: string): string => (namespace ? `${namespace}/${name}` : name);

export class ObjectStore {
  /** The latest resourceVersion handed out. */
  rv = 1000;
  /** Events with rv <= this are gone from the history. */
  compactedThrough = 1000;
  private readonly objects = new Map<ResourceName, Map<string, KubeObject>>(
    (Object.keys(RESOURCES) as ResourceName[]).map((r) => [r, new Map()]),
  );
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<(e: StoredEvent) => void>();

  constructor(private readonly historyWindow: number) {}

  /** Calls `fn` after every write; returns the unsubscribe function. */
  subscribe(fn: (e: StoredEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The current objects of a resource (optionally one namespace), sorted by key. */
  list(resource: ResourceName, namespace?: string): KubeObject[] {
    const table = this.objects.get(resource)!;
    const keys = [...table.keys()].sort();
    const out: KubeObject[] = [];
    for (const k of keys) {
      const o = table.get(k)!;
      if (namespace === undefined || o.metadata["namespace"] === namespace) out.push(o);
    }
    return out;
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(resource)!.get(keyOf(RESOURCES[resource].namespaced ? namespace || "default" : "", name));
  }

  /** Events after `rv` (exclusive) for a resource and namespace; undefined if compacted away. */
  eventsSince(rv: number, resource: ResourceName, namespace?: string): StoredEvent[] | undefined {
    if (rv < this.compactedThrough) return undefined;
    return this.history.filter((e) => e.rv > rv && e.resource === resource && (namespace === undefined || e.namespace === namespace));
  }

  /** Forgets the whole event history: any watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }

  /** Creates an object; throws if it exists. Returns the stored copy. */
  create(resource: ResourceName, obj: object): KubeObject {
    const o = this.prepare(resource, obj);
    const { namespace, name } = this.identity(resource, o);
    if (this.objects.get(resource)!.has(keyOf(namespace, name))) throw new Error(`${resource} ${keyOf(namespace, name)} already exists`);
    o.metadata["uid"] ??= randomUUID();
    o.metadata["creationTimestamp"] ??= new Date().toISOString();
    return this.write(resource, namespace, name, o, "ADDED");
  }

  /** Replaces an existing object (keeps its uid); throws if it does not exist. */
  update(resource: ResourceName, obj: object): KubeObject {
    const o = this.prepare(resource, obj);
    const { namespace, name } = this.identity(resource, o);
    const prev = this.objects.get(resource)!.get(keyOf(namespace, name));
    if (!prev) throw new Error(`${resource} ${keyOf(namespace, name)} not found`);
    o.metadata["uid"] = prev.metadata["uid"];
    o.metadata["creationTimestamp"] = prev.metadata["creationTimestamp"];
    return this.write(resource, namespace, name, o, "MODIFIED");
  }

  /** Creates or updates. */
  apply(resource: ResourceName, obj: object): KubeObject {
    const o = this.prepare(resource, obj);
    const { namespace, name } = this.identity(resource, o);
    return this.objects.get(resource)!.has(keyOf(namespace, name)) ? this.update(resource, o) : this.create(resource, o);
  }

  /** Deletes an object; returns false if there was none. */
  delete(resource: ResourceName, namespace: string, name: string): boolean {
    const ns = RESOURCES[resource].namespaced ? namespace || "default" : "";
    const table = this.objects.get(resource)!;
    const prev = table.get(keyOf(ns, name));
    if (!prev) return false;
    table.delete(keyOf(ns, name));
    this.rv++;
    const gone: KubeObject = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(this.rv) } };
    this.record({ rv: this.rv, resource, namespace: ns, type: "DELETED", object: gone });
    return true;
  }

  /**
   * Bulk load without history or copies (for big benchmark clusters): objects are stamped in
   * place and the history is compacted, so watches start from the load's resourceVersion.
   */
  load(resource: ResourceName, objs: Iterable<KubeObject>): void {
    const spec = RESOURCES[resource];
    const table = this.objects.get(resource)!;
    for (const o of objs) {
      const { namespace, name } = this.identity(resource, o);
      if (spec.namespaced) o.metadata["namespace"] = namespace;
      this.rv++;
      o.metadata["resourceVersion"] = String(this.rv);
      o["kind"] ??= spec.kind;
      o["apiVersion"] ??= apiVersionOf(spec);
      table.set(keyOf(namespace, name), o);
    }
    this.compact();
  }

  private prepare(resource: ResourceName, obj: object): KubeObject {
    const spec: ResourceSpec = RESOURCES[resource];
    const o = structuredClone(obj) as KubeObject;
    if (typeof o.metadata !== "object" || o.metadata === null) o.metadata = {};
    if (spec.namespaced && !o.metadata["namespace"]) o.metadata["namespace"] = "default";
    o["kind"] = spec.kind;
    o["apiVersion"] = apiVersionOf(spec);
    return o;
  }

  private identity(resource: ResourceName, o: KubeObject): { namespace: string; name: string } {
    const name = o.metadata["name"];
    if (typeof name !== "string" || name === "") throw new Error(`${resource}: metadata.name is required`);
    const ns = o.metadata["namespace"];
    return { namespace: RESOURCES[resource].namespaced ? (typeof ns === "string" && ns) || "default" : "", name };
  }

  private write(resource: ResourceName, namespace: string, name: string, o: KubeObject, type: EventType): KubeObject {
    this.rv++;
    o.metadata["resourceVersion"] = String(this.rv);
    this.objects.get(resource)!.set(keyOf(namespace, name), o);
    this.record({ rv: this.rv, resource, namespace, type, object: o });
    return o;
  }

  private record(e: StoredEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyWindow) {
      const dropped = this.history.splice(0, this.history.length - this.historyWindow);
      this.compactedThrough = dropped[dropped.length - 1]!.rv;
    }
    for (const fn of this.listeners) fn(e);
  }
}
