/**
 * The `Watch` handed to client-node's `ListWatch`: the library's own watch (node-fetch, JSON
 * lines), with what 1.4 lacks around it:
 *
 * - events are projected on arrival (`toCached`), so the informer cache never holds full objects;
 * - `allowWatchBookmarks=true` is requested, so a healthy quiet watch still shows activity;
 * - `timeoutSeconds` is requested when the informer asks for one (`hooks.timeoutSeconds`), so the
 *   server ends a healthy watch cleanly before the watchdog would take it for a stalled one;
 * - aborts we cause (stop, watchdog) never reach the informer as errors — in 1.4 an abort
 *   surfaces as an `AbortError` through `done`, which the informer reports as a failure;
 * - a connection attempt can be cut even before the server answers: each attempt gets its own
 *   HTTP agent (the library creates one per call) and aborting destroys that agent's sockets;
 * - errors thrown before the request (credentials, configuration) go to `done` instead of
 *   rejecting a promise nobody awaits;
 * - `recycle()` (the watchdog) ends the current watch — connected, or stuck connecting — as if
 *   the server had closed it cleanly:
 *   the informer then re-watches from its last resourceVersion (410 ⇒ relist, as usual);
 * - `close()` ends the current watch and turns every later one into a no-op;
 * - a refused watch keeps the answer's `Retry-After` (bounded) as `WatchError.retryAfterMs`: the
 *   library drops the headers, so the attempt's own HTTP agent notes them as the response arrives.
 *
 * @category sources
 */
import type { Agent, ClientRequest, IncomingMessage } from "node:http";
import { type KubeConfig, Watch } from "@kubernetes/client-node";
import { retryAfterMs } from "./retry-after.ts";

export interface WatchHooks {
  /** Maps an event's object (ADDED/MODIFIED/DELETED) to what the cache stores. */
  readonly toCached: (raw: unknown) => unknown;
  /** The informer starts a watch: any list it did before has been applied to its cache. */
  readonly onWatchStart: () => void;
  /** The server accepted the watch (HTTP 200). */
  readonly onConnected: () => void;
  /** Any line arrived (events, bookmarks, errors). */
  readonly onActivity: (type: string) => void;
  /** `timeoutSeconds` for the next watch request, or undefined for the server's default. */
  readonly timeoutSeconds?: () => number | undefined;
  /** Extra query parameters of every watch request (e.g. a fieldSelector). */
  readonly query?: Readonly<Record<string, string>>;
}

interface Attempt {
  agent?: Agent | undefined;
  inner?: AbortController;
  /** The `Retry-After` of the attempt's answer, when it had one. */
  retryAfterMs?: number | undefined;
  /** Set when we abort: whatever the library reports afterwards is dropped. */
  ours: boolean;
  finished: boolean;
  /** The informer's `done`, once. */
  done: (err: unknown) => void;
}

const OBJECT_EVENTS: ReadonlySet<string> = new Set(["ADDED", "MODIFIED", "DELETED"]);

const timeoutParam = (t: number | undefined): { timeoutSeconds?: number } => (t !== undefined && t >= 1 ? { timeoutSeconds: Math.floor(t) } : {});

/** A refused watch request: the library reports only the status text ("Forbidden"). */
export class WatchError extends Error {
  override readonly name = "WatchError";
  constructor(message: string, readonly statusCode: number, readonly retryAfterMs?: number) {
    super(message);
  }
}

/**
 * A non-200 answer becomes `watch <path>: HTTP <code> <text>`, so the one status line names the
 * verb and the resource (an RBAC gap shows as `watch /api/v1/pods: HTTP 403 Forbidden`);
 * `statusCode` is kept, so 410 still means relist to the ListWatch.
 */
function describe(err: unknown, path: string, retryAfter: number | undefined): unknown {
  const e = err as { statusCode?: unknown; message?: unknown } | null | undefined;
  if (!e || typeof e.statusCode !== "number" || e instanceof WatchError) return err;
  return new WatchError(`watch ${path}: HTTP ${e.statusCode} ${typeof e.message === "string" ? e.message : ""}`.trim(), e.statusCode, retryAfter);
}

