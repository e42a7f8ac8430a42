/**
 * The shape of one Kubernetes API call and its answer, so the API writers in src/apply
 * (ConfigMap, Service status, Event, Lease) take a `KubeHttp` function without importing the
 * HTTP client (src/sources/kube/request.ts implements it; the agent wires the two). Pure.
 *
 * @category model
 */

export interface KubeCall {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Starts with "/" (`/api/v1/namespaces/x/configmaps/y`). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Content-Type of the body (default application/json; a patch names its kind). */
  readonly contentType?: string;
  /** Max silence while waiting for the answer (default 30 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface KubeAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body; undefined when the body is not JSON. */
  readonly body: unknown;
  /** The raw body (for a message when it is not JSON). */
  readonly text: string;
}

/** Resolves with any HTTP answer; rejects (one-line Error) only when none came: connection, timeout, abort, credentials. */
export type KubeHttp = (call: KubeCall) => Promise<KubeAnswer>;

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** `HTTP <code> <reason>: <message>` of an answer, one line (the Status body's reason and message, else the text). */
export function answerText(a: KubeAnswer): string {
  const b = a.body;
  const msg = isObj(b) && typeof b["message"] === "string" ? b["message"] : a.text.slice(0, 200).replace(/\s+/g, " ");
  const reason = isObj(b) && typeof b["reason"] === "string" ? `${b["reason"]}: ` : "";
  return `HTTP ${a.status} ${reason}${msg}`.split("\n")[0]!.trim().slice(0, 300);
}
