/**
 * Paged list of one collection over HTTP with the kubeconfig's credentials and TLS settings
 * (request.ts), returning raw API JSON — exactly what the server sent,
 * as the watch does — mapped item by item (to cache entries) page by page, so a list of 150k
 * pods never holds more than one page of full objects.
 *
 * Fails (rejects) with `ListError`, one-line message `list <path>: <reason>`, on a connection
 * error, a non-200 answer (reason from the Status body; its `Retry-After` header, bounded, as
 * `retryAfterMs`), a page not answered within `timeoutMs` of silence, or `signal` aborted.
 *
 * @category sources
 */
import type { KubeConnection } from "./connection.ts";
import { answerText } from "../../model/kube-http.ts";
import { kubeRequest } from "./request.ts";
import { retryAfterMs } from "./retry-after.ts";

export class ListError extends Error {
  override readonly name = "ListError";
  constructor(message: string, readonly statusCode?: number, readonly retryAfterMs?: number) {
    super(message);
  }
}

export interface ListOptions {
  /** Items per page (`limit`); 0 = one unpaged list. */
  readonly pageSize: number;
  /** Max silence while waiting for one page. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Extra query parameters of every page (e.g. a fieldSelector). */
  readonly query?: Readonly<Record<string, string>>;
}

export interface ListResult<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** GETs one page and parses the JSON body; rejects with a one-line reason. */
async function getJson(kc: KubeConnection, path: string, query: Record<string, string>, opts: ListOptions): Promise<unknown> {
  const a = await kubeRequest(kc, "GET", path, { query, timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (a.status !== 200) throw new ListError(answerText(a), a.status, retryAfterMs(a.headers["retry-after"]));
  if (a.body === undefined) throw new ListError("the answer is not JSON", a.status);
  return a.body;
}

const reasonOf = (e: unknown): string => {
  if (e instanceof Error && e.name === "AbortError") return "aborted";
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
};

/** Lists every item of `path` (following `continue`), mapping each with `map`. */
export async function listAll<T>(kc: KubeConnection, path: string, opts: ListOptions, map: (raw: unknown) => T): Promise<ListResult<T>> {
  const shown = opts.query ? `${path}?${new URLSearchParams(opts.query as Record<string, string>)}` : path;
  const items: T[] = [];
  let resourceVersion = "";
  let token: string | undefined;
  do {
    const query: Record<string, string> = { ...opts.query };
    if (opts.pageSize > 0) query["limit"] = String(opts.pageSize);
    if (token) query["continue"] = token;
    let body: unknown;
    try {
      body = await getJson(kc, path, query, opts);
    } catch (e) {
      throw e instanceof ListError ? new ListError(`list ${shown}: ${reasonOf(e)}`, e.statusCode, e.retryAfterMs) : new ListError(`list ${shown}: ${reasonOf(e)}`);
    }
    if (!isObj(body) || !Array.isArray(body["items"])) throw new ListError(`list ${shown}: the answer has no items`);
    for (const raw of body["items"] as unknown[]) items.push(map(raw));
    const meta = isObj(body["metadata"]) ? body["metadata"] : {};
    // A paged list is one snapshot: the first page's resourceVersion is the list's.
    if (!token) resourceVersion = typeof meta["resourceVersion"] === "string" ? meta["resourceVersion"] : "";
    token = typeof meta["continue"] === "string" && meta["continue"] !== "" ? meta["continue"] : undefined;
  } while (token);
  return { resourceVersion, items };
}
