/**
 * What the client library's informer cache holds for us: not the API object (pods carry
 * managedFields, conditions, env, … — kilobytes each) but a small entry with the identity the
 * cache needs (`metadata.name/namespace/resourceVersion`) and the projection result. The
 * projected record is the very object the snapshot stores, so it is held once.
 *
 * @category sources
 */
import type { InputWarning } from "../../model/cluster.ts";
import { type Interner, compact } from "./intern.ts";
import { type KindSpec, type NamedRecord, keyOf } from "./kinds.ts";

export interface CachedObject {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
  /** The snapshot key (`name` or `namespace/name`). */
  readonly key: string;
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
  const metadata = { name, ...(namespace !== undefined ? { namespace } : {}), ...(resourceVersion ? { resourceVersion } : {}) };
  const key = keyOf(spec, name, namespace);
  const p = spec.project(raw);
  if ("ok" in p) return { metadata, key, record: compact(spec.kind, p.ok, pool) };
  return { metadata, key, warning: { ...p.warning, message: `${p.warning.message} (object skipped)` } };
}
