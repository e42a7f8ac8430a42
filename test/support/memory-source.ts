/**
 * Test support: an in-memory ClusterSource. Tests put and delete objects (already projected
 * records) and decide when the initial list is "in"; listeners hear each change synchronously.
 */
import { type ClusterSnapshot, type InputWarning, emptySnapshot } from "../../src/model/cluster.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import type { ClusterSource, SourceChange, SourceKind, SourceStatus } from "../../src/sources/source.ts";

export class MemorySource implements ClusterSource {
  private snap: ClusterSnapshot = emptySnapshot();
  private listeners = new Set<(c: SourceChange) => void>();
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private lastEventMs: Partial<Record<SourceKind, number>> = {};
  private warns: InputWarning[] = [];
  error: string | undefined;
  started = false;
  stopped = false;

  constructor(initial?: ClusterSnapshot, opts: { synced?: boolean } = {}) {
    if (initial) this.snap = initial;
    this.synced = opts.synced ?? true;
  }

  async start(): Promise<void> { this.started = true; }
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }
  waitSynced(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.syncWaiters = this.syncWaiters.filter((w) => w !== done); resolve(false); }, timeoutMs);
      const done = () => { clearTimeout(t); resolve(this.synced); };
      this.syncWaiters.push(done);
    });
  }
  snapshot(): ClusterSnapshot { return this.snap; }
  warnings(): readonly InputWarning[] { return this.warns; }
  onChange(listener: (c: SourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
  status(): SourceStatus {
    return { synced: this.synced, lastEventMs: { ...this.lastEventMs }, ...(this.error ? { error: this.error } : {}) };
  }

  /** The initial list is in (wakes `waitSynced`). */
  markSynced(): void {
    this.synced = true;
    this.error = undefined;
    for (const w of this.syncWaiters.splice(0)) w();
  }
  setWarnings(w: InputWarning[]): void { this.warns = w; }

  /** Replaces the whole snapshot (e.g. from YAML) and announces one change per kind. */
  replace(snap: ClusterSnapshot): void {
    this.snap = snap;
    for (const kind of ["nodes", "namespaces", "pods", "services", "endpointSlices", "networkPolicies"] as const) this.emit({ kind, key: "*", type: "relisted" });
  }
  /** Replaces the snapshot with the objects of a YAML text (snapshot-file syntax). */
  replaceYaml(yaml: string): void { this.replace(parseSnapshotText(yaml, "memory.yaml").snapshot); }

  /** Sets one object of `kind` (added or modified). */
  put<K extends SourceKind>(kind: K, key: string, value: ClusterSnapshot[K] extends ReadonlyMap<string, infer V> ? V : never): void {
    const m = new Map(this.snap[kind] as ReadonlyMap<string, unknown>);
    const type = m.has(key) ? "modified" : "added";
    m.set(key, value);
    this.snap = { ...this.snap, [kind]: m };
    this.emit({ kind, key, type });
  }
  delete(kind: SourceKind, key: string): void {
    const m = new Map(this.snap[kind] as ReadonlyMap<string, unknown>);
    m.delete(key);
    this.snap = { ...this.snap, [kind]: m };
    this.emit({ kind, key, type: "deleted" });
  }
  private emit(c: SourceChange): void {
    this.lastEventMs[c.kind] = Date.now();
    for (const l of this.listeners) l(c);
  }
}
