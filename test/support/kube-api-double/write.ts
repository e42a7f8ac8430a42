/**
 * The write verbs of the double, as kube-apiserver answers them for the `writable` resources
 * (configmaps, leases, events), and for the `status` subresource (Services):
 *
 * - POST on the collection creates: 201 with the stored object; 409 `AlreadyExists` when the
 *   name is taken; a body namespace other than the URL's is 400 `BadRequest`;
 * - PUT on an object replaces it: a `metadata.resourceVersion` in the body is a precondition
 *   (not the current one ⇒ 409 `Conflict`), none ⇒ unconditional; missing object ⇒ 404 (these
 *   resources do not create on update); a body name other than the URL's ⇒ 400;
 * - PATCH with `application/merge-patch+json` (RFC 7386) or
 *   `application/strategic-merge-patch+json` (for the maps these resources hold — data,
 *   labels, annotations — both merge key by key and a null deletes a key; lists are replaced
 *   whole, the double knows no patch-merge keys); a `metadata.resourceVersion` in the patch is a
 *   precondition as for PUT; any other content type ⇒ 415;
 * - DELETE removes it: 200 with a Success Status; missing ⇒ 404;
 * - PUT or PATCH on `…/<name>/status` changes only `status` (the rest of the body is ignored,
 *   as the real status strategy does): same precondition (409), missing ⇒ 404, a body name
 *   other than the URL's ⇒ 400; emits MODIFIED like any write.
 *
 * Every successful write bumps the resourceVersion and emits the watch event (the store does).
 * These functions decide the answer; server.ts reads the body and sends it.
 */
import type { ResourceSpec, Route } from "./resources.ts";
import type { KubeObject, ObjectStore } from "./store.ts";

export type WriteVerb = "create" | "update" | "patch" | "delete";

export interface Answer {
  readonly code: number;
  readonly body: unknown;
}

export const statusBody = (code: number, reason: string, message: string, details?: object) => ({
  kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}),
});

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The write verb of a method on a route (name given or not), or undefined when not a write. */
export function writeVerbOf(method: string, route: Route): WriteVerb | undefined {
  if (method === "POST" && route.name === undefined) return "create";
  if (route.name === undefined) return undefined;
  if (method === "PUT") return "update";
  if (method === "PATCH") return "patch";
  if (method === "DELETE") return "delete";
  return undefined;
}

/** RFC 7386 merge patch: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const conflict = (r: ResourceSpec, name: string): Answer => ({
  code: 409,
  body: statusBody(409, "Conflict", `Operation cannot be fulfilled on ${r.name} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: r.name }),
});
const notFound = (r: ResourceSpec, name: string): Answer => ({
  code: 404, body: statusBody(404, "NotFound", `${r.name} "${name}" not found`, { name, kind: r.name }),
});
const badRequest = (message: string): Answer => ({ code: 400, body: statusBody(400, "BadRequest", message) });

/** The precondition of a body: its metadata.resourceVersion when a non-empty string. */
const preconditionOf = (body: unknown): string | undefined => {
  const rv = isObj(body) && isObj(body["metadata"]) ? body["metadata"]["resourceVersion"] : undefined;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
};

/**
 * Performs one write on `store`. `forceConflict` answers 409 Conflict without writing (the
 * test control). Never throws: a bad body is a 400 answer.
 */
export function performWrite(
  store: ObjectStore, verb: WriteVerb, route: Route, body: unknown, contentType: string, forceConflict: boolean,
): Answer {
  const r = route.resource;
  const ns = route.namespace ?? "default";
  if (verb === "create") {
    if (!isObj(body) || !isObj(body["metadata"])) return badRequest(`${r.kind} in body: metadata is required`);
    const meta = body["metadata"];
    const name = meta["name"];
    if (typeof name !== "string" || name === "") return badRequest(`${r.kind} in body: metadata.name: Required value: name is required`);
    if (meta["namespace"] !== undefined && meta["namespace"] !== ns) return badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
    if (forceConflict) return conflict(r, name);
    if (store.get(r.name, ns, name)) {
      return { code: 409, body: statusBody(409, "AlreadyExists", `${r.name} "${name}" already exists`, { name, kind: r.name }) };
    }
    const { resourceVersion: _rv, uid: _uid, ...rest } = meta;
    return { code: 201, body: store.create(r.name, { ...body, metadata: { ...rest, namespace: ns } }) };
  }
  const name = route.name!;
  const cur = store.get(r.name, ns, name);
  if (verb === "delete") {
    if (!cur) return notFound(r, name);
    if (forceConflict) return conflict(r, name);
    store.delete(r.name, ns, name);
    return { code: 200, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: r.name, uid: cur.metadata["uid"] } } };
  }
  if (verb === "patch") {
    const type = contentType.split(";")[0]!.trim();
    if (type !== "application/merge-patch+json" && type !== "application/strategic-merge-patch+json") {
      return { code: 415, body: statusBody(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (the double) - got ${type}`) };
    }
  }
  if (!isObj(body)) return badRequest(`${r.kind} ${ns}/${name}: the body is not a JSON object`);
  if (!cur) return notFound(r, name);
  const pre = preconditionOf(body);
  if (forceConflict || (pre !== undefined && pre !== cur.metadata["resourceVersion"])) return conflict(r, name);
  let next: KubeObject;
  if (route.subresource === "status") {
    const meta = isObj(body["metadata"]) ? body["metadata"] : {};
    if (verb === "update" && meta["name"] !== name) return badRequest(`the name of the object (${String(meta["name"])}) does not match the name on the URL (${name})`);
    const status = verb === "update" ? body["status"] : mergePatch(cur["status"], body["status"] ?? {});
    next = { ...cur, status: structuredClone(status ?? {}) };
  } else if (verb === "update") {
    const meta = isObj(body["metadata"]) ? body["metadata"] : {};
    if (meta["name"] !== name) return badRequest(`the name of the object (${String(meta["name"])}) does not match the name on the URL (${name})`);
    if (meta["namespace"] !== undefined && meta["namespace"] !== ns) return badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
    next = { ...body, metadata: { ...meta, namespace: ns } } as KubeObject;
  } else {
    next = mergePatch(cur, body) as KubeObject;
    next.metadata = { ...next.metadata, name, namespace: ns };
  }
  return { code: 200, body: store.update(r.name, next) };
}
