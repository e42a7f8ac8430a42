/**
 * The watched snapshot file source (`--snapshot FILE` without `--once`): the file is loaded as
 * snapshot-file.ts does, then re-read whenever it changes, and the snapshot follows.
 *
 * - Change detection: `fs.watch` on the file's directory (so editors' and `mv`'s atomic
 *   replaces are seen), plus a poll of the file's mtime/size/inode every `pollMs` as a fallback
 *   (network filesystems, a watch that failed or missed an event). Both feed one debounce of
 *   `debounceMs`: a burst of writes is one reload.
 * - A reload whose text is unchanged does nothing.
 * - A load that holds no object, or no Node named `nodeName` (this host), is logged once as a
 *   warning naming the file (snapshotHostProblem); the source still serves it.
 * - A file that cannot be read or parsed keeps the last good snapshot; `status().error` holds
 *   the one-line `SnapshotError` message until a good version is read. A file bad from the
 *   start leaves the source unsynced (empty snapshot) until it is fixed.
 * - Structural sharing: a record equal to the previous version's keeps its identity, and a kind
 *   with no change keeps its Map; maps stay sorted by key like the one-shot loader's.
 * - Listeners get one change per added/modified/deleted key, and one `relisted` per kind on the
 *   first successful load.
 *
 * @category sources
 */
