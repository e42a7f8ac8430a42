/**
 * What the route extender needs of one ConfigMap: read its data with the resourceVersion, create
 * it, and replace its whole data under a resourceVersion precondition. No I/O here: the real
 * one is over the API (client.ts, through model/kube-http.ts).
 *
 * @category apply
 */

/** A ConfigMap's data as read, with the resourceVersion a later update is conditioned on. */
export interface ConfigMapRead {
  readonly data: Record<string, string>;
  readonly resourceVersion: string;
}

export interface ConfigMapApi {
  /** The ConfigMap, or undefined when it does not exist. Rejects with a one-line Error otherwise. */
  get(ns: string, name: string): Promise<ConfigMapRead | undefined>;
  /** Creates it with `data`: "conflict" when it already exists (HTTP 409). Rejects with a one-line Error otherwise. */
  create(ns: string, name: string, data: Record<string, string>): Promise<"ok" | "conflict">;
  /**
   * Replaces its whole data (PUT) conditioned on `resourceVersion`: "conflict" when it changed
   * since (HTTP 409), "gone" when it no longer exists (HTTP 404). Rejects with a one-line Error
   * naming the ConfigMap and the HTTP status otherwise.
   */
  update(ns: string, name: string, data: Record<string, string>, resourceVersion: string): Promise<"ok" | "conflict" | "gone">;
}
