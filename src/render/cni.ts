/**
 * The bridge CNI config kube-router manages (kube-router-features.md §5.1 step 1), rendered
 * from the current file so fields we do not own survive. We own, in the bridge plugin (a
 * `.conf` itself, or the `type: bridge` plugin of a `.conflist`): `ipam.ranges` (exactly the
 * node's pod CIDRs; a legacy `ipam.subnet` is folded in) and `mtu` (with --auto-mtu).
 * Everything else — other plugins, unknown fields, key order, extra keys of a range we keep —
 * is preserved. When the result equals the current file semantically, the current text is
 * kept byte for byte, so a converged node never rewrites it. Pure.
 *
 * @category render
 */
import { deepEqual } from "../model/table.ts";
import { KUBE_BRIDGE } from "../model/names.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface CniInput {
  readonly path: string;
  /** Current file text; undefined when the file does not exist. */
  readonly current?: string;
  readonly podCidrs: readonly string[];
  /** MTU to write (auto-mtu); undefined leaves `mtu` as it is. */
  readonly mtu?: number;
}

export type CniResult = { readonly content: string } | { readonly error: string };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** The config written when the file does not exist yet (upstream's example, with our ranges). */
function defaultConfig(conflist: boolean): JsonObject {
  const bridge: JsonObject = {
    type: "bridge",
    bridge: KUBE_BRIDGE,
    isDefaultGateway: true,
    hairpinMode: true,
    ipam: { type: "host-local" },
  };
  if (!conflist) return { cniVersion: "0.3.0", name: "kubernetes", ...bridge };
  return {
    cniVersion: "0.3.0",
    name: "kubernetes",
    plugins: [{ name: "kubernetes", ...bridge }, { type: "portmap", capabilities: { snat: true, portMappings: true } }],
  };
}

/** The range sets we want: an existing set mentioning a pod CIDR is kept as is, else a new one. */
function wantedRanges(ipam: JsonObject, podCidrs: readonly string[]): Json[] {
  const existing: Json[] = Array.isArray(ipam["ranges"]) ? [...ipam["ranges"]] : [];
  if (typeof ipam["subnet"] === "string") existing.unshift([{ subnet: ipam["subnet"] }]);
  const subnetsOf = (set: Json): string[] =>
    Array.isArray(set) ? set.flatMap((r) => (isObject(r) && typeof r["subnet"] === "string" ? [r["subnet"]] : [])) : [];
  return podCidrs.map((cidr) => existing.find((set) => subnetsOf(set).includes(cidr)) ?? [{ subnet: cidr }]);
}

/**
 * Renders the CNI config text. Fails (returns `error`, one line naming the file and field)
 * when the current file is not JSON, a `.conflist` has no `plugins` list or no bridge plugin,
 * or a `.conf` has no `type`.
 */
export function renderCniConfig(input: CniInput): CniResult {
  const conflist = input.path.endsWith(".conflist");
  let doc: Json;
  if (input.current === undefined || input.current.trim() === "") {
    doc = defaultConfig(conflist);
  } else {
    try {
      doc = JSON.parse(input.current) as Json;
    } catch (e) {
      return { error: `${input.path}: not valid JSON: ${(e as Error).message}` };
    }
  }
  if (!isObject(doc)) return { error: `${input.path}: top level is not a JSON object` };
  const original = structuredClone(doc);
  let plugin: JsonObject;
  if (conflist) {
    const plugins = doc["plugins"];
    if (!Array.isArray(plugins)) return { error: `${input.path}: plugins: missing or not a list` };
    const bridge = plugins.find((p) => isObject(p) && p["type"] === "bridge");
    if (!isObject(bridge)) return { error: `${input.path}: plugins: no plugin of type bridge` };
    plugin = bridge;
  } else {
    if (typeof doc["type"] !== "string") return { error: `${input.path}: type: missing` };
    plugin = doc;
  }
  const ipam: JsonObject = isObject(plugin["ipam"]) ? plugin["ipam"] : { type: "host-local" };
  const ranges = wantedRanges(ipam, input.podCidrs);
  delete ipam["subnet"];
  ipam["ranges"] = ranges;
  plugin["ipam"] = ipam;
  if (input.mtu !== undefined) plugin["mtu"] = input.mtu;
  if (input.current !== undefined && deepEqual(original, doc)) return { content: input.current };
  return { content: `${JSON.stringify(doc, null, 2)}\n` };
}
