/**
 * An in-process Kubernetes API server double, speaking enough HTTP for the real
 * `@kubernetes/client-node` 1.4 informers and API clients: list (with `limit`/`continue`), get, and
 * watch (`?watch=true&resourceVersion=N`, chunked JSON lines ADDED/MODIFIED/DELETED/BOOKMARK/ERROR),
 * both with `fieldSelector=metadata.name=<n>` (or `metadata.namespace=<ns>`; other fields: 400);
 * for configmaps, leases and events the write verbs create, update, patch, delete, and for the
 * Service `status` subresource get, update (PUT) and patch (write.ts).
 *
 * Semantics, as the real server:
 * - list items carry no kind/apiVersion; the list has `metadata.resourceVersion`; a paged list
 *   is a consistent snapshot (later pages come from the first page's snapshot);
 * - a watch from resourceVersion N replays the events after N still in the history, then
 *   streams live ones; from "" or "0" it first sends ADDED for every current object;
 * - a watch from a compacted resourceVersion gets 410 Gone: by default an `ERROR` event with a
 *   Status of code 410 on a 200 stream, then the stream ends (what kube-apiserver does), or an
 *   HTTP 410 with `goneAs: "status"`;
 * - bookmarks are sent only when the client asks (`allowWatchBookmarks=true`), every
 *   `bookmarkIntervalMs`.
 *
 * Optionally HTTPS (`tls`: key and certificate) and bearer-token checking (`requireToken`: 401
 * otherwise), so the client's certificate and auth paths run as against a real cluster.
 *
 * Test controls: drop or silence every watch, slow lists, failing requests (any verb), writes
 * answered 409 Conflict, compaction, stop and start again on the same port. Every socket and timer is released by `close()`.
 */
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ObjectStore, type KubeObject, type StoredEvent } from "./store.ts";
import { type ResourceName, type Route, apiVersionOf, routeOf } from "./resources.ts";
import { type WriteVerb, performWrite, statusBody, writeVerbOf } from "./write.ts";

export interface DoubleOptions {
  /** Events kept for watches to resume from (default 1000). */
  readonly historyWindow?: number;
  /** How a too-old watch is refused (default "event"). */
  readonly goneAs?: "event" | "status";
  /** Bookmark period for watches that allow them (default 0 = never). */
  readonly bookmarkIntervalMs?: number;
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Refuse (401) every request without `Authorization: Bearer <token>`. */
  readonly requireToken?: string;
}

export type Verb = "list" | "watch" | "get" | WriteVerb;
export const ALL_VERBS: readonly Verb[] = ["list", "watch", "get", "create", "update", "patch", "delete"];

export interface RequestRecord {
  readonly verb: Verb;
  readonly resource: ResourceName;
  readonly namespace?: string;
  /** The object's name in the URL (get and the writes but create). */
  readonly name?: string;
  /** `status` for a request on `…/<name>/status`. */
  readonly subresource?: "status";
  readonly query: Readonly<Record<string, string>>;
  /** Writes: the parsed JSON body and the Content-Type header. */
  readonly body?: unknown;
  readonly contentType?: string;
}

interface Conflicts {
  readonly resource: ResourceName;
  remaining: number;
}

interface Failure {
  readonly status: number;
  readonly retryAfterS?: number;
  readonly verbs: readonly Verb[];
  remaining: number;
}

interface Watcher {
  readonly resource: ResourceName;
  readonly res: ServerResponse;
  /** A silenced watch stays open but never sends again (a stalled watch). */
  silenced: boolean;
  readonly close: (graceful: boolean) => void;
}

interface Page {
  readonly items: readonly KubeObject[];
  readonly rv: number;
  readonly listKind: string;
  readonly apiVersion: string;
}

const status = (code: number, reason: string, message: string) => statusBody(code, reason, message);

