/**
 * What the kube-status driver needs of the Kubernetes API: Services (list, get) and writing
 * one Service's `status.loadBalancer.ingress` under a resourceVersion precondition. The real
 * one is over the API (client.ts, through model/kube-http.ts), the fake an in-memory store (fake.ts).
 *
 * @category apply
 */

/** One ingress entry as the API holds it. */
export interface IngressEntry {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: string;
}

/** The parts of a Service the driver reads. `raw` is the object as read (the write's base). */
export interface ServiceObject {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly type: string;
  readonly loadBalancerClass?: string;
  readonly ingress: readonly IngressEntry[];
  readonly raw?: unknown;
}

export type WriteResult = "ok" | "conflict" | "gone";

export interface ServiceStatusApi {
  /** Every Service of the cluster (one request). */
  list(): Promise<ServiceObject[]>;
  /** One Service, or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<ServiceObject | undefined>;
  /**
   * Replaces the status of `svc` (as read by get/list) with `ingress`, conditioned on
   * `svc.resourceVersion`: "conflict" when the object changed since (HTTP 409), "gone" when
   * it no longer exists. Rejects with a one-line Error on anything else.
   */
  writeStatus(svc: ServiceObject, ingress: readonly IngressEntry[]): Promise<WriteResult>;
}

/** The IPs of an ingress list, in order. */
export const ingressIps = (ingress: readonly IngressEntry[]): string[] => ingress.flatMap((i) => (i.ip ? [i.ip] : []));

/** Projects a raw v1 Service (API JSON) into a ServiceObject. */
export function serviceObject(raw: unknown): ServiceObject | undefined {
  const o = raw as { metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown }; spec?: { type?: unknown; loadBalancerClass?: unknown }; status?: { loadBalancer?: { ingress?: unknown } } } | undefined;
  const name = o?.metadata?.name;
  if (typeof name !== "string") return undefined;
  const ns = typeof o?.metadata?.namespace === "string" ? o.metadata.namespace : "default";
  const ing = Array.isArray(o?.status?.loadBalancer?.ingress) ? (o.status.loadBalancer.ingress as unknown[]) : [];
  const ingress = ing.flatMap((e): IngressEntry[] => {
    const x = e as { ip?: unknown; hostname?: unknown; ipMode?: unknown } | null;
    if (x === null || typeof x !== "object") return [];
    return [{ ...(typeof x.ip === "string" && x.ip !== "" ? { ip: x.ip } : {}), ...(typeof x.hostname === "string" && x.hostname !== "" ? { hostname: x.hostname } : {}), ...(typeof x.ipMode === "string" ? { ipMode: x.ipMode } : {}) }];
  });
  const cls = o?.spec?.loadBalancerClass;
  return {
    namespace: ns, name,
    resourceVersion: typeof o?.metadata?.resourceVersion === "string" ? o.metadata.resourceVersion : "",
    type: typeof o?.spec?.type === "string" ? o.spec.type : "ClusterIP",
    ...(typeof cls === "string" && cls !== "" ? { loadBalancerClass: cls } : {}),
    ingress,
    raw,
  };
}
