/**
 * Warning Events on Services for the allocator's problems (render/lballoc REASONS): a
 * core/v1 Event (what `kubectl describe service` and `kubectl get events` show), one create
 * request each, written as client-go's legacy recorder writes a first occurrence: name
 * `<service>.<hex>`, the Service as involvedObject, type Warning, count 1, first and last
 * timestamp, source component `kube-router-lballoc` on the agent's identity. Upstream
 * kube-router's allocator only logs these; the Events are ours.
 *
 * @category apply
 */
import { randomBytes } from "node:crypto";
import type { KubeHttp } from "../../model/kube-http.ts";
import { kubeCall } from "../kube-call.ts";

/** One Warning Event about a Service. */
export interface LbEvent {
  readonly namespace: string;
  readonly name: string;
  /** The Service's uid when known (kubectl describe matches on it too). */
  readonly uid?: string;
  readonly reason: string;
  readonly message: string;
}

export interface EventApi {
  /** Creates the Event; rejects with a one-line Error naming the Service and the reason. */
  create(e: LbEvent): Promise<void>;
}

export const EVENT_COMPONENT = "kube-router-lballoc";

/** A core/v1 Event as the API takes it (the fields we set). */
export interface EventBody {
  readonly apiVersion: "v1";
  readonly kind: "Event";
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly involvedObject: { readonly apiVersion: "v1"; readonly kind: "Service"; readonly namespace: string; readonly name: string; readonly uid?: string };
  readonly type: "Warning";
  readonly reason: string;
  readonly message: string;
  readonly source: { readonly component: string; readonly host: string };
  /** RFC 3339, seconds (metav1.Time). */
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly count: number;
}

/** The core/v1 Event body for `e` at `now`, reported by `host`. */
export function eventBody(e: LbEvent, host: string, now: Date): EventBody {
  const suffix = `${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`;
  const at = now.toISOString().replace(/\.\d+Z$/, "Z");
  return {
    apiVersion: "v1", kind: "Event",
    metadata: { name: `${e.name}.${suffix}`, namespace: e.namespace },
    involvedObject: { apiVersion: "v1", kind: "Service", namespace: e.namespace, name: e.name, ...(e.uid ? { uid: e.uid } : {}) },
    type: "Warning", reason: e.reason, message: e.message.slice(0, 1024),
    source: { component: EVENT_COMPONENT, host },
    firstTimestamp: at, lastTimestamp: at, count: 1,
  };
}

/** Events through the API (POST `/api/v1/namespaces/<ns>/events`), reported by `host` (the Lease identity). */
export function kubeEventApi(http: KubeHttp, host: string): EventApi {
  return {
    async create(e) {
      await kubeCall(http, `Event ${e.reason} on Service ${e.namespace}/${e.name}`, { method: "POST", path: `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/events`, body: eventBody(e, host, new Date()) }, [200, 201]);
    },
  };
}

/** An in-memory EventApi (fake node, unit tests): records each Event; `fail` makes the next creates reject. */
export class MemoryEventApi implements EventApi {
  readonly events: LbEvent[] = [];
  fail = 0;
  async create(e: LbEvent): Promise<void> {
    if (this.fail > 0) { this.fail--; throw new Error(`Event ${e.reason} on Service ${e.namespace}/${e.name}: injected failure`); }
    this.events.push(e);
  }
}
