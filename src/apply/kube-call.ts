/**
 * What the API writers (kube-configmap/client.ts, kube-status/client.ts, events.ts, lease.ts)
 * share around one `KubeHttp` call: a request that got no answer, or an answer outside the
 * expected ones, becomes one line `<what>: <reason>` (`get ConfigMap kube-system/x: HTTP 403
 * Forbidden: …`).
 *
 * @category apply
 */
import { type KubeAnswer, type KubeCall, type KubeHttp, answerText } from "../model/kube-http.ts";

/** The first line of an error's message. */
const errorLine = (e: unknown): string => String((e as Error)?.message ?? e).split("\n")[0]!.slice(0, 300);

/**
 * The answer to `call` when its status is one of `expected`; rejects with `<what>: <reason>`
 * (one line) when no answer came or it had another status.
 */
export async function kubeCall(http: KubeHttp, what: string, call: KubeCall, expected: readonly number[]): Promise<KubeAnswer> {
  let a: KubeAnswer;
  try {
    a = await http(call);
  } catch (e) {
    throw new Error(`${what}: ${errorLine(e)}`);
  }
  if (!expected.includes(a.status)) throw new Error(`${what}: ${answerText(a)}`);
  return a;
}
