/**
 * Paged list of one collection over HTTP with the kubeconfig's credentials and TLS settings
 * (`KubeConfig.applyToHTTPSOptions`), returning raw API JSON — exactly what the server sent,
 * as the watch does — mapped item by item (to cache entries) page by page, so a list of 150k
 * pods never holds more than one page of full objects.
 *
 * Fails (rejects) with `ListError`, one-line message `list <path>: <reason>`, on a connection
 * error, a non-200 answer (reason from the Status body; its `Retry-After` header, bounded, as
 * `retryAfterMs`), a page not answered within `timeoutMs` of silence, or `signal` aborted.
 *
 * @category sources
 */
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
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

/** GETs `url` and parses the JSON body; rejects with a one-line reason. */
async function getJson(kc: KubeConfig, url: URL, opts: ListOptions): Promise<unknown> {
  const reqOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(reqOpts);
  const mod = url.protocol === "https:" ? https : http;
  return await new Promise((resolve, reject) => {
    const req = mod.request(url, {
      ...reqOpts,
      method: "GET",
      headers: { ...reqOpts.headers, Accept: "application/json" },
      timeout: opts.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => reject(e));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const msg = isObj(body) && typeof body["message"] === "string" ? body["message"] : text.slice(0, 200).replace(/\s+/g, " ");
          const reason = isObj(body) && typeof body["reason"] === "string" ? `${body["reason"]}: ` : "";
          reject(new ListError(`HTTP ${code} ${reason}${msg}`.trim(), code, retryAfterMs(res.headers["retry-after"])));
        } else if (body === undefined) {
          reject(new ListError("the answer is not JSON", code));
        } else {
          resolve(body);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

const reasonOf = (e: unknown): string => {
  if (e instanceof Error && e.name === "AbortError") return "aborted";
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
};

/** Lists every item of `path` (following `continue`), mapping each with `map`. */
export async function listAll<T>(kc: KubeConfig, path: string, opts: ListOptions, map: (raw: unknown) => T): Promise<ListResult<T>> {
  const server = kc.getCurrentCluster()?.server;
  const shown = opts.query ? `${path}?${new URLSearchParams(opts.query as Record<string, string>)}` : path;
  if (!server) throw new ListError(`list ${shown}: no current cluster`);
  const items: T[] = [];
  let resourceVersion = "";
  let token: string | undefined;
  do {
    const url = new URL(server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    if (opts.pageSize > 0) url.searchParams.set("limit", String(opts.pageSize));
    if (token) url.searchParams.set("continue", token);
    let body: unknown;
    try {
      body = await getJson(kc, url, opts);
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
