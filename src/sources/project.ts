/**
 * Projection of raw Kubernetes objects (parsed YAML/JSON from `kubectl get -o yaml|json`, or
 * API list items, which carry no kind/apiVersion) onto the small records of model/cluster.ts.
 *
 * Guarantees, for every `project*` function:
 * - never throws; returns `{ ok }` or `{ warning }` naming the kind, namespace/name (when
 *   readable) and the field path of the first problem (`spec.podCIDRs[1]`);
 * - a malformed object is rejected whole (the caller skips it), following the API server's
 *   validation: missing `metadata.name`, an `apiVersion` other than the served one (when given:
 *   API list items carry none), a Pod or Service without `spec`, a field of the wrong type (a
 *   Service `spec.selector` that is not a string map), an invalid IP or CIDR, two IPs or CIDRs
 *   of one family, an unknown enum value, an out-of-range port, an invalid port name
 *   (IANA_SVC_NAME for containers, DNS-1123 label for Services and slices), duplicate ports;
 * - the API server's defaulting is applied, since objects may arrive with or without it:
 *   port protocols TCP, Service type ClusterIP, sessionAffinity None (ClientIP timeout 10800 s),
 *   external/internal traffic policy Cluster, targetPort = port, NetworkPolicy policyTypes
 *   (Ingress always unless only Egress is listed, Egress when listed or when egress rules exist
 *   and policyTypes is missing), EndpointSlice conditions (ready/serving unknown ⇒ true,
 *   terminating unknown ⇒ false); a namespaced object without a namespace is in `default`;
 * - IPs and CIDRs are stored in canonical text (model/ip.ts; CIDRs as `network/bits`);
 *   a Service's `None` cluster IP (headless) is kept as is;
 * - only the fields the records hold are read (managedFields, status noise etc. are dropped);
 * - NetworkPolicy rules keep `from`/`to`/`ports` missing (undefined) apart from present-but-empty ([]).
 * - NetworkPolicy ipBlock CIDRs are canonical when valid and kept as written when not (the
 *   firewall reports them and fails the policy closed; rejecting the policy would fail open).
 *
 * Used by the snapshot file loader and by the API informers; reads no files.
 *
 * @category sources
 */
import type {
  ContainerPort, EndpointInfo, EndpointSliceInfo, InputWarning, LabelSelector, LabelSelectorRequirement,
  NamespaceInfo, NetworkPolicyInfo, NodeAddress, NodeInfo, ObjectRef, PodInfo, PolicyPeer, PolicyPort,
  PolicyRule, ServiceInfo, ServicePort,
} from "../model/cluster.ts";
import { canonicalCidr, canonicalIp, cidrFamily, ipFamily } from "../model/ip.ts";
import { dns1123LabelProblem, ianaSvcNameProblem, objectNameProblem } from "../model/k8s-names.ts";
import { taintsOf } from "./project-extender.ts";

/** The result of projecting one object. */
export type Projection<T> = { readonly ok: T } | { readonly warning: InputWarning };

type Obj = Readonly<Record<string, unknown>>;

/** A problem at one field; thrown inside this module only, caught by `project`. */
class Bad extends Error {
  constructor(readonly field: string | undefined, message: string) {
    super(message);
  }
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : `a ${typeof v}`);
const join = (base: string, key: string): string => (base === "" ? key : `${base}.${key}`);

// ---------------------------------------------------------------------------------------------
// Field readers: `undefined` and `null` mean "absent" (Go's nil); anything else must have the type.

