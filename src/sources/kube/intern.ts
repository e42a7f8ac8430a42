/**
 * Sharing of repeated values between projected records, to keep big clusters small: pods of
 * one ReplicaSet have equal labels and ports, thousands of pods share a namespace, a node name,
 * a host IP and a phase. Equal strings are made one string, equal small sub-objects (labels,
 * ports) one frozen object.
 *
 * Records are compacted right after projection, while no one else holds them, so they are
 * edited in place; everything shared is frozen (records are immutable anyway). The pools are
 * bounded: when one exceeds `maxEntries` it is cleared (only future sharing is lost), so churn
 * (new ReplicaSet hashes after rollouts) cannot grow them without limit.
 *
 * @category sources
 */
import { freeze } from "immer";
import type { EndpointSliceInfo, NetworkPolicyInfo, PodInfo, ServiceInfo } from "../../model/cluster.ts";
import type { SourceKind } from "../source.ts";
import type { NamedRecord } from "./kinds.ts";

export class Interner {
  private strings = new Map<string, string>();
  private objects = new Map<string, unknown>();

  constructor(private readonly maxEntries = 200_000) {}

  /** The pooled string equal to `s`. */
  str<T extends string | undefined>(s: T): T {
    if (s === undefined) return s;
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit as T;
    if (this.strings.size >= this.maxEntries) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }

  /** The pooled frozen object structurally equal to `o` (plain JSON data only). */
  obj<T>(o: T): T {
    const key = JSON.stringify(o);
    const hit = this.objects.get(key);
    if (hit !== undefined) return hit as T;
    if (this.objects.size >= this.maxEntries) this.objects = new Map();
    freeze(o, true);
    this.objects.set(key, o);
    return o;
  }

  /** Pool sizes (for tests and debugging). */
  get size(): { strings: number; objects: number } {
    return { strings: this.strings.size, objects: this.objects.size };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Shares the repeated parts of a freshly projected record (in place) and returns it. */
export function compact(kind: SourceKind, record: NamedRecord, pool: Interner): NamedRecord {
  switch (kind) {
    case "pods": {
      const p = record as Mutable<PodInfo>;
      p.namespace = pool.str(p.namespace);
      p.labels = pool.obj(p.labels);
      p.ports = pool.obj(p.ports);
      if (p.nodeName !== undefined) p.nodeName = pool.str(p.nodeName);
      if (p.phase !== undefined) p.phase = pool.str(p.phase);
      if (p.hostIP !== undefined) p.hostIP = pool.str(p.hostIP);
      return p;
    }
    case "endpointSlices": {
      const e = record as Mutable<EndpointSliceInfo>;
      e.namespace = pool.str(e.namespace);
      e.ports = pool.obj(e.ports);
      for (const ep of e.endpoints as Mutable<EndpointSliceInfo["endpoints"][number]>[]) {
        if (ep.nodeName !== undefined) ep.nodeName = pool.str(ep.nodeName);
        if (ep.targetRef?.namespace !== undefined) ep.targetRef = { namespace: pool.str(ep.targetRef.namespace), name: ep.targetRef.name };
      }
      return e;
    }
    case "services": {
      const s = record as Mutable<ServiceInfo>;
      s.namespace = pool.str(s.namespace);
      s.labels = pool.obj(s.labels);
      s.annotations = pool.obj(s.annotations);
      s.ports = pool.obj(s.ports);
      return s;
    }
    case "networkPolicies": {
      const n = record as Mutable<NetworkPolicyInfo>;
      n.namespace = pool.str(n.namespace);
      return n;
    }
    default:
      return record;
  }
}
