/**
 * One JSON request to the API server over node's http(s), with the connection's TLS settings
 * and credentials: what every non-watch call of the agent makes (list pages, ConfigMap,
 * Service status, Event and Lease reads and writes).
 *
 * `kubeRequest` resolves with any HTTP answer (the caller decides what a 404 or 409 means) and
 * rejects only when no answer came: a connection error, `timeoutMs` of silence, `signal`
 * aborted, or credentials that cannot be read (model/kube-http.ts `answerText` makes an
 * unexpected answer one line).
 * `kubeHttp(kc)` is the same call as the `KubeHttp` function the API writers of src/apply take.
 *
 * @category sources
 */
import type { KubeAnswer, KubeCall, KubeHttp } from "../../model/kube-http.ts";
import type { KubeConnection } from "./connection.ts";

/** Sends one request and reads the whole answer (see the module doc). */
export function kubeRequest(kc: KubeConnection, method: KubeCall["method"], path: string, o: Omit<KubeCall, "method" | "path"> = {}): Promise<KubeAnswer> {
  return new Promise((resolve, reject) => {
    const url = kc.url(path, o.query);
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string> = {};
    if (payload) {
      headers["Content-Type"] = o.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const timeoutMs = o.timeoutMs ?? 30_000;
    const req = kc.open(url, { method, headers, timeout: timeoutMs, ...(o.signal ? { signal: o.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** `kubeRequest` on `kc` as a KubeHttp function (model/kube-http.ts). */
export function kubeHttp(kc: KubeConnection): KubeHttp {
  return ({ method, path, ...o }) => kubeRequest(kc, method, path, o);
}
