/**
 * The snapshot file source: a YAML (one or many `---` documents) or JSON file of Kubernetes
 * objects, as `kubectl get -o yaml|json` writes them, turned into a ClusterSnapshot.
 *
 * Accepted shapes: single objects; `kind: List` / `NodeList` / … with `items` (an item without
 * a kind takes it from the list kind: `PodList` ⇒ `Pod`); a top-level sequence/array of objects.
 * Used kinds: Node, Namespace, Pod, Service, EndpointSlice, NetworkPolicy (see project.ts), and
 * ConfigMap (every one goes into `configMaps`, see project-extender.ts).
 *
 * Never fatal, reported as warnings (with the file as source) and skipped: objects of other
 * kinds (`kind Foo is not used, ignored`), objects without a kind, malformed objects (kind,
 * namespace/name, field), and a second object with the same kind and namespace/name (the first
 * one is kept). Fatal: a file that is not YAML/JSON at all — `SnapshotError` with the one line
 * `<file>: line N: <reason>`.
 *
 * Snapshot maps are keyed `name` (nodes, namespaces) or `namespace/name`, sorted by key, so the
 * snapshot does not depend on object order in the file.
 *
 * @category sources
 */
import { readFileSync } from "node:fs";
import { type Document, parseAllDocuments, visit } from "yaml";
import type { ClusterSnapshot, InputWarning, ObjectRef } from "../model/cluster.ts";
import { sortedTable } from "../model/table.ts";
import { PROJECTORS, type ProjectedKind, type Projection } from "./project.ts";
import { projectConfigMap } from "./project-extender.ts";

