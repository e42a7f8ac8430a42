/**
 * One kind's informer: a `ListWatch` (list-watch.ts: list, then watch from the list's
 * resourceVersion; 410 Gone ⇒ relist; a relist reports objects that vanished as deletes) made
 * long-running:
 *
 * - the list-watch stops on any error other than 410: it is restarted after an
 *   exponential, jittered backoff (`Backoff`), or after the answer's `Retry-After` (at most 30 s)
 *   when that is longer, one restart pending at a time; it resumes from its last
 *   resourceVersion, so nothing is missed, and relists when that is too old;
 * - a watchdog restarts a watch that has been silent (no event, no bookmark; or no answer to
 *   the connection attempt) for `silenceMs` — the stalled-watch problem (client-node #364,
 *   #596); each watch asks the server to end it (`timeoutSeconds`) after 50–90 % of
 *   that, so a healthy watch on a quiet kind is renewed, not taken for a stalled one;
 * - lists are paged and projected page by page (list.ts), watch events on arrival
 *   (managed-watch.ts): the list-watch's cache holds small entries only;
 * - every applied object change goes to `sink` as an `InformerEvent`; `fromList` marks the ones
 *   a (re)list produced, and a `listed` event follows each applied list.
 *
 * Errors never escape: they are kept as `lastError` (one line) until the next success, and
 * reported through `onError`.
 *
 * @category sources
 */
import type { SourceKind } from "../source.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { type CachedObject, cacheEntry } from "./cached.ts";
import type { KubeConnection } from "./connection.ts";
import type { Interner } from "./intern.ts";
import type { KindSpec } from "./kinds.ts";
import { listAll } from "./list.ts";
import { type Listed, ListWatch } from "./list-watch.ts";
import { ManagedWatch } from "./managed-watch.ts";
import { retryAfterOf } from "./retry-after.ts";

export type InformerEvent =
  | { readonly type: "upsert"; readonly kind: SourceKind; readonly entry: CachedObject; readonly fromList: boolean }
  | { readonly type: "delete"; readonly kind: SourceKind; readonly entry: CachedObject; readonly fromList: boolean }
  | { readonly type: "listed"; readonly kind: SourceKind; readonly id: string };

export interface InformerOptions {
  readonly backoff?: BackoffOptions;
  /** Restart a connected watch silent for this long; 0 disables the watchdog. */
  readonly silenceMs: number;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  readonly now: () => number;
  /** Shared by all kinds of one source. */
  readonly pool: Interner;
}

export interface InformerStatus {
  readonly kind: SourceKind;
  /** The first list has been handed to the sink. */
  readonly listed: boolean;
  /** True while a watch connection is established. */
  readonly watching: boolean;
  readonly lastEventMs?: number;
  readonly lastError?: string;
  /** Restarts after errors, watchdog restarts, lists done (the first included). */
  readonly restarts: number;
  readonly watchdogRestarts: number;
  readonly lists: number;
  /** BOOKMARK events received (the server's sign a quiet watch is alive). */
  readonly bookmarks: number;
}

export interface InformerCallbacks {
  readonly sink: (e: InformerEvent) => void;
  /** An error happened; `retryInMs` is when the restart is scheduled. */
  readonly onError: (kind: SourceKind, message: string, retryInMs: number) => void;
  /** The informer works again after an error (a list or watch succeeded). */
  readonly onRecovered: (kind: SourceKind) => void;
  readonly onWatchdog: (kind: SourceKind, silentMs: number) => void;
}

const messageOf = (e: unknown): string => {
  const err = e as { message?: unknown; statusCode?: unknown } | undefined;
  const msg = typeof err?.message === "string" && err.message !== "" ? err.message : String(e);
  const code = typeof err?.statusCode === "number" && !/HTTP \d+/.test(msg) ? ` (HTTP ${err.statusCode})` : "";
  return `${msg.split("\n")[0]}${code}`;
};

export class KindInformer {
  private readonly lw: ListWatch<CachedObject>;
  private readonly watch: ManagedWatch;
  private readonly backoff: Backoff;
  private listAbort: AbortController | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private running = false;
  /** A list was fetched and is being applied by the ListWatch right now. */
  private applyingList = false;
  private listed = false;
  private lastActivityMs = 0;
  private lastEventMs: number | undefined;
  private lastError: string | undefined;
  private restarts = 0;
  private watchdogRestarts = 0;
  private lists = 0;
  private bookmarks = 0;

