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
import type { CoreV1Api, CoreV1Event } from "@kubernetes/client-node";

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

/** The core/v1 Event body for `e` at `now`, reported by `host`. */
export function eventBody(e: LbEvent, host: string, now: Date): CoreV1Event {
  const suffix = `${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`;
  return {
    apiVersion: "v1", kind: "Event",
    metadata: { name: `${e.name}.${suffix}`, namespace: e.namespace },
    involvedObject: { apiVersion: "v1", kind: "Service", namespace: e.namespace, name: e.name, ...(e.uid ? { uid: e.uid } : {}) },
    type: "Warning", reason: e.reason, message: e.message.slice(0, 1024),
    source: { component: EVENT_COMPONENT, host },
    firstTimestamp: now, lastTimestamp: now, count: 1,
  };
}

/** Events through client-node's CoreV1Api (`createNamespacedEvent`), reported by `host` (the Lease identity). */
export function kubeEventApi(core: CoreV1Api, host: string): EventApi {
  return {
    async create(e) {
      try {
        await core.createNamespacedEvent({ namespace: e.namespace, body: eventBody(e, host, new Date()) });
      } catch (err) {
        throw new Error(`Event ${e.reason} on Service ${e.namespace}/${e.name}: ${String((err as Error).message ?? err).split("\n")[0]!.slice(0, 200)}`);
      }
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