/** The field selector of a query as a filter, or a message when it names an unsupported field. */
function fieldFilter(query: Readonly<Record<string, string>>): ((o: KubeObject) => boolean) | string {
  const sel = query["fieldSelector"];
  if (!sel) return () => true;
  const terms: { field: string; value: string; eq: boolean }[] = [];
  for (const t of sel.split(",")) {
    const m = /^([a-z.]+)(==|=|!=)(.*)$/.exec(t);
    if (!m || (m[1] !== "metadata.name" && m[1] !== "metadata.namespace")) return `field label not supported: ${t.split(/[!=]/)[0]}`;
    terms.push({ field: m[1].slice("metadata.".length), value: m[3]!, eq: m[2] !== "!=" });
  }
  return (o) => terms.every((t) => (o.metadata[t.field] === t.value) === t.eq);
}
const REASONS: Readonly<Record<number, string>> = {
  400: "BadRequest", 403: "Forbidden", 404: "NotFound", 410: "Expired", 429: "TooManyRequests",
  500: "InternalError", 503: "ServiceUnavailable",
};

export class ApiServerDouble {
  readonly store: ObjectStore;
  /** Every routed request, in arrival order. */
  readonly requests: RequestRecord[] = [];
  private server: Server | undefined;
  private readonly watchers = new Set<Watcher>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pages = new Map<string, Page>();
  private failures: Failure[] = [];
  private conflicts: Conflicts[] = [];
  private listDelayMs = 0;
  private hanging = false;
  private readonly hung = new Set<ServerResponse>();
  private readonly goneAs: "event" | "status";
  private readonly bookmarkIntervalMs: number;

  constructor(private portNumber: number, opts: DoubleOptions = {}) {
    this.store = new ObjectStore(opts.historyWindow ?? 1000);
    this.goneAs = opts.goneAs ?? "event";
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 0;
    this.tls = opts.tls;
    this.requireToken = opts.requireToken;
  }
  private readonly tls: DoubleOptions["tls"];
  private readonly requireToken: string | undefined;