import { type FSWatcher, readFileSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { freeze } from "immer";
import type { ClusterSnapshot, InputWarning } from "../model/cluster.ts";
import { emptySnapshot } from "../model/cluster.ts";
import { deepEqual } from "../model/table.ts";
import { SnapshotError, parseSnapshotText, snapshotHostProblem } from "./snapshot-file.ts";
import { type ClusterSource, SNAPSHOT_KINDS, SOURCE_KINDS, type SourceChange, type SourceKind, type SourceStatus } from "./source.ts";
import { SyncWaiters } from "./sync-waiters.ts";

export interface SnapshotWatchOptions {
  readonly path: string;
  /** Quiet time after the last change before reloading (default 100 ms). */
  readonly debounceMs?: number;
  /** Poll period of the fallback (default 1000 ms; 0 = no polling). */
  readonly pollMs?: number;
  /** Use fs.watch (default true). */
  readonly useFsWatch?: boolean;
  readonly now?: () => number;
  /** Called for each warning of each successful load. */
  readonly onWarning?: (w: InputWarning) => void;
  /** This host's node name: a load without its Node (or without any object) is logged once as a warning naming the file. */
  readonly nodeName?: string;
  readonly log?: (level: "info" | "warn" | "error", msg: string) => void;
}

export class SnapshotWatchSource implements ClusterSource {
  private current: ClusterSnapshot = freeze(emptySnapshot(), true);
  private currentWarnings: readonly InputWarning[] = [];
  private lastText: string | undefined;
  private loaded = false;
  private error: string | undefined;
  private hostProblem: string | undefined;
  private lastEventMs: Partial<Record<SourceKind, number>> = {};
  private readonly listeners = new Set<(c: SourceChange) => void>();
  private readonly waiters = new SyncWaiters(() => this.loaded, () => this.stopped);
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private signature: string | undefined;
  private running = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: SnapshotWatchOptions) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.signature = this.stat();
    this.reload();
    if (opts(this.opts).useFsWatch) this.startFsWatch();
    const pollMs = opts(this.opts).pollMs;
    if (pollMs > 0) this.pollTimer = setInterval(() => this.poll(), pollMs);
  }

  waitSynced(timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(timeoutMs);
  }

  snapshot(): ClusterSnapshot {
    return this.current;
  }

  warnings(): readonly InputWarning[] {
    return this.currentWarnings;
  }

  onChange(listener: (change: SourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): SourceStatus {
    return { synced: this.loaded, lastEventMs: { ...this.lastEventMs }, ...(this.error !== undefined ? { error: this.error } : {}) };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = this.debounceTimer = undefined;
    this.waiters.notify();
  }

  private startFsWatch(): void {
    const name = basename(this.opts.path);
    try {
      this.watcher = watch(dirname(this.opts.path), { persistent: true }, (_event, file) => {
        if (file === null || file === name) this.schedule();
      });
      this.watcher.on("error", (e) => {
        this.log("warn", `${this.opts.path}: file watch failed (${e.message}); polling only`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log("warn", `${this.opts.path}: cannot watch the directory (${(e as Error).message}); polling only`);
    }
  }

  /** mtime/size/inode of the file, or "missing". */
  private stat(): string {
    try {
      const s = statSync(this.opts.path);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return "missing";
    }
  }

  private poll(): void {
    const sig = this.stat();
    if (sig !== this.signature) this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (this.running) this.reload();
    }, opts(this.opts).debounceMs);
  }

  private reload(): void {
    this.signature = this.stat();
    let text: string;
    try {
      text = readFileSync(this.opts.path, "utf8");
    } catch (e) {
      const reason = ((e as Error).message ?? String(e)).split(",")[0] ?? "";
      return this.fail(new SnapshotError(this.opts.path, undefined, `cannot read: ${reason}`).message);
    }
    if (text === this.lastText && this.error === undefined) return;
    this.lastText = text;
    let loaded;
    try {
      loaded = parseSnapshotText(text, this.opts.path);
    } catch (e) {
      return this.fail(e instanceof SnapshotError ? e.message : `${this.opts.path}: ${String(e)}`);
    }
    const first = !this.loaded;
    const changes = this.apply(loaded.snapshot);
    this.currentWarnings = loaded.warnings;
    if (this.error !== undefined) this.log("info", `${this.opts.path}: loaded again`);
    this.error = undefined;
    this.loaded = true;
    for (const w of loaded.warnings) this.opts.onWarning?.(w);
    const hostProblem = this.opts.nodeName === undefined ? undefined : snapshotHostProblem(this.opts.path, this.current, this.opts.nodeName, loaded.warnings.length);
    if (hostProblem !== undefined && hostProblem !== this.hostProblem) this.log("warn", hostProblem);
    this.hostProblem = hostProblem;
    const t = this.now();
    for (const k of SOURCE_KINDS) if (first || changes.some((c) => c.kind === k)) this.lastEventMs[k] = t;
    const out: SourceChange[] = first ? SOURCE_KINDS.map((kind) => ({ kind, key: "", type: "relisted" as const })) : changes;
    for (const c of out) for (const fn of this.listeners) fn(c);
    this.waiters.notify();
  }

  private fail(message: string): void {
    if (message !== this.error) this.log("warn", `${message} (keeping the last good snapshot)`);
    this.error = message;
    this.lastText = undefined;
  }

  /** Installs `next`, reusing equal records and unchanged maps; returns the per-key changes. */
  private apply(next: ClusterSnapshot): SourceChange[] {
    const changes: SourceChange[] = [];
    const prev = this.current;
    const merged: Record<string, ReadonlyMap<string, unknown>> = {};
    for (const kind of SNAPSHOT_KINDS) {
      const before = (prev[kind] ?? new Map()) as ReadonlyMap<string, unknown>;
      const after = (next[kind] ?? new Map()) as ReadonlyMap<string, unknown>;
      const out = new Map<string, unknown>();
      let changed = before.size !== after.size;
      for (const [key, value] of after) {
        const old = before.get(key);
        if (old !== undefined && deepEqual(old, value)) {
          out.set(key, old);
          continue;
        }
        changed = true;
        out.set(key, freeze(value, true));
        changes.push({ kind, key, type: old === undefined ? "added" : "modified" });
      }
      for (const key of before.keys()) {
        if (!after.has(key)) {
          changed = true;
          changes.push({ kind, key, type: "deleted" });
        }
      }
      merged[kind] = changed ? freeze(out) : before;
    }
    this.current = Object.freeze(merged as unknown as ClusterSnapshot);
    return changes;
  }

  private log(level: "info" | "warn" | "error", msg: string): void {
    this.opts.log?.(level, msg);
  }
}

const opts = (o: SnapshotWatchOptions) => ({
  debounceMs: o.debounceMs ?? 100,
  pollMs: o.pollMs ?? 1000,
  useFsWatch: o.useFsWatch ?? true,
});

/** A ClusterSource over a snapshot file that reloads on change (see the module doc). */
export function createSnapshotWatchSource(options: SnapshotWatchOptions): SnapshotWatchSource {
  return new SnapshotWatchSource(options);
}
