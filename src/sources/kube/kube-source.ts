/**
 * The Kubernetes API source: one informer per kind (Nodes, Namespaces, Pods, Services,
 * EndpointSlices, NetworkPolicies), and one per named ConfigMap asked for (`configMaps`, watched
 * by fieldSelector in its namespace), all feeding one immer snapshot store.
 *
 * Lifecycle: `createKubeSource(options)` reads the configuration (throws `KubeConfigError` with
 * a one-line reason: the runtime exits 1 with it) → `start()` (never rejects: API errors retry
 * with backoff) → `waitSynced(cacheSyncTimeout)` → `snapshot()` / `onChange()` → `stop()`.
 *
 * Status: `synced` once every kind's first list is applied; `lastEventMs` per kind (list applied
 * or object event); `error` is the most recent informer error, one line, e.g.
 * `pods: list /api/v1/pods: connect ECONNREFUSED 127.0.0.1:6443 (retry in 2000 ms)`, cleared
 * when every informer has recovered.
 *
 * @category sources
 */
import type { KubeConnection } from "./connection.ts";
import type { ClusterSnapshot, InputWarning } from "../../model/cluster.ts";
import { formatWarning } from "../../model/cluster.ts";
import { type ClusterSource, SOURCE_KINDS, type SourceChange, type SourceKind, type SourceStatus } from "../source.ts";
import type { BackoffOptions } from "./backoff.ts";
import { type ConnectionFlags, loadKubeConfig, serverOf } from "./config.ts";
import { type InformerStatus, KindInformer } from "./informer.ts";
import { Interner } from "./intern.ts";
import { KINDS, type KindSpec, configMapSpec } from "./kinds.ts";
import { SnapshotStore } from "./store.ts";
import { SyncWaiters } from "../sync-waiters.ts";

/** A log line from the source; the runtime maps it to pino. */
export type SourceLog = (level: "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>) => void;

export interface KubeSourceOptions extends ConnectionFlags {
  /** A ready configuration (tests); when given, `kubeconfig`/`master` are not read. */
  readonly kubeConfig?: KubeConnection;
  /** Kinds to watch (default: all six). Unwatched kinds stay empty and count as synced. */
  readonly kinds?: readonly Exclude<SourceKind, "configMaps">[];
  /**
   * ConfigMaps to watch, each alone (`fieldSelector=metadata.name=<name>` in its namespace),
   * into `snapshot().configMaps` keyed `namespace/name` (default none: no ConfigMap request).
   */
  readonly configMaps?: readonly { readonly namespace: string; readonly name: string }[];
  /** Restart backoff (default 500 ms ×2 up to 10 s, jitter 0.2). */
  readonly backoff?: BackoffOptions;
  /** Watchdog: restart a connected watch silent this long (default 5 min; 0 = off). */
  readonly watchSilenceMs?: number;
  /** List page size (default 500). */
  readonly listPageSize?: number;
  /** Max silence while waiting for a list page (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Clock for status times (default Date.now). */
  readonly now?: () => number;
  /** Called once for each new warning about a skipped object. */
  readonly onWarning?: (w: InputWarning) => void;
  readonly log?: SourceLog;
}

export const DEFAULT_WATCH_SILENCE_MS = 5 * 60_000;

/** Per-kind details beyond `SourceStatus` (for metrics and debugging). */
export interface KubeSourceDetails {
  readonly server: string;
  readonly informers: readonly InformerStatus[];
}

export class KubeSource implements ClusterSource {
  readonly server: string;
  private readonly store: SnapshotStore;
  private readonly informers: KindInformer[];
  private readonly log: SourceLog;
  private started = false;
  private stopped = false;
  private lastErrorKind: SourceKind | undefined;
  private readonly waiters = new SyncWaiters(() => this.isSynced(), () => this.stopped);

  constructor(opts: KubeSourceOptions = {}) {
    const kc = opts.kubeConfig ?? loadKubeConfig(opts);
    this.server = serverOf(kc);
    this.log = opts.log ?? (() => {});
    const onWarning = opts.onWarning ?? ((w: InputWarning) => this.log("warn", formatWarning(w), { kind: w.kind }));
    this.store = new SnapshotStore(onWarning, (e) => this.log("error", `source change listener failed: ${String(e)}`));
    this.store.onApplied(() => this.wake());
    const now = opts.now ?? Date.now;
    const kinds = opts.kinds ?? SOURCE_KINDS;
    const pool = new Interner();
    const specs: KindSpec[] = [...kinds.map((k) => KINDS[k]), ...(opts.configMaps ?? []).map((c) => configMapSpec(c.namespace, c.name))];
    this.informers = specs.map((spec) => new KindInformer(spec, kc, {
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      silenceMs: opts.watchSilenceMs ?? DEFAULT_WATCH_SILENCE_MS,
      pageSize: opts.listPageSize ?? 500,
      requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
      now,
      pool,
    }, {
      sink: (e) => this.store.push(e),
      onError: (kind, message, retryInMs) => {
        this.lastErrorKind = kind;
        this.log("warn", `API server ${this.server}: ${kind}: ${message}; retrying in ${retryInMs} ms`, { kind, retryInMs });
        this.wake();
      },
      onRecovered: (kind) => this.log("info", `API server ${this.server}: ${kind}: recovered`, { kind }),
      onWatchdog: (kind, silentMs) => this.log("warn", `API server ${this.server}: ${kind}: watch silent for ${silentMs} ms, restarting it`, { kind, silentMs }),
    }));
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.log("info", `watching the API server ${this.server}`, { kinds: this.informers.map((i) => i.spec.kind) });
    for (const i of this.informers) i.start();
  }

  waitSynced(timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(timeoutMs);
  }

  snapshot(): ClusterSnapshot {
    return this.store.snapshot();
  }

  warnings(): readonly InputWarning[] {
    return this.store.warnings();
  }

  onChange(listener: (change: SourceChange) => void): () => void {
    return this.store.onChange(listener);
  }

  status(): SourceStatus {
    const lastEventMs: Partial<Record<SourceKind, number>> = {};
    let error: string | undefined;
    const statuses = this.informers.map((i) => i.status());
    for (const s of statuses) {
      if (s.lastEventMs !== undefined) lastEventMs[s.kind] = s.lastEventMs;
    }
    const failing = statuses.filter((s) => s.lastError !== undefined);
    if (failing.length > 0) {
      const s = failing.find((f) => f.kind === this.lastErrorKind) ?? failing[0]!;
      const others = failing.length > 1 ? ` (and ${failing.length - 1} more kinds failing)` : "";
      error = `API server ${this.server}: ${s.kind}: ${s.lastError}${others}`;
    }
    return { synced: this.isSynced(), lastEventMs, ...(error !== undefined ? { error } : {}) };
  }

  /** Per-informer details: watching, restarts, watchdog restarts, lists, last error. */
  details(): KubeSourceDetails {
    return { server: this.server, informers: this.informers.map((i) => i.status()) };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
    this.store.close();
    this.wake();
  }

  private isSynced(): boolean {
    const listed = this.store.listed();
    return this.informers.every((i) => listed.has(i.spec.id));
  }

  private wake(): void {
    this.waiters.notify();
  }
}

/** Builds the API source from the flags (`--kubeconfig`, `--master`, else in-cluster). Throws KubeConfigError. */
export function createKubeSource(opts: KubeSourceOptions = {}): KubeSource {
  return new KubeSource(opts);
}
