/**
 * List, then watch from the list's resourceVersion, keeping a cache of what the server holds
 * (the reflector of client-go, and what client-node's ListWatch did for us):
 *
 * - a list replaces the cache: objects it no longer holds are reported deleted, new ones
 *   added, changed ones (another resourceVersion) updated;
 * - watch events update the cache and are reported; an event that changes nothing (same
 *   resourceVersion, or a delete of an unknown object) is not;
 * - the watch ending cleanly ⇒ watch again from the last resourceVersion seen (events and
 *   bookmarks move it); 410 Gone (answer or ERROR event) ⇒ list again;
 * - any other failure of the list or the watch goes to `error` and stops it: the informer
 *   restarts it (`start()`) after its backoff, from the last resourceVersion.
 *
 * The cache holds each object's key and resourceVersion only (the records live in the
 * snapshot store): a delete is reported with just those two.
 *
 * @category sources
 */
import type { CachedObject } from "./cached.ts";
import type { ManagedWatch } from "./managed-watch.ts";

export interface ListWatchHandlers<T> {
  readonly add: (o: T) => void;
  readonly update: (o: T) => void;
  readonly delete: (o: Pick<CachedObject, "key" | "resourceVersion">) => void;
  readonly error: (err: unknown) => void;
}

export interface Listed<T> {
  readonly resourceVersion: string;
  readonly items: readonly T[];
}

const statusOf = (o: unknown): number | undefined => {
  const e = o as { statusCode?: unknown; code?: unknown } | null | undefined;
  const c = e?.statusCode ?? e?.code;
  return typeof c === "number" ? c : undefined;
};

export class ListWatch<T extends CachedObject> {
  /** Key → resourceVersion of every object the server holds. */
  private objects = new Map<string, string | undefined>();
  private resourceVersion = "";
  private stopped = false;
  private request: AbortController | undefined;

  constructor(
    private readonly path: string,
    private readonly watch: ManagedWatch,
    private readonly list: () => Promise<Listed<T>>,
    private readonly on: ListWatchHandlers<T>,
  ) {}

  /** Lists when it has no resourceVersion, then watches. Failures go to `error`. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.next(null);
  }

  /** Ends the current watch; nothing restarts it until `start()`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.request?.abort();
    this.request = undefined;
  }

  /** After a watch ended (or at start): relist on 410, report other errors, else watch again. */
  private async next(err: unknown): Promise<void> {
    this.request?.abort();
    this.request = undefined;
    if (err && statusOf(err) === 410) this.resourceVersion = "";
    else if (err) {
      this.on.error(err);
      return;
    }
    if (this.stopped) return;
    if (!this.resourceVersion) {
      let listed: Listed<T>;
      try {
        listed = await this.list();
      } catch (e) {
        this.on.error(e);
        return;
      }
      this.replace(listed.items);
      this.resourceVersion = listed.resourceVersion;
    }
    this.request = this.watch.watch(this.path, { resourceVersion: this.resourceVersion }, (type, obj) => this.event(type, obj), (e) => void this.next(e));
  }

  private replace(items: readonly T[]): void {
    const keep = new Set<string>();
    for (const o of items) keep.add(o.key);
    for (const [key, resourceVersion] of this.objects) {
      if (keep.has(key)) continue;
      this.objects.delete(key);
      this.on.delete({ key, resourceVersion });
    }
    for (const o of items) this.upsert(o);
  }

  private upsert(o: T): void {
    if (!this.objects.has(o.key)) {
      this.objects.set(o.key, o.resourceVersion);
      this.on.add(o);
      return;
    }
    const known = this.objects.get(o.key);
    if (known === undefined || known !== o.resourceVersion) {
      this.objects.set(o.key, o.resourceVersion);
      this.on.update(o);
    }
  }

  private event(type: string, obj: unknown): void {
    let rv: unknown;
    switch (type) {
      case "ERROR":
        if (statusOf(obj) === 410) this.resourceVersion = "";
        return; // the server ends the watch after an ERROR event; next() then relists
      case "ADDED":
      case "MODIFIED":
        this.upsert(obj as T);
        rv = (obj as T).resourceVersion;
        break;
      case "DELETED": {
        const o = obj as T;
        if (this.objects.delete(o.key)) this.on.delete(o);
        rv = o.resourceVersion;
        break;
      }
      default: // BOOKMARK: the raw object
        rv = (obj as { metadata?: { resourceVersion?: unknown } } | null | undefined)?.metadata?.resourceVersion;
        break;
    }
    this.resourceVersion = typeof rv === "string" ? rv : "";
  }
}