function optObj(v: unknown, field: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new Bad(field, `must be an object, not ${describe(v)}`);
  return v;
}
function optArr(v: unknown, field: string): readonly unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Bad(field, `must be a list, not ${describe(v)}`);
  return v;
}
function optStr(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new Bad(field, `must be a string, not ${describe(v)}`);
  return v;
}
function reqStr(v: unknown, field: string): string {
  const s = optStr(v, field);
  if (s === undefined || s === "") throw new Bad(field, "is required");
  return s;
}
function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new Bad(field, `must be true or false, not ${describe(v)}`);
  return v;
}
function optInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Bad(field, `must be an integer, not ${describe(v)}`);
  if (v < min || v > max) throw new Bad(field, `must be in ${min}-${max}, not ${v}`);
  return v;
}
function reqInt(v: unknown, field: string, min: number, max: number): number {
  const n = optInt(v, field, min, max);
  if (n === undefined) throw new Bad(field, "is required");
  return n;
}
function strMap(v: unknown, field: string): Readonly<Record<string, string>> {
  const o = optObj(v, field);
  if (!o) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== "string") throw new Bad(join(field, k), `must be a string, not ${describe(val)}`);
    out[k] = val;
  }
  return out;
}
function strList(v: unknown, field: string): string[] {
  return (optArr(v, field) ?? []).map((x, i) => reqStrItem(x, `${field}[${i}]`));
}
function reqStrItem(v: unknown, field: string): string {
  if (typeof v !== "string") throw new Bad(field, `must be a string, not ${describe(v)}`);
  return v;
}
function reqObj(v: unknown, field: string): Obj {
  const o = optObj(v, field);
  if (o === undefined) throw new Bad(field, "is required");
  return o;
}
/** A port name as the API validates it: IANA_SVC_NAME (pods, policies) or a DNS-1123 label (Services, slices). */
function portName(v: unknown, field: string, rule: "iana" | "dns1123"): string | undefined {
  const name = optStr(v, field);
  if (!name) return undefined;
  const why = rule === "iana" ? ianaSvcNameProblem(name) : dns1123LabelProblem(name);
  if (why !== undefined) throw new Bad(field, `${JSON.stringify(name)} ${why}`);
  return name;
}
/** Fails when two entries of `items` share `key` (the API rejects duplicates: `Duplicate value`). */
function unique<T>(items: readonly T[], key: (t: T) => string | undefined, field: (i: number) => string, what: string): void {
  const seen = new Set<string>();
  items.forEach((t, i) => {
    const k = key(t);
    if (k === undefined) return;
    if (seen.has(k)) throw new Bad(field(i), `duplicate ${what} ${k}`);
    seen.add(k);
  });
}
/** Fails when two addresses or CIDRs are of one family (the API allows one per family, at most two). */
function onePerFamily(items: readonly string[], field: string, family: (s: string) => string | undefined): void {
  unique(items, family, (i) => `${field}[${i}]`, "address of family");
}
function ip(v: string, field: string): string {
  const c = canonicalIp(v);
  if (c === undefined) throw new Bad(field, `invalid IP address ${JSON.stringify(v)}`);
  return c;
}
function cidr(v: string, field: string): string {
  const c = canonicalCidr(v);
  if (c === undefined) throw new Bad(field, `invalid CIDR ${JSON.stringify(v)}`);
  return c;
}
function oneOf<T extends string>(v: string, field: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Bad(field, `must be one of ${allowed.join(", ")}, not ${JSON.stringify(v)}`);
  }
  return v as T;
}
const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
function protocol(v: unknown, field: string): "TCP" | "UDP" | "SCTP" {
  return oneOf(optStr(v, field) ?? "TCP", field, PROTOCOLS);
}
function intOrString(v: unknown, field: string): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    if (v === "") throw new Bad(field, "must not be empty");
    return v;
  }
  return optInt(v, field, 1, 65535);
}

// ---------------------------------------------------------------------------------------------
// Metadata and the common wrapper.

interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The object's name/namespace as far as readable, for warnings about it. */
function refOf(raw: unknown, namespaced: boolean): ObjectRef | undefined {
  const m = isObj(raw) && isObj(raw["metadata"]) ? raw["metadata"] : undefined;
  const name = m?.["name"];
  if (typeof name !== "string" || name === "") return undefined;
  const ns = m?.["namespace"];
  if (!namespaced) return { name };
  return { namespace: typeof ns === "string" && ns !== "" ? ns : "default", name };
}

function readMeta(o: Obj, namespaced: boolean): Meta {
  const m = optObj(o["metadata"], "metadata");
  if (!m) throw new Bad("metadata.name", "is required");
  const name = reqStr(m["name"], "metadata.name");
  const namespace = namespaced ? optStr(m["namespace"], "metadata.namespace") || "default" : "";
  const badName = objectNameProblem(name);
  if (badName !== undefined) throw new Bad("metadata.name", badName);
  const badNs = namespaced ? objectNameProblem(namespace) : undefined;
  if (badNs !== undefined) throw new Bad("metadata.namespace", badNs);
  return {
    name,
    namespace,
    uid: optStr(m["uid"], "metadata.uid") ?? "",
    labels: strMap(m["labels"], "metadata.labels"),
    annotations: strMap(m["annotations"], "metadata.annotations"),
  };
}

