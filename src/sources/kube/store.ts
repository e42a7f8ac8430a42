/**
 * The snapshot store: informer events applied to an immutable ClusterSnapshot with immer
 * (`produce`, Map support enabled), so an unchanged record keeps its identity from one snapshot
 * to the next (renderers memoise on it) and an unchanged kind keeps its Map.
 *
 * - Events are queued and applied in one `produce` per batch (a `setImmediate` after the first
 *   queued event): a list of 150k pods is one copy of the pods Map, not 150k.
 * - Records are deep-frozen before they go in, so immer does not walk them again.
 * - A skipped object (projection warning) is absent from the snapshot; its warning is kept
 *   (keyed by kind and key) until the object is fixed or deleted.
 * - Listeners get one `SourceChange` per watch-driven change that altered the snapshot, and
 *   one `relisted` (key "") per kind after its first list, or after a relist that changed
 *   anything — a relist's own changes are not reported one by one.
 * - An informer (kind, or one named ConfigMap: `id`) counts as synced once its first list has
 *   been applied (not just received).
 *
 * @category sources
 */
import { enableMapSet, freeze, produce } from "immer";
import { type ClusterSnapshot, type InputWarning, emptySnapshot } from "../../model/cluster.ts";
import type { SourceChange, SourceKind } from "../source.ts";
import type { InformerEvent } from "./informer.ts";

enableMapSet();

export class SnapshotStore {
  private current: ClusterSnapshot = freeze(emptySnapshot(), true);
  private pending: InformerEvent[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly warningMap = new Map<string, InputWarning>();
  private readonly listedIds = new Set<string>();
  private readonly listeners = new Set<(c: SourceChange) => void>();
  private readonly appliedListeners = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly onWarning: (w: InputWarning) => void = () => {},
    private readonly onListenerError: (e: unknown) => void = () => {},
  ) {}

  snapshot(): ClusterSnapshot {
    return this.current;
  }

  warnings(): readonly InputWarning[] {
    return [...this.warningMap.values()];
  }

  /** Informer ids (`KindSpec.id`) whose first list has been applied. */
  listed(): ReadonlySet<string> {
    return this.listedIds;
  }

  onChange(fn: (c: SourceChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called after each applied batch (for sync waiters). */
  onApplied(fn: () => void): () => void {
    this.appliedListeners.add(fn);
    return () => this.appliedListeners.delete(fn);
  }

  /** Queues an informer event; it is applied in the next batch. */
  push(e: InformerEvent): void {
    if (this.closed) return;
    this.pending.push(e);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Applies every queued event now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const events = this.pending;
    if (events.length === 0) return;
    this.pending = [];
    const changes: SourceChange[] = [];
    const listChanged = new Set<SourceKind>();
    const newWarnings: InputWarning[] = [];
    this.current = produce(this.current, (draft) => {
      for (const e of events) {
        if (e.type === "listed") {
          const first = !this.listedIds.has(e.id);
          this.listedIds.add(e.id);
          if (first || listChanged.has(e.kind)) changes.push({ kind: e.kind, key: "", type: "relisted" });
          listChanged.delete(e.kind);
          continue;
        }
        const table = draft[e.kind] as Map<string, unknown>;
        const { key, record, warning } = e.entry;
        const wkey = `${e.kind}\u0000${key}`;
        const existed = table.has(key);
        let change: SourceChange["type"] | undefined;
        if (e.type === "delete") {
          this.warningMap.delete(wkey);
          if (existed) {
            table.delete(key);
            change = "deleted";
          }
        } else if (record) {
          this.warningMap.delete(wkey);
          table.set(key, freeze(record, true));
          change = existed ? "modified" : "added";
        } else {
          if (warning) {
            this.warningMap.set(wkey, warning);
            newWarnings.push(warning);
          }
          if (existed) {
            table.delete(key);
            change = "deleted";
          }
        }
        if (change === undefined) continue;
        if (e.fromList) listChanged.add(e.kind);
        else changes.push({ kind: e.kind, key, type: change });
      }
    });
    for (const w of newWarnings) this.onWarning(w);
    for (const c of changes) for (const fn of this.listeners) this.call(() => fn(c));
    for (const fn of this.appliedListeners) this.call(fn);
  }

  /** A throwing listener is reported, never allowed to stop the others or the source. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onListenerError(e);
    }
  }

  /** Drops queued events and stops accepting new ones. */
  close(): void {
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.pending = [];
  }
}
