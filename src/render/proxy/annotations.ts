/**
 * The Service annotations and labels the proxy reads (kube-router-features.md §2.1), parsed
 * into one record per Service. Pure; never throws: an unusable value falls back to upstream's
 * behaviour and is reported as a warning naming the Service and the annotation.
 *
 * @category render
 */
import { NONE } from "../none.ts";
import type { ServiceInfo } from "../../model/cluster.ts";

export const ANNOTATION = {
  scheduler: "kube-router.io/service.scheduler",
  schedFlags: "kube-router.io/service.schedflags",
  dsr: "kube-router.io/service.dsr",
  hairpin: "kube-router.io/service.hairpin",
  hairpinExternalIps: "kube-router.io/service.hairpin.externalips",
  local: "kube-router.io/service.local",
  skipLbIps: "kube-router.io/service.skiplbips",
} as const;
export const LABEL_PROXY_NAME = "service.kubernetes.io/service-proxy-name";
export const LABEL_HEADLESS = "service.kubernetes.io/headless";

export const SCHEDULERS = ["rr", "lc", "dh", "sh", "mh"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];
const SCHED_FLAGS = ["flag-1", "flag-2", "flag-3"] as const;

export interface ServiceOptions {
  readonly scheduler: Scheduler;
  /** Sorted, deduplicated; only with `mh` (upstream honours flags for mh only). */
  readonly flags: readonly string[];
  /** `service.dsr: tunnel`. */
  readonly dsr: boolean;
  readonly hairpin: boolean;
  readonly hairpinExternalIps: boolean;
  /** externalTrafficPolicy Local or `service.local: "true"` (which leaves internal policy alone). */
  readonly externalLocal: boolean;
  readonly internalLocal: boolean;
  readonly skipLbIps: boolean;
}

export const serviceRef = (s: Pick<ServiceInfo, "namespace" | "name">): string => `${s.namespace}/${s.name}`;

/**
 * Why the proxy leaves a Service alone, or undefined when it renders it: ExternalName,
 * headless (no cluster IP, `None`, or the headless label), or another proxy's
 * `service-proxy-name`. Skips are by design, not warnings.
 */
export function skipReason(s: ServiceInfo): string | undefined {
  if (s.type === "ExternalName") return "type ExternalName";
  if (s.labels[LABEL_HEADLESS] !== undefined) return `label ${LABEL_HEADLESS}`;
  if (s.clusterIPs.length === 0 || s.clusterIPs.includes("None")) return "headless (no cluster IP)";
  const proxy = s.labels[LABEL_PROXY_NAME];
  if (proxy !== undefined && proxy !== "kube-router") return `label ${LABEL_PROXY_NAME}=${proxy}`;
  return undefined;
}

/** Parses the Service's annotations; `warn` receives one line per unusable value. */
export function serviceOptions(s: ServiceInfo, hairpinMode: boolean, warn: (m: string) => void): ServiceOptions {
  const a = s.annotations;
  const ref = `Service ${serviceRef(s)}`;
  let scheduler: Scheduler = "rr";
  const sched = a[ANNOTATION.scheduler];
  if (sched !== undefined) {
    if ((SCHEDULERS as readonly string[]).includes(sched)) scheduler = sched as Scheduler;
    else warn(`${ref}: metadata.annotations[${ANNOTATION.scheduler}]: unknown scheduler "${sched}" (want ${SCHEDULERS.join(", ")}); using rr`);
  }
  const flags = new Set<string>();
  const flagText = a[ANNOTATION.schedFlags];
  if (flagText !== undefined && flagText.trim() !== "") {
    for (const f of flagText.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
      if ((SCHED_FLAGS as readonly string[]).includes(f)) flags.add(f);
      else warn(`${ref}: metadata.annotations[${ANNOTATION.schedFlags}]: unknown flag "${f}" (want ${SCHED_FLAGS.join(", ")}); ignored`);
    }
    if (scheduler !== "mh" && flags.size > 0) {
      warn(`${ref}: metadata.annotations[${ANNOTATION.schedFlags}]: flags are honoured only with scheduler mh; ignored`);
      flags.clear();
    }
  }
  const dsrText = a[ANNOTATION.dsr];
  if (dsrText !== undefined && dsrText !== "tunnel") warn(`${ref}: metadata.annotations[${ANNOTATION.dsr}]: only "tunnel" is supported, not "${dsrText}"; DSR off`);
  return {
    scheduler,
    flags: flags.size === 0 ? NONE : [...flags].sort(),
    dsr: dsrText === "tunnel",
    hairpin: hairpinMode || a[ANNOTATION.hairpin] !== undefined,
    hairpinExternalIps: a[ANNOTATION.hairpinExternalIps] !== undefined,
    externalLocal: s.externalTrafficPolicy === "Local" || a[ANNOTATION.local] === "true",
    internalLocal: s.internalTrafficPolicy === "Local",
    skipLbIps: a[ANNOTATION.skipLbIps] !== undefined,
  };
}