/** Makes `agent` note the `Retry-After` header of each response it carries into `a`. */
function noteRetryAfter(agent: Agent | undefined, a: Attempt): void {
  const inner = agent as (Agent & { addRequest?: (req: ClientRequest, opts: unknown) => void }) | undefined;
  const add = inner?.addRequest;
  if (!inner || typeof add !== "function") return;
  inner.addRequest = function (req: ClientRequest, opts: unknown) {
    req.once("response", (res: IncomingMessage) => { a.retryAfterMs = retryAfterMs(res.headers["retry-after"]); });
    add.call(this, req, opts);
  };
}

export class ManagedWatch extends Watch {
  private current: Attempt | undefined;
  private closed = false;
  private connected = false;

  constructor(private readonly kc: KubeConfig, private readonly hooks: WatchHooks) {
    super(kc);
  }

  /** True while a watch is connecting or connected. */
  get isActive(): boolean {
    return this.current !== undefined;
  }

  /** True while a watch connection is established (HTTP 200 received, not ended). */
  get isConnected(): boolean {
    return this.connected && this.current !== undefined;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const outer = new AbortController();
    const attempt: Attempt = { ours: false, finished: false, done: () => {} };
    attempt.done = (err) => {
      if (attempt.finished) return;
      attempt.finished = true;
      this.release(attempt);
      if (!attempt.ours) done(describe(err, path, attempt.retryAfterMs));
    };
    outer.signal.addEventListener("abort", () => this.kill(attempt));
    this.hooks.onWatchStart();
    if (this.closed) {
      attempt.ours = true;
      attempt.finished = true;
      return outer;
    }
    this.current = attempt;
    this.connected = false;
    // The library reads `this.config` once per call, before its first await: give this call a
    // configuration that records the agent it creates, so `kill` can cut the connection.
    this.config = this.recordingConfig(attempt);
    try {
      const pending = super.watch(
        path,
        { ...queryParams, ...this.hooks.query, allowWatchBookmarks: true, ...timeoutParam(this.hooks.timeoutSeconds?.()) },
        (type, obj) => {
          if (attempt.ours || attempt.finished) return;
          this.hooks.onActivity(type);
          callback(type, OBJECT_EVENTS.has(type) ? this.hooks.toCached(obj) : obj);
        },
        attempt.done,
      );
      this.config = this.kc;
      const inner = await pending;
      attempt.inner = inner;
      if (attempt.ours) inner.abort();
      else if (!attempt.finished) {
        this.connected = true;
        this.hooks.onConnected();
      }
    } catch (e) {
      attempt.done(e);
    } finally {
      this.config = this.kc;
    }
    return outer;
  }

  /** Ends the current watch as a clean server-side close (the informer re-watches). */
  recycle(): boolean {
    const a = this.current;
    if (!a || a.finished) return false;
    const done = a.done;
    this.kill(a);
    a.ours = false;
    a.finished = false;
    done(null);
    return true;
  }

  /** Ends the current watch; later watches do nothing. */
  close(): void {
    this.closed = true;
    if (this.current) this.kill(this.current);
  }

  /** Allows watches again after `close()`. */
  reopen(): void {
    this.closed = false;
  }

  private kill(a: Attempt): void {
    if (a.finished) return;
    a.ours = true;
    a.inner?.abort();
    a.agent?.destroy();
    a.finished = true;
    this.release(a);
  }

  private release(a: Attempt): void {
    if (this.current === a) {
      this.current = undefined;
      this.connected = false;
    }
    // The agent is ours alone (one per attempt): closing it frees any socket left behind.
    a.agent?.destroy();
  }

  private recordingConfig(a: Attempt): KubeConfig {
    const kc = this.kc;
    const recording = {
      getCurrentCluster: () => kc.getCurrentCluster(),
      applyToFetchOptions: async (opts: Parameters<KubeConfig["applyToFetchOptions"]>[0]) => {
        const init = await kc.applyToFetchOptions(opts);
        a.agent = init.agent as Agent | undefined;
        noteRetryAfter(a.agent, a);
        if (a.ours) throw new Error("watch aborted");
        return init;
      },
    };
    return recording as unknown as KubeConfig;
  }
}
