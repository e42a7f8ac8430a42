/**
 * What the client library's informer cache holds for us: not the API object (pods carry
 * managedFields, conditions, env, … — kilobytes each) but a small entry with the identity the
 * cache needs (the key and `metadata.resourceVersion`) and the projection result. The
 * projected record is the very object the snapshot stores, so it is held once.
 *
 * @category sources
 */
import type { InputWarning } from "../../model/cluster.ts";
import { type Interner, compact } from "./intern.ts";
import { type KindSpec, type NamedRecord, keyOf } from "./kinds.ts";

export interface CachedObject {
  /** The snapshot key (`name` or `namespace/name`); the record holds the name and namespace. */
  readonly key: string;
  /** `metadata.resourceVersion`, when the object has one. */
  readonly resourceVersion: string | undefined;
  /** The projected record, or why the object is skipped. */
  readonly record?: NamedRecord;
  readonly warning?: InputWarning;
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * Projects one API object into a cache entry, sharing repeated values through `pool`
 * (intern.ts). Never throws: an object whose metadata cannot be read still gets an entry
 * (name "", so the cache does not crash) carrying a warning.
 */
export function cacheEntry(spec: KindSpec, raw: unknown, pool: Interner): CachedObject {
  const meta = isObj(raw) && isObj(raw["metadata"]) ? raw["metadata"] : {};
  const name = str(meta["name"]) ?? "";
  const namespace = spec.namespaced ? pool.str(str(meta["namespace"]) ?? "default") : undefined;
  const resourceVersion = str(meta["resourceVersion"]);
  const key = keyOf(spec, name, namespace);
  const p = spec.project(raw);
  if ("ok" in p) return { key, resourceVersion, record: compact(spec.kind, p.ok, pool) };
  return { key, resourceVersion, warning: { ...p.warning, message: `${p.warning.message} (object skipped)` } };
}