  /** The port (fixed after the first listen, so clients can reconnect after a restart). */
  get port(): number {
    return this.portNumber;
  }
  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.portNumber}`;
  }
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Starts serving (again) on the port; port 0 picks a free one the first time. */
  async listen(): Promise<void> {
    if (this.server) return;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.tls ? createHttpsServer({ key: this.tls.key, cert: this.tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.portNumber, "127.0.0.1", () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops serving: ends every watch, drops every connection, clears every timer. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const w of [...this.watchers]) w.close(false);
    for (const r of this.hung) r.destroy();
    this.hung.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pages.clear();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Controls

  /** Ends every open watch: `graceful` ends the stream cleanly, otherwise the socket is destroyed. */
  dropWatches(graceful = false): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) w.close(graceful);
    return n;
  }

  /** Stalls every open watch: connections stay open, nothing more is sent on them. New watches work. */
  silenceWatches(): number {
    for (const w of this.watchers) w.silenced = true;
    return this.watchers.size;
  }

  /** Open watches (silenced ones included), optionally of one resource. */
  watchCount(resource?: ResourceName): number {
    return [...this.watchers].filter((w) => resource === undefined || w.resource === resource).length;
  }

  /** While on, new watch requests get no answer at all (a connection stuck before the headers). */
  hangWatches(on: boolean): void {
    this.hanging = on;
  }

  /** Delays every list response (each page) by `ms`. */
  setListDelay(ms: number): void {
    this.listDelayMs = ms;
  }

  /** The next `count` requests of the given verbs (default all, writes included) fail with HTTP `status` (with a `Retry-After: retryAfterS` header when given). */
  failRequests(opts: { status?: number; count?: number; verbs?: readonly Verb[]; retryAfterS?: number } = {}): void {
    this.failures.push({ status: opts.status ?? 500, remaining: opts.count ?? Infinity, verbs: opts.verbs ?? ALL_VERBS, ...(opts.retryAfterS !== undefined ? { retryAfterS: opts.retryAfterS } : {}) });
  }
  clearFailures(): void {
    this.failures = [];
    this.conflicts = [];
  }

  /**
   * The next `count` writes (create, update, patch, delete) of `resource` answer 409 Conflict
   * (reason Conflict) without changing anything, as when another writer got there first.
   */
  conflictWrites(resource: ResourceName, count = 1): void {
    this.conflicts.push({ resource, remaining: count });
  }

  /** The requests of a verb (optionally of one resource), e.g. to assert the writes made. */
  requestsOf(verb: Verb, resource?: ResourceName): RequestRecord[] {
    return this.requests.filter((r) => r.verb === verb && (resource === undefined || r.resource === resource));
  }

  /** Forgets the event history: every watch resuming from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** Requests of a verb (optionally of one resource) seen so far. */
  count(verb: Verb, resource?: ResourceName): number {
    return this.requests.filter((r) => r.verb === verb && (resource === undefined || r.resource === resource)).length;
  }

  // ---------------------------------------------------------------------------------------------
  // Objects (tests change the cluster here, not over HTTP)

  create(resource: ResourceName, obj: object): KubeObject {
    return this.store.create(resource, obj);
  }
  update(resource: ResourceName, obj: object): KubeObject {
    return this.store.update(resource, obj);
  }
  apply(resource: ResourceName, obj: object): KubeObject {
    return this.store.apply(resource, obj);
  }
  delete(resource: ResourceName, namespace: string, name: string): boolean {
    return this.store.delete(resource, namespace, name);
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://double");
    const route = routeOf(url.pathname);
    if (this.requireToken !== undefined && req.headers.authorization !== `Bearer ${this.requireToken}`) {
      return this.send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    }
    if (!route) return this.send(res, 404, status(404, "NotFound", `the server could not find the requested resource ${url.pathname}`));
    const method = req.method ?? "GET";
    if (method !== "GET") {
      const wv = route.subresource === "status"
        ? (method === "PUT" ? "update" : method === "PATCH" ? "patch" : undefined)
        : route.resource.writable && route.namespace !== undefined ? writeVerbOf(method, route) : undefined;
      if (!wv) return this.send(res, 405, status(405, "MethodNotAllowed", `${method} ${url.pathname} is not supported by the double`));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.write(wv, route, Object.fromEntries(url.searchParams), Buffer.concat(chunks).toString("utf8"), req.headers["content-type"] ?? "", res));
      return;
    }
    const query = Object.fromEntries(url.searchParams);
    const watch = query["watch"] === "true" || query["watch"] === "1";
    const verb: Verb = watch ? "watch" : route.name !== undefined ? "get" : "list";
    if (watch && route.subresource !== undefined) return this.send(res, 405, status(405, "MethodNotAllowed", `watch ${url.pathname} is not supported`));
    this.requests.push({ verb, resource: route.resource.name, ...(route.namespace !== undefined ? { namespace: route.namespace } : {}), ...(route.name !== undefined ? { name: route.name } : {}), ...(route.subresource ? { subresource: route.subresource } : {}), query });
    if (this.injectedFailure(verb, res)) return;
    const filter = fieldFilter(query);
    if (typeof filter === "string") return this.send(res, 400, status(400, "BadRequest", filter));
    if (verb === "watch" && this.hanging) {
      this.hung.add(res);
      res.on("close", () => this.hung.delete(res));
      return;
    }
    if (verb === "watch") return this.watch(route, query, filter, res);
    if (verb === "get") return this.get(route, res);
    this.later(this.listDelayMs, () => this.list(route, query, filter, res));
  }

  /** Answers an injected failure for `verb` if one is pending; true when it did. */
  private injectedFailure(verb: Verb, res: ServerResponse): boolean {
    const failure = this.failures.find((f) => f.remaining > 0 && f.verbs.includes(verb));
    if (!failure) return false;
    failure.remaining--;
    this.send(res, failure.status, status(failure.status, REASONS[failure.status] ?? "Unknown", `injected failure (${failure.status})`), failure.retryAfterS !== undefined ? { "Retry-After": String(failure.retryAfterS) } : {});
    return true;
  }

  private write(verb: WriteVerb, route: Route, query: Record<string, string>, text: string, contentType: string, res: ServerResponse): void {
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    this.requests.push({
      verb, resource: route.resource.name, namespace: route.namespace!, ...(route.name !== undefined ? { name: route.name } : {}),
      ...(route.subresource ? { subresource: route.subresource } : {}), query, ...(body !== undefined ? { body } : {}), contentType,
    });
    if (this.injectedFailure(verb, res)) return;
    if (text !== "" && body === undefined) return this.send(res, 400, status(400, "BadRequest", "the body is not JSON"));
    const c = this.conflicts.find((x) => x.remaining > 0 && x.resource === route.resource.name);
    if (c) c.remaining--;
    const a = performWrite(this.store, verb, route, body, contentType, c !== undefined);
    this.send(res, a.code, a.body);
  }

  private send(res: ServerResponse, code: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private get(route: Route, res: ServerResponse): void {
    const o = this.store.get(route.resource.name, route.namespace ?? "", route.name!);
    if (!o) return this.send(res, 404, status(404, "NotFound", `${route.resource.name} "${route.name}" not found`));
    this.send(res, 200, o);
  }

  private list(route: Route, query: Readonly<Record<string, string>>, filter: (o: KubeObject) => boolean, res: ServerResponse): void {
    const r = route.resource;
    let page: Page;
    let offset = 0;
    const token = query["continue"];
    if (token) {
      const [id, off] = token.split(":");
      const found = id ? this.pages.get(id) : undefined;
      if (!found) return this.send(res, 410, status(410, "Expired", "the provided continue parameter is too old"));
      page = found;
      offset = Number(off);
    } else {
      page = { items: this.store.list(r.name, route.namespace).filter(filter), rv: this.store.rv, listKind: `${r.kind}List`, apiVersion: apiVersionOf(r) };
    }
    const limit = Number(query["limit"] ?? "0");
    const end = limit > 0 ? Math.min(page.items.length, offset + limit) : page.items.length;
    let next: string | undefined;
    if (end < page.items.length) {
      const id = token?.split(":")[0] ?? randomUUID();
      this.pages.set(id, page);
      next = `${id}:${end}`;
    } else if (token) {
      this.pages.delete(token.split(":")[0]!);
    }
    // Items as the real server lists them: without kind/apiVersion.
    const items = page.items.slice(offset, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    this.send(res, 200, {
      kind: page.listKind, apiVersion: page.apiVersion,
      metadata: { resourceVersion: String(page.rv), ...(next ? { continue: next, remainingItemCount: page.items.length - end } : {}) },
      items,
    });
  }

  private watch(route: Route, query: Readonly<Record<string, string>>, filter: (o: KubeObject) => boolean, res: ServerResponse): void {
    const r = route.resource;
    const rvText = query["resourceVersion"] ?? "";
    const from = rvText === "" || rvText === "0" ? undefined : Number(rvText);
    const replay = from === undefined ? [] : this.store.eventsSince(from, r.name, route.namespace)?.filter((e) => filter(e.object));
    if (replay === undefined && this.goneAs === "status") {
      return this.send(res, 410, status(410, "Expired", `too old resource version: ${rvText} (${this.store.compactedThrough})`));
    }
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const write = (type: string, object: unknown) => {
      if (!watcher.silenced && !res.destroyed && !res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let unsubscribe = () => {};
    let bookmarks: NodeJS.Timeout | undefined;
    const watcher: Watcher = {
      resource: r.name, res, silenced: false,
      close: (graceful) => {
        if (graceful) res.end();
        else res.destroy();
        cleanup();
      },
    };
    const cleanup = () => {
      unsubscribe();
      if (bookmarks) clearInterval(bookmarks);
      this.watchers.delete(watcher);
    };
    res.on("close", cleanup);
    if (replay === undefined) {
      write("ERROR", status(410, "Expired", `too old resource version: ${rvText} (${this.store.compactedThrough})`));
      res.end();
      return;
    }
    this.watchers.add(watcher);
    if (from === undefined) for (const o of this.store.list(r.name, route.namespace).filter(filter)) write("ADDED", o);
    for (const e of replay) write(e.type, e.object);
    unsubscribe = this.store.subscribe((e: StoredEvent) => {
      if (e.resource === r.name && (route.namespace === undefined || e.namespace === route.namespace) && filter(e.object)) write(e.type, e.object);
    });
    if (query["allowWatchBookmarks"] === "true" && this.bookmarkIntervalMs > 0) {
      bookmarks = setInterval(() => write("BOOKMARK", { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.store.rv) } }), this.bookmarkIntervalMs);
    }
  }
}
