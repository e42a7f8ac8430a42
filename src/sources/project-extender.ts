/**
 * Projections for the route extender's inputs, beside project.ts: a Node's `spec.taints` and a
 * v1 ConfigMap (only its string `data`; `binaryData` is not read).
 *
 * @category sources
 */
import type { ConfigMapInfo, Taint } from "../model/cluster.ts";
import type { Projection } from "./project.ts";

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The taints of a Node's `spec.taints` (absent or null: none). A malformed entry calls `bad`
 * with the field (`spec.taints[1].key`) and the reason; `bad` throws.
 */
export function taintsOf(value: unknown, bad: (field: string, message: string) => never): Taint[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return bad("spec.taints", "must be a list");
  return value.map((t, i): Taint => {
    const f = `spec.taints[${i}]`;
    if (!isObj(t)) return bad(f, "must be an object");
    const key = t["key"];
    if (typeof key !== "string" || key === "") return bad(`${f}.key`, "is required");
    const effect = t["effect"];
    if (typeof effect !== "string" || effect === "") return bad(`${f}.effect`, "is required");
    const v = t["value"];
    if (v !== undefined && v !== null && typeof v !== "string") return bad(`${f}.value`, "must be a string");
    return { key, ...(typeof v === "string" && v !== "" ? { value: v } : {}), effect };
  });
}

/** Projects a v1 ConfigMap; a missing name or a non-string data value is a warning naming the field. */
export function projectConfigMap(raw: unknown): Projection<ConfigMapInfo> {
  const meta = isObj(raw) && isObj(raw["metadata"]) ? raw["metadata"] : {};
  const name = meta["name"];
  const nsText = meta["namespace"];
  const namespace = typeof nsText === "string" && nsText !== "" ? nsText : "default";
  const warn = (field: string, message: string): Projection<ConfigMapInfo> => ({
    warning: { kind: "ConfigMap", ...(typeof name === "string" && name !== "" ? { ref: { namespace, name } } : {}), field, message },
  });
  if (typeof name !== "string" || name === "") return warn("metadata.name", "is required");
  const dataRaw = isObj(raw) ? raw["data"] : undefined;
  if (dataRaw !== undefined && dataRaw !== null && !isObj(dataRaw)) return warn("data", "must be a map of strings");
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(dataRaw ?? {})) {
    if (typeof v !== "string") return warn(`data.${k}`, "must be a string");
    data[k] = v;
  }
  const rv = meta["resourceVersion"];
  return { ok: { namespace, name, data, ...(typeof rv === "string" && rv !== "" ? { resourceVersion: rv } : {}) } };
}