/** The served apiVersion of each kind; another one (a retired beta, a typo) is what the API server would refuse. */
const API_VERSIONS: Readonly<Record<string, string>> = {
  Node: "v1", Namespace: "v1", Pod: "v1", Service: "v1", EndpointSlice: "discovery.k8s.io/v1", NetworkPolicy: "networking.k8s.io/v1",
};
/** An absent apiVersion (API list items carry none) is accepted; a present one must be the served one. */
function apiVersion(v: unknown, kind: string): void {
  const want = API_VERSIONS[kind];
  const got = optStr(v, "apiVersion");
  if (want !== undefined && got !== undefined && got !== want) throw new Bad("apiVersion", `must be ${want}, not ${JSON.stringify(got)}`);
}

function project<T>(kind: string, namespaced: boolean, raw: unknown, build: (o: Obj, meta: Meta) => T): Projection<T> {
  try {
    if (!isObj(raw)) throw new Bad(undefined, `not an object (${describe(raw)})`);
    apiVersion(raw["apiVersion"], kind);
    return { ok: build(raw, readMeta(raw, namespaced)) };
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    const ref = refOf(raw, namespaced);
    return {
      warning: { kind, ...(ref ? { ref } : {}), ...(e.field !== undefined ? { field: e.field } : {}), message: e.message },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Node, Namespace

const IP_ADDRESS_TYPES: ReadonlySet<string> = new Set(["InternalIP", "ExternalIP"]);

/** Projects a v1 Node. */
export function projectNode(raw: unknown): Projection<NodeInfo> {
  return project("Node", false, raw, (o, meta) => {
    const spec = optObj(o["spec"], "spec") ?? {};
    const status = optObj(o["status"], "status") ?? {};
    const podCIDRText = optStr(spec["podCIDR"], "spec.podCIDR");
    const podCIDR = podCIDRText ? cidr(podCIDRText, "spec.podCIDR") : undefined;
    const podCIDRs = strList(spec["podCIDRs"], "spec.podCIDRs").map((c, i) => cidr(c, `spec.podCIDRs[${i}]`));
    onePerFamily(podCIDRs, "spec.podCIDRs", cidrFamily);
    const addresses: NodeAddress[] = (optArr(status["addresses"], "status.addresses") ?? []).map((a, i) => {
      const f = `status.addresses[${i}]`;
      const ao = optObj(a, f) ?? {};
      const type = reqStr(ao["type"], `${f}.type`);
      const address = reqStr(ao["address"], `${f}.address`);
      return { type, address: IP_ADDRESS_TYPES.has(type) ? ip(address, `${f}.address`) : address };
    });
    const providerID = optStr(spec["providerID"], "spec.providerID");
    const taints = taintsOf(spec["taints"], (f, m) => { throw new Bad(f, m); });
    return {
      name: meta.name, uid: meta.uid, labels: meta.labels, annotations: meta.annotations,
      ...(podCIDR ? { podCIDR } : {}),
      podCIDRs,
      addresses,
      ...(providerID ? { providerID } : {}),
      ...(taints.length ? { taints } : {}),
    };
  });
}

/** Projects a v1 Namespace. */
export function projectNamespace(raw: unknown): Projection<NamespaceInfo> {
  return project("Namespace", false, raw, (_o, meta) => ({ name: meta.name, labels: meta.labels }));
}

// ---------------------------------------------------------------------------------------------
// Pod

/** Projects a v1 Pod (ports of `spec.containers`; IPs from `status.podIPs`, else `status.podIP`). */
export function projectPod(raw: unknown): Projection<PodInfo> {
  return project("Pod", true, raw, (o, meta) => {
    const spec = reqObj(o["spec"], "spec");
    const status = optObj(o["status"], "status") ?? {};
    const ports: ContainerPort[] = [];
    (optArr(spec["containers"], "spec.containers") ?? []).forEach((c, ci) => {
      const cf = `spec.containers[${ci}]`;
      const co = optObj(c, cf) ?? {};
      (optArr(co["ports"], `${cf}.ports`) ?? []).forEach((p, pi) => {
        const pf = `${cf}.ports[${pi}]`;
        const po = optObj(p, pf) ?? {};
        const name = portName(po["name"], `${pf}.name`, "iana");
        ports.push({
          ...(name ? { name } : {}),
          containerPort: reqInt(po["containerPort"], `${pf}.containerPort`, 1, 65535),
          protocol: protocol(po["protocol"], `${pf}.protocol`),
        });
      });
    });
    const podIPsRaw = optArr(status["podIPs"], "status.podIPs");
    let podIPs: string[];
    if (podIPsRaw && podIPsRaw.length > 0) {
      podIPs = podIPsRaw.map((p, i) => {
        const f = `status.podIPs[${i}]`;
        return ip(reqStr((optObj(p, f) ?? {})["ip"], `${f}.ip`), `${f}.ip`);
      });
    } else {
      const single = optStr(status["podIP"], "status.podIP");
      podIPs = single ? [ip(single, "status.podIP")] : [];
    }
    onePerFamily(podIPs, "status.podIPs", ipFamily);
    const hostIPText = optStr(status["hostIP"], "status.hostIP");
    const hostIP = hostIPText ? ip(hostIPText, "status.hostIP") : undefined;
    const nodeName = optStr(spec["nodeName"], "spec.nodeName");
    const phase = optStr(status["phase"], "status.phase");
    const grace = optInt(spec["terminationGracePeriodSeconds"], "spec.terminationGracePeriodSeconds", 0, Number.MAX_SAFE_INTEGER);
    const statuses = optArr(status["containerStatuses"], "status.containerStatuses") ?? [];
    const first = statuses.length > 0 ? optObj(statuses[0], "status.containerStatuses[0]") : undefined;
    const containerID = first ? optStr(first["containerID"], "status.containerStatuses[0].containerID") : undefined;
    return {
      namespace: meta.namespace, name: meta.name, labels: meta.labels,
      ...(nodeName ? { nodeName } : {}),
      hostNetwork: optBool(spec["hostNetwork"], "spec.hostNetwork") ?? false,
      ...(phase ? { phase } : {}),
      ...(hostIP ? { hostIP } : {}),
      podIPs,
      ports,
      ...(grace !== undefined ? { terminationGracePeriodSeconds: grace } : {}),
      ...(containerID ? { containerID } : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Service

const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] as const;
const DEFAULT_CLIENT_IP_TIMEOUT = 10800;

/** Projects a v1 Service (cluster IPs from `spec.clusterIPs`, else `spec.clusterIP`). */
export function projectService(raw: unknown): Projection<ServiceInfo> {
  return project("Service", true, raw, (o, meta) => {
    const spec = reqObj(o["spec"], "spec");
    strMap(spec["selector"], "spec.selector"); // not kept (EndpointSlices name the endpoints), but a non-map is rejected
    const status = optObj(o["status"], "status") ?? {};
    const type = oneOf(optStr(spec["type"], "spec.type") ?? "ClusterIP", "spec.type", SERVICE_TYPES);
    const clusterIPsRaw = strList(spec["clusterIPs"], "spec.clusterIPs");
    const clusterIPs =
      clusterIPsRaw.length > 0
        ? clusterIPsRaw.map((c, i) => (c === "None" ? c : ip(c, `spec.clusterIPs[${i}]`)))
        : [optStr(spec["clusterIP"], "spec.clusterIP") ?? ""].filter((c) => c !== "").map((c) => (c === "None" ? c : ip(c, "spec.clusterIP")));
    onePerFamily(clusterIPs, "spec.clusterIPs", (c) => (c === "None" ? "None" : ipFamily(c)));
    const externalIPs = strList(spec["externalIPs"], "spec.externalIPs").map((e, i) => ip(e, `spec.externalIPs[${i}]`));
    const lb = optObj(status["loadBalancer"], "status.loadBalancer") ?? {};
    const loadBalancerIngress = (optArr(lb["ingress"], "status.loadBalancer.ingress") ?? []).map((x, i) => {
      const f = `status.loadBalancer.ingress[${i}]`;
      const xo = optObj(x, f) ?? {};
      const ipText = optStr(xo["ip"], `${f}.ip`);
      const hostname = optStr(xo["hostname"], `${f}.hostname`);
      const ipMode = optStr(xo["ipMode"], `${f}.ipMode`);
      return {
        ...(ipText ? { ip: ip(ipText, `${f}.ip`) } : {}),
        ...(hostname ? { hostname } : {}),
        ...(ipMode ? { ipMode } : {}),
      };
    });
    const ports: ServicePort[] = (optArr(spec["ports"], "spec.ports") ?? []).map((p, i) => {
      const f = `spec.ports[${i}]`;
      const po = optObj(p, f) ?? {};
      const name = portName(po["name"], `${f}.name`, "dns1123");
      const port = reqInt(po["port"], `${f}.port`, 1, 65535);
      const nodePort = optInt(po["nodePort"], `${f}.nodePort`, 0, 65535);
      return {
        ...(name ? { name } : {}),
        protocol: protocol(po["protocol"], `${f}.protocol`),
        port,
        targetPort: intOrString(po["targetPort"], `${f}.targetPort`) ?? port,
        ...(nodePort ? { nodePort } : {}),
      };
    });
    unique(ports, (p) => p.name, (i) => `spec.ports[${i}].name`, "port name");
    unique(ports, (p) => `${p.port}/${p.protocol}`, (i) => `spec.ports[${i}]`, "port");
    unique(ports, (p) => (p.nodePort ? `${p.nodePort}/${p.protocol}` : undefined), (i) => `spec.ports[${i}].nodePort`, "nodePort");
    const sessionAffinity = oneOf(optStr(spec["sessionAffinity"], "spec.sessionAffinity") ?? "None", "spec.sessionAffinity", ["None", "ClientIP"] as const);
    const sac = optObj(spec["sessionAffinityConfig"], "spec.sessionAffinityConfig");
    const clientIP = sac ? optObj(sac["clientIP"], "spec.sessionAffinityConfig.clientIP") : undefined;
    const timeout = clientIP ? optInt(clientIP["timeoutSeconds"], "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 1, 86400) : undefined;
    const policy = (key: string) => oneOf(optStr(spec[key], `spec.${key}`) ?? "Cluster", `spec.${key}`, ["Cluster", "Local"] as const);
    const healthCheckNodePort = optInt(spec["healthCheckNodePort"], "spec.healthCheckNodePort", 0, 65535);
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const loadBalancerClass = str(spec["loadBalancerClass"]);
    const loadBalancerIP = str(spec["loadBalancerIP"]);
    const ipFamilyPolicy = str(spec["ipFamilyPolicy"]);
    // the allocator's inputs never drop a Service (the proxy does not read them): unknown values are left out
    const ipFamilies = (Array.isArray(spec["ipFamilies"]) ? spec["ipFamilies"] : []).filter((f): f is "IPv4" | "IPv6" => f === "IPv4" || f === "IPv6");
    const m = optObj(o["metadata"], "metadata") ?? {};
    const resourceVersion = str(m["resourceVersion"]);
    const ts = m["creationTimestamp"];
    const creationTimestamp = typeof ts === "string" ? ts : ts instanceof Date && !Number.isNaN(ts.getTime()) ? ts.toISOString().replace(".000Z", "Z") : undefined;
    return {
      namespace: meta.namespace, name: meta.name, labels: meta.labels, annotations: meta.annotations,
      type,
      clusterIPs: type === "ExternalName" ? [] : clusterIPs,
      externalIPs,
      loadBalancerIngress,
      ports,
      sessionAffinity,
      ...(sessionAffinity === "ClientIP" ? { sessionAffinityTimeoutSeconds: timeout ?? DEFAULT_CLIENT_IP_TIMEOUT } : {}),
      externalTrafficPolicy: policy("externalTrafficPolicy"),
      internalTrafficPolicy: policy("internalTrafficPolicy"),
      ...(healthCheckNodePort ? { healthCheckNodePort } : {}),
      ...(loadBalancerClass ? { loadBalancerClass } : {}),
      // the allocator validates it (a warning naming the Service, not a dropped Service)
      ...(loadBalancerIP ? { loadBalancerIP } : {}),
      ...(ipFamilyPolicy === "SingleStack" || ipFamilyPolicy === "PreferDualStack" || ipFamilyPolicy === "RequireDualStack" ? { ipFamilyPolicy } : {}),
      ...(ipFamilies.length > 0 ? { ipFamilies } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
      ...(creationTimestamp ? { creationTimestamp } : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const ADDRESS_TYPES = ["IPv4", "IPv6", "FQDN"] as const;

/**
 * Projects a discovery.k8s.io/v1 EndpointSlice. The service is the `kubernetes.io/service-name`
 * label (required). Ports without a number (API: "all ports") are dropped; addresses must be of
 * the slice's address type.
 */
export function projectEndpointSlice(raw: unknown): Projection<EndpointSliceInfo> {
  return project("EndpointSlice", true, raw, (o, meta) => {
    const serviceName = meta.labels[SERVICE_NAME_LABEL];
    if (!serviceName) throw new Bad(`metadata.labels.${SERVICE_NAME_LABEL}`, "is required (the owning Service)");
    const addressType = oneOf(reqStr(o["addressType"], "addressType"), "addressType", ADDRESS_TYPES);
    const ports: EndpointSliceInfo["ports"][number][] = [];
    (optArr(o["ports"], "ports") ?? []).forEach((p, i) => {
      const f = `ports[${i}]`;
      const po = optObj(p, f) ?? {};
      const port = optInt(po["port"], `${f}.port`, 1, 65535);
      const name = portName(po["name"], `${f}.name`, "dns1123");
      const proto = protocol(po["protocol"], `${f}.protocol`);
      if (port !== undefined) ports.push({ ...(name ? { name } : {}), port, protocol: proto });
    });
    unique(ports, (p) => p.name ?? "", (i) => `ports[${i}].name`, "port name");
    const family = addressType === "IPv4" ? "ipv4" : addressType === "IPv6" ? "ipv6" : undefined;
    const endpoints: EndpointInfo[] = (optArr(o["endpoints"], "endpoints") ?? []).map((e, i) => {
      const f = `endpoints[${i}]`;
      const eo = optObj(e, f) ?? {};
      const addresses = strList(eo["addresses"], `${f}.addresses`).map((a, j) => {
        if (!family) return a;
        const af = `${f}.addresses[${j}]`;
        const c = ip(a, af);
        if (ipFamily(c) !== family) throw new Bad(af, `${JSON.stringify(a)} is not an ${addressType} address`);
        return c;
      });
      const cond = optObj(eo["conditions"], `${f}.conditions`) ?? {};
      const ready = optBool(cond["ready"], `${f}.conditions.ready`) ?? true;
      const serving = optBool(cond["serving"], `${f}.conditions.serving`) ?? true;
      const terminating = optBool(cond["terminating"], `${f}.conditions.terminating`) ?? false;
      const nodeName = optStr(eo["nodeName"], `${f}.nodeName`);
      const tr = optObj(eo["targetRef"], `${f}.targetRef`);
      let targetRef: ObjectRef | undefined;
      if (tr) {
        const ns = optStr(tr["namespace"], `${f}.targetRef.namespace`);
        targetRef = { ...(ns ? { namespace: ns } : {}), name: reqStr(tr["name"], `${f}.targetRef.name`) };
      }
      return {
        addresses, ready, serving, terminating,
        ...(nodeName ? { nodeName } : {}),
        ...(targetRef ? { targetRef } : {}),
      };
    });
    return { namespace: meta.namespace, name: meta.name, serviceName, addressType, ports, endpoints };
  });
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy

function labelSelector(v: unknown, field: string): LabelSelector {
  const o = optObj(v, field) ?? {};
  const matchExpressions: LabelSelectorRequirement[] = (optArr(o["matchExpressions"], `${field}.matchExpressions`) ?? []).map((e, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const eo = optObj(e, f) ?? {};
    return {
      key: reqStr(eo["key"], `${f}.key`),
      operator: reqStr(eo["operator"], `${f}.operator`),
      values: strList(eo["values"], `${f}.values`),
    };
  });
  return { matchLabels: strMap(o["matchLabels"], `${field}.matchLabels`), matchExpressions };
}

function policyPeer(v: unknown, field: string): PolicyPeer {
  const o = optObj(v, field) ?? {};
  const podSelector = o["podSelector"] != null ? labelSelector(o["podSelector"], `${field}.podSelector`) : undefined;
  const namespaceSelector = o["namespaceSelector"] != null ? labelSelector(o["namespaceSelector"], `${field}.namespaceSelector`) : undefined;
  const ib = optObj(o["ipBlock"], `${field}.ipBlock`);
  let ipBlock: PolicyPeer["ipBlock"];
  if (ib) {
    const cidrText = reqStr(ib["cidr"], `${field}.ipBlock.cidr`);
    // An invalid CIDR is kept as written (not rejected with the whole policy): the firewall
    // reports it and fails the policy's direction closed, where skipping the policy would
    // fail its pods open.
    ipBlock = {
      cidr: canonicalCidr(cidrText) ?? cidrText,
      except: strList(ib["except"], `${field}.ipBlock.except`).map((x) => canonicalCidr(x) ?? x),
    };
  }
  if (ipBlock && (podSelector || namespaceSelector)) {
    throw new Bad(field, "ipBlock cannot be combined with podSelector or namespaceSelector");
  }
  if (!ipBlock && !podSelector && !namespaceSelector) {
    throw new Bad(field, "must specify podSelector, namespaceSelector or ipBlock");
  }
  return {
    ...(podSelector ? { podSelector } : {}),
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(ipBlock ? { ipBlock } : {}),
  };
}

function policyRule(v: unknown, field: string, peersKey: "from" | "to"): PolicyRule {
  const o = optObj(v, field) ?? {};
  const peersRaw = optArr(o[peersKey], `${field}.${peersKey}`);
  const portsRaw = optArr(o["ports"], `${field}.ports`);
  const peers = peersRaw?.map((p, i) => policyPeer(p, `${field}.${peersKey}[${i}]`));
  const ports = portsRaw?.map((p, i): PolicyPort => {
    const f = `${field}.ports[${i}]`;
    const po = optObj(p, f) ?? {};
    const port = intOrString(po["port"], `${f}.port`);
    const endPort = optInt(po["endPort"], `${f}.endPort`, 1, 65535);
    return {
      protocol: optStr(po["protocol"], `${f}.protocol`) ?? "TCP",
      ...(port !== undefined ? { port } : {}),
      ...(endPort !== undefined ? { endPort } : {}),
    };
  });
  return { ...(peers ? { peers } : {}), ...(ports ? { ports } : {}) };
}

/** Projects a networking.k8s.io/v1 NetworkPolicy. */
export function projectNetworkPolicy(raw: unknown): Projection<NetworkPolicyInfo> {
  return project("NetworkPolicy", true, raw, (o, meta) => {
    const spec = optObj(o["spec"], "spec") ?? {};
    const ingress = (optArr(spec["ingress"], "spec.ingress") ?? []).map((r, i) => policyRule(r, `spec.ingress[${i}]`, "from"));
    const egress = (optArr(spec["egress"], "spec.egress") ?? []).map((r, i) => policyRule(r, `spec.egress[${i}]`, "to"));
    const listed = strList(spec["policyTypes"], "spec.policyTypes").map((t, i) =>
      oneOf(t, `spec.policyTypes[${i}]`, ["Ingress", "Egress"] as const),
    );
    let policyTypes: ("Ingress" | "Egress")[];
    if (listed.length > 0) {
      policyTypes = (["Ingress", "Egress"] as const).filter((t) => listed.includes(t));
    } else {
      policyTypes = egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
    }
    return {
      namespace: meta.namespace, name: meta.name,
      podSelector: labelSelector(spec["podSelector"], "spec.podSelector"),
      policyTypes,
      ingress,
      egress,
    };
  });
}

/** The projection function of each kind we use, by kind name. */
export const PROJECTORS = {
  Node: projectNode,
  Namespace: projectNamespace,
  Pod: projectPod,
  Service: projectService,
  EndpointSlice: projectEndpointSlice,
  NetworkPolicy: projectNetworkPolicy,
} as const;
export type ProjectedKind = keyof typeof PROJECTORS;