  constructor(
    readonly spec: KindSpec,
    private readonly kc: KubeConnection,
    private readonly opts: InformerOptions,
    private readonly cb: InformerCallbacks,
  ) {
    this.backoff = new Backoff(opts.backoff);
    this.watch = new ManagedWatch(kc, {
      toCached: (raw) => cacheEntry(spec, raw, opts.pool),
      ...(spec.query ? { query: spec.query } : {}),
      onWatchStart: () => this.onWatchStart(),
      onConnected: () => {
        this.lastActivityMs = opts.now();
        this.succeeded();
      },
      // kube-apiserver sends a quiet kind no bookmark until its resourceVersion moves (etcd's
      // progress notifications come every 10 min by default), and ends a watch without
      // timeoutSeconds only after 30–60 min: ask it to end each watch after 50–90 % of the
      // watchdog's silence, so only a stalled watch is ever silent that long.
      timeoutSeconds: () => (opts.silenceMs >= 2000 ? (opts.silenceMs / 1000) * (0.5 + 0.4 * Math.random()) : undefined),
      onActivity: (type) => {
        this.lastActivityMs = opts.now();
        if (type === "BOOKMARK") this.bookmarks++;
        else if (type !== "ERROR") this.lastEventMs = this.lastActivityMs;
        if (type !== "ERROR") this.backoff.reset();
      },
    });
    this.lw = new ListWatch<CachedObject>(spec.path, this.watch, () => this.list(), {
      add: (o) => this.emit("upsert", o),
      update: (o) => this.emit("upsert", o),
      delete: (o) => this.emit("delete", o),
      error: (err) => this.failed(err),
    });
  }

  /** Starts listing and watching (returns at once; failures retry). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.watch.reopen();
    this.run();
    if (this.opts.silenceMs > 0) {
      const every = Math.max(5, Math.floor(this.opts.silenceMs / 4));
      this.watchdogTimer = setInterval(() => this.checkSilence(), every);
      this.watchdogTimer.unref();
    }
  }

  /** Stops every request and timer. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.restartTimer = undefined;
    this.watchdogTimer = undefined;
    this.watch.close();
    this.listAbort?.abort();
    await this.lw.stop();
  }

  status(): InformerStatus {
    return {
      kind: this.spec.kind,
      listed: this.listed,
      watching: this.watch.isConnected,
      ...(this.lastEventMs !== undefined ? { lastEventMs: this.lastEventMs } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      restarts: this.restarts,
      watchdogRestarts: this.watchdogRestarts,
      lists: this.lists,
      bookmarks: this.bookmarks,
    };
  }

  private run(): void {
    this.lw.start().catch((e: unknown) => this.failed(e));
  }

  private async list(): Promise<Listed<CachedObject>> {
    const abort = new AbortController();
    this.listAbort = abort;
    const result = await listAll(this.kc, this.spec.path, {
      pageSize: this.opts.pageSize, timeoutMs: this.opts.requestTimeoutMs, signal: abort.signal,
      ...(this.spec.query ? { query: this.spec.query } : {}),
    }, (raw) => cacheEntry(this.spec, raw, this.opts.pool));
    if (this.listAbort === abort) this.listAbort = undefined;
    if (!this.running) throw new Error("stopped");
    // The ListWatch applies the items synchronously after this promise settles, then calls
    // watch(): events in between come from this list.
    this.applyingList = true;
    return result;
  }

  private onWatchStart(): void {
    this.lastActivityMs = this.opts.now();
    if (!this.applyingList) return;
    this.applyingList = false;
    this.listed = true;
    this.lists++;
    this.lastEventMs = this.lastActivityMs = this.opts.now();
    this.backoff.reset();
    this.succeeded();
    this.cb.sink({ type: "listed", kind: this.spec.kind, id: this.spec.id });
  }

  private emit(type: "upsert" | "delete", entry: Pick<CachedObject, "key" | "resourceVersion"> & Partial<CachedObject>): void {
    this.cb.sink({ type, kind: this.spec.kind, entry, fromList: this.applyingList });
  }

  private succeeded(): void {
    if (this.lastError === undefined) return;
    this.lastError = undefined;
    this.cb.onRecovered(this.spec.kind);
  }

  private failed(err: unknown): void {
    this.applyingList = false;
    if (!this.running || this.restartTimer) return;
    const delay = Math.max(this.backoff.next(), retryAfterOf(err) ?? 0);
    this.lastError = messageOf(err);
    this.cb.onError(this.spec.kind, this.lastError, delay);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      this.restarts++;
      this.run();
    }, delay);
  }

  private checkSilence(): void {
    if (!this.running || !this.watch.isActive) return;
    const silent = this.opts.now() - this.lastActivityMs;
    if (silent < this.opts.silenceMs) return;
    this.watchdogRestarts++;
    this.lastActivityMs = this.opts.now();
    this.cb.onWatchdog(this.spec.kind, silent);
    this.watch.recycle();
  }
}