/** A snapshot file that cannot be read or parsed. `message` is one line: `<file>: line N: <reason>`. */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}: line ${line}: ${reason}`);
  }
}

export interface LoadedSnapshot {
  readonly snapshot: ClusterSnapshot;
  readonly warnings: readonly InputWarning[];
}

/**
 * Reads and parses a snapshot file. Throws `SnapshotError` when the file cannot be read
 * (`<file>: cannot read: ENOENT: no such file or directory`) or parsed.
 */
export function loadSnapshotFile(path: string): LoadedSnapshot {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = (err.message ?? String(e)).split(",")[0] ?? "";
    throw new SnapshotError(path, undefined, `cannot read: ${reason}`);
  }
  return parseSnapshotText(text, path);
}

/**
 * The one line saying a loaded snapshot file cannot describe this host, naming the file: it
 * holds no usable object at all (`skipped` of them were rejected), or no Node named `nodeName`.
 * undefined when the Node is there. Never fatal: callers warn and render as usual (the
 * controllers that need this Node report that they cannot render).
 */
export function snapshotHostProblem(file: string, snapshot: ClusterSnapshot, nodeName: string, skipped = 0): string | undefined {
  if (snapshot.nodes.has(nodeName)) return undefined;
  const kinds = [snapshot.nodes, snapshot.namespaces, snapshot.pods, snapshot.services, snapshot.endpointSlices, snapshot.networkPolicies];
  if (kinds.every((m) => m.size === 0)) {
    return `${file}: the snapshot is empty${skipped > 0 ? ` (${skipped} object${skipped === 1 ? "" : "s"} skipped, see the warnings)` : ""}: no Node ${nodeName} for this host`;
  }
  return `${file}: no Node ${nodeName} for this host (its name: --hostname-override, else NODE_NAME, else the hostname)`;
}

/** One parsed top-level value and where it came from (1-based document number). */
interface TopValue {
  readonly value: unknown;
  readonly doc: number;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parses the text as JSON (fast path) or YAML; throws SnapshotError on the first syntax error. */
function parseValues(text: string, sourceName: string): TopValue[] {
  const first = text.trimStart()[0];
  if (first === "{" || first === "[") {
    try {
      return [{ value: JSON.parse(text) as unknown, doc: 1 }];
    } catch {
      // Not strict JSON; YAML (a superset) either reads it or reports the error with a line.
    }
  }
  const out: TopValue[] = [];
  let n = 0;
  for (const doc of parseAllDocuments(text)) {
    n++;
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? lineOf(text, err.pos[0]);
      const reason = (err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
      throw new SnapshotError(sourceName, line, reason);
    }
    try {
      out.push({ value: doc.toJS({ maxAliasCount: 1000 }) as unknown, doc: n });
    } catch (e) {
      throw new SnapshotError(sourceName, lineOf(text, conversionErrorOffset(doc)), (e as Error).message.split("\n")[0] ?? "");
    }
  }
  return out;
}

/** Where a document failed to convert: its first unresolvable alias, else where its content starts. */
function conversionErrorOffset(doc: Document.Parsed): number {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        offset = node.range?.[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset ?? doc.contents?.range[0] ?? doc.range[0];
}

/**
 * Parses snapshot text (YAML or JSON). `sourceName` names the input in warnings and errors.
 * Throws `SnapshotError` only when the text does not parse at all.
 */
export function parseSnapshotText(text: string, sourceName: string): LoadedSnapshot {
  const entries: Entry[] = [];
  for (const { value, doc } of parseValues(text, sourceName)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) collectItems(value, undefined, "", entries, sourceName);
    else if (isObj(value)) collectObject(value, undefined, "", entries, sourceName);
    else {
      entries.push({ warning: { source: sourceName, kind: `document ${doc}`, message: `not a Kubernetes object (${describe(value)}), ignored` } });
    }
  }
  return build(entries, sourceName);
}

/** An object to project, with its kind (its own, or inherited from its list). */
export interface RawObject {
  readonly kind: string;
  readonly object: unknown;
}

/** A collected object, or a warning about something that is not one, in file order. */
type Entry = RawObject | { readonly warning: InputWarning };

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : `a ${typeof v}`);

function refOf(o: Obj): ObjectRef | undefined {
  const m = isObj(o["metadata"]) ? o["metadata"] : undefined;
  const name = m?.["name"];
  if (typeof name !== "string" || name === "") return undefined;
  const ns = m?.["namespace"];
  return typeof ns === "string" && ns !== "" ? { namespace: ns, name } : { name };
}

/** Collects the items of a list; `base` is the path of the items array (`items`, or "" for a top-level array). */
function collectItems(
  items: readonly unknown[], inheritedKind: string | undefined, base: string,
  entries: Entry[], source: string,
): void {
  items.forEach((item, i) => {
    const p = `${base}[${i}]`;
    if (!isObj(item)) {
      entries.push({ warning: { source, kind: inheritedKind ? `${inheritedKind}List` : "List", field: p, message: `not an object (${describe(item)}), ignored` } });
      return;
    }
    collectObject(item, inheritedKind, p, entries, source);
  });
}

function collectObject(
  o: Obj, inheritedKind: string | undefined, path: string,
  entries: Entry[], source: string,
): void {
  const ownKind = typeof o["kind"] === "string" && o["kind"] !== "" ? o["kind"] : undefined;
  const kind = ownKind ?? inheritedKind;
  if (Array.isArray(o["items"]) && (kind === undefined || kind.endsWith("List"))) {
    const itemKind = kind && kind !== "List" ? kind.slice(0, -"List".length) : undefined;
    collectItems(o["items"], itemKind, path ? `${path}.items` : "items", entries, source);
    return;
  }
  if (kind === undefined) {
    const ref = refOf(o);
    entries.push({ warning: { source, kind: "Object", ...(ref ? { ref } : {}), field: path ? `${path}.kind` : "kind", message: "missing, object ignored" } });
    return;
  }
  entries.push({ kind, object: o });
}

type FileKind = ProjectedKind | "ConfigMap";
const FILE_PROJECTORS = { ...PROJECTORS, ConfigMap: projectConfigMap } as const;
const NAMESPACED: Readonly<Record<FileKind, boolean>> = {
  Node: false, Namespace: false, Pod: true, Service: true, EndpointSlice: true, NetworkPolicy: true, ConfigMap: true,
};
const isProjectedKind = (k: string): k is FileKind => Object.hasOwn(FILE_PROJECTORS, k);

/**
 * Projects objects into a snapshot: unknown kinds and malformed objects become warnings
 * (tagged with `source` when given), duplicates keep the first. Never throws.
 */
export function snapshotFromObjects(objects: readonly RawObject[], source?: string): LoadedSnapshot {
  return build(objects, source);
}

function build(entries: readonly Entry[], source: string | undefined): LoadedSnapshot {
  const warnings: InputWarning[] = [];
  const src = source !== undefined ? { source } : {};
  const tables: Record<FileKind, Map<string, unknown>> = {
    Node: new Map(), Namespace: new Map(), Pod: new Map(), Service: new Map(), EndpointSlice: new Map(), NetworkPolicy: new Map(),
    ConfigMap: new Map(),
  };
  for (const entry of entries) {
    if ("warning" in entry) {
      warnings.push(entry.warning);
      continue;
    }
    const { kind, object } = entry;
    if (!isProjectedKind(kind)) {
      const ref = isObj(object) ? refOf(object) : undefined;
      warnings.push({ ...src, kind, ...(ref ? { ref } : {}), message: `kind ${kind} is not used, ignored` });
      continue;
    }
    const r = (FILE_PROJECTORS[kind] as (raw: unknown) => Projection<{ readonly name: string; readonly namespace?: string }>)(object);
    if ("warning" in r) {
      warnings.push({ ...src, ...r.warning, message: `${r.warning.message} (object skipped)` });
      continue;
    }
    const key = NAMESPACED[kind] ? `${r.ok.namespace ?? ""}/${r.ok.name}` : r.ok.name;
    const table = tables[kind];
    if (table.has(key)) {
      const ref: ObjectRef = NAMESPACED[kind] ? { namespace: r.ok.namespace ?? "", name: r.ok.name } : { name: r.ok.name };
      warnings.push({ ...src, kind, ref, message: "duplicate object, the first one is kept" });
      continue;
    }
    table.set(key, r.ok);
  }
  const sorted = <T>(m: Map<string, unknown>) => sortedTable(m as Map<string, T>);
  return {
    snapshot: {
      nodes: sorted(tables.Node),
      namespaces: sorted(tables.Namespace),
      pods: sorted(tables.Pod),
      services: sorted(tables.Service),
      endpointSlices: sorted(tables.EndpointSlice),
      networkPolicies: sorted(tables.NetworkPolicy),
      configMaps: sorted(tables.ConfigMap),
    },
    warnings,
  };
}
