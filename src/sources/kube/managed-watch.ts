/**
 * One kind's watch requests (`?watch=true`, JSON lines), as list-watch.ts drives them:
 *
 * - events are projected on arrival (`toCached`), so the informer cache never holds full objects;
 * - `allowWatchBookmarks=true` is requested, so a healthy quiet watch still shows activity;
 * - `timeoutSeconds` is requested when the informer asks for one (`hooks.timeoutSeconds`), so the
 *   server ends a healthy watch cleanly before the watchdog would take it for a stalled one;
 * - each watch has its own connection (no pooled socket), kept alive with TCP keepalive; aborts
 *   we cause (stop, watchdog) destroy it and never reach the informer as errors, even while the
 *   server has not answered yet;
 * - errors before the request (unreadable credentials) go to `done`, like any other failure;
 * - `recycle()` (the watchdog) ends the current watch — connected, or stuck connecting — as if
 *   the server had closed it cleanly: the informer then re-watches from its last
 *   resourceVersion (410 ⇒ relist, as usual);
 * - `close()` ends the current watch and turns every later one into a no-op;
 * - a refused watch fails with `WatchError` (`watch <path>: HTTP 403 Forbidden`), keeping the
 *   status code (410 means relist) and the answer's `Retry-After` (bounded).
 *
 * @category sources
 */
import { type ClientRequest, STATUS_CODES } from "node:http";
import type { KubeConnection } from "./connection.ts";
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

/** A watch's end: null = the server closed it cleanly, else the error. */
export type WatchDone = (err: unknown) => void;
/** One watch line: its type and object (projected for object events). */
export type WatchCallback = (type: string, obj: unknown) => void;

interface Attempt {
  req?: ClientRequest;
  /** Set when we end it: whatever happens afterwards is dropped. */
  ours: boolean;
  finished: boolean;
  /** The informer's `done`, once. */
  done: WatchDone;
}

const OBJECT_EVENTS: ReadonlySet<string> = new Set(["ADDED", "MODIFIED", "DELETED"]);

const timeoutParam = (t: number | undefined): { timeoutSeconds?: number } => (t !== undefined && t >= 1 ? { timeoutSeconds: Math.floor(t) } : {});

/** A refused watch request: `watch <path>: HTTP <code> <text>`, with the status code and Retry-After kept. */
export class WatchError extends Error {
  override readonly name = "WatchError";
  constructor(message: string, readonly statusCode: number, readonly retryAfterMs?: number) {
    super(message);
  }
}

export class ManagedWatch {
  private current: Attempt | undefined;
  private closed = false;
  private connected = false;

  constructor(private readonly kc: KubeConnection, private readonly hooks: WatchHooks) {}

  /** True while a watch is connecting or connected. */
  get isActive(): boolean {
    return this.current !== undefined;
  }

  /** True while a watch connection is established (HTTP 200 received, not ended). */
  get isConnected(): boolean {
    return this.connected && this.current !== undefined;
  }

  /**
   * Starts watching `path` from `query` (resourceVersion); each line goes to `callback`, and
   * the watch's end to `done` (once). Returns at once; abort() on the result ends the watch.
   */
  watch(path: string, query: Readonly<Record<string, string>>, callback: WatchCallback, done: WatchDone): AbortController {
    const outer = new AbortController();
    const attempt: Attempt = { ours: false, finished: false, done: () => {} };
    attempt.done = (err) => {
      if (attempt.finished) return;
      attempt.finished = true;
      this.release(attempt);
      if (!attempt.ours) done(err);
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
    try {
      attempt.req = this.request(path, query, attempt, callback);
    } catch (e) {
      attempt.done(e);
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

  private request(path: string, query: Readonly<Record<string, string>>, a: Attempt, callback: WatchCallback): ClientRequest {
    const url = this.kc.url(path, { ...query, ...this.hooks.query, watch: "true", allowWatchBookmarks: "true", ...timeoutParam(this.hooks.timeoutSeconds?.()) });
    const req = this.kc.open(url, { agent: false, method: "GET" }, (res) => {
      if (a.ours || a.finished) {
        res.destroy();
        return;
      }
      const code = res.statusCode ?? 0;
      if (code !== 200) {
        res.resume();
        a.done(new WatchError(`watch ${path}: HTTP ${code} ${res.statusMessage || STATUS_CODES[code] || ""}`.trim(), code, retryAfterMs(res.headers["retry-after"])));
        return;
      }
      this.connected = true;
      this.hooks.onConnected();
      let rest = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) this.line(line, a, callback);
      });
      res.on("end", () => {
        this.line(rest, a, callback);
        a.done(null);
      });
      res.on("close", () => a.done(null));
      res.on("error", (e) => a.done(e));
    });
    req.on("socket", (s) => s.setKeepAlive(true, 30_000));
    req.on("error", (e) => a.done(e));
    req.end();
    return req;
  }

  /** One JSON line of the stream: unparseable lines are skipped (as client-go does with a decode error it cannot map). */
  private line(line: string, a: Attempt, callback: WatchCallback): void {
    if (a.ours || a.finished || line.trim() === "") return;
    let ev: { type?: unknown; object?: unknown };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    const type = typeof ev.type === "string" ? ev.type : "";
    this.hooks.onActivity(type);
    callback(type, OBJECT_EVENTS.has(type) ? this.hooks.toCached(ev.object) : ev.object);
  }

  private kill(a: Attempt): void {
    if (a.finished) return;
    a.ours = true;
    a.req?.destroy();
    a.finished = true;
    this.release(a);
  }

  private release(a: Attempt): void {
    if (this.current === a) {
      this.current = undefined;
      this.connected = false;
    }
    a.req?.destroy();
  }
}
