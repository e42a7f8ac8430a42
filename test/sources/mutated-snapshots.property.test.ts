/**
 * Property (issue 17): a snapshot file whose objects are mutated at random — fields deleted,
 * values of the wrong type, invalid IPs, CIDRs and ports, huge strings, unicode, duplicated
 * objects — goes through the whole pure pipeline (file parsing, projection, every controller's
 * render) without an exception; every warning is one line naming an object; and the objects
 * left untouched (this host's Node, the Service `default/web` and its EndpointSlice) render the
 * same IPVS rows as in the clean file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";
import { formatWarning } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";
import { renderNode } from "../../src/render/index.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { HOST } from "../render/proxy/support.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Item = { [k: string]: Json };

const EXAMPLE = parse(readFileSync(join(import.meta.dirname, "../../deploy/example/cluster.yaml"), "utf8")) as { items: Item[] };
const config = { ...DEFAULT_CONFIG, hostnameOverride: "node1", runLoadbalancer: true, serviceExternalIpRange: ["198.51.100.0/24"], loadbalancerIpRange: ["203.0.113.0/24"] };
const FILE = "cluster.json";
const VIP = "10.96.0.80"; // default/web

const idOf = (o: Item): string => `${String(o["kind"])}/${String((o["metadata"] as Item)["name"])}`;
const KEPT = new Set(["Node/node1", "Service/web", "EndpointSlice/web-abcde"]);
const MUTABLE = EXAMPLE.items.map((o, i) => [o, i] as const).filter(([o]) => !KEPT.has(idOf(o))).map(([, i]) => i);
const isKept = (i: number): boolean => !MUTABLE.includes(i);

/** Everything a snapshot renders to, and its warnings. */
function pipeline(items: readonly Json[]) {
  const { snapshot, warnings } = parseSnapshotText(JSON.stringify({ kind: "List", apiVersion: "v1", items }), FILE);
  const renders = renderNode({ snapshot, config, host: HOST, nodeName: "node1" });
  const renderWarnings = renders.flatMap((r) => (r.result ? ("ok" in r.result ? r.result.ok.warnings : [r.result.error, ...r.result.warnings]) : []));
  const proxy = renders.find((r) => r.controller.name === "proxy")?.result;
  assert.ok(proxy && "ok" in proxy, `the proxy renders: ${JSON.stringify(proxy)}`);
  const webRows = (["ipvsServices", "ipvsReals"] as const).flatMap((t) =>
    [...(proxy.ok.state[t] ?? new Map<string, unknown>()).entries()].filter(([k]) => k.includes(VIP)).map((e) => JSON.stringify(e)));
  return { warnings, input: warnings.map(formatWarning), renderWarnings, webRows };
}

const CLEAN = pipeline(EXAMPLE.items);

// ---- mutations ----------------------------------------------------------------------------

const HUGE = "x".repeat(20_000);
const nasty: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null, 0, -1, 65536, 1.5, 1e300, true, false, [], {}, [1, "a"], { a: 1 }, "", " ", "None",
    "10.0.0.0 /16", "::/129", "1.2.3.4/33", "999.1.1.1", "10.01.0.1", "fe80::1%eth0", "::ffff:1.2.3.4", "2001:db8::/0", "0.0.0.0/0",
    "80", "http", "Http", "a-very-long-port-name", "ICMP", "udp", "networking.k8s.io/v9", "extensions/v1beta1", "v2",
    "Local", "LoadBalancer", "NodePort", "ExternalName", "ClientIP", "Egress", "Bogus", "NotIn",
    "a\nb", "\u0000", "ü🙂\u2028", "-", HUGE,
  ),
  fc.string({ maxLength: 12, unit: "grapheme" }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: -1, max: 140 })).map(([a, b]) => `${a}/${b}`),
);

interface Mutation {
  readonly op: "delete" | "set" | "duplicate";
  readonly target: number;
  readonly path: number;
  readonly value: Json;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("delete", "set", "set", "duplicate"),
  target: fc.nat(),
  path: fc.nat(),
  value: nasty,
});

/** Every path into `v` (object keys and array indexes), the root excluded. */
function paths(v: Json, base: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...base, i]); paths(x, [...base, i], out); });
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) { out.push([...base, k]); paths(x, [...base, k], out); }
  return out;
}

function mutate(o: Item, m: Mutation): void {
  const all = paths(o);
  if (all.length === 0) return;
  const path = all[m.path % all.length]!;
  let parent: Json = o;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k]!;
  const last = path[path.length - 1]!;
  const p = parent as Record<string | number, Json>;
  if (m.op === "delete") {
    if (Array.isArray(p)) p.splice(Number(last), 1);
    else delete p[last];
  } else p[last] = structuredClone(m.value);
}

/**
 * The example's items with `ms` applied: kept objects are never changed; duplicates go last
 * (the first object of a key is kept). A kept object's duplicate is an exact copy: a changed copy
 * would be another Service claiming web's VIP (a conflict the proxy resolves by skipping both).
 */
function mutated(ms: readonly Mutation[]): Json[] {
  const items = structuredClone(EXAMPLE.items);
  const extra: Item[] = [];
  for (const m of ms) {
    if (m.op === "duplicate") {
      const i = m.target % items.length;
      const copy = structuredClone(items[i]!);
      if (!isKept(i)) mutate(copy, { ...m, op: "set" });
      extra.push(copy);
    } else mutate(items[MUTABLE[m.target % MUTABLE.length]!]!, m);
  }
  return [...items, ...extra];
}

const KINDS = /\b(Node|Namespace|Pod|Service|EndpointSlice|NetworkPolic(y|ies))s? \S/;

test("given the clean example file, when rendered, then default/web has IPVS rows and no warning is said (the baseline)", () => {
  assert.deepEqual(CLEAN.input, []);
  assert.ok(CLEAN.webRows.length >= 2, CLEAN.webRows.join("\n"));
});

test("given 2,000 randomly mutated snapshots, when parsed, projected and rendered, then nothing throws, every warning is one line naming an object, and default/web renders unchanged", () => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (ms) => {
      const r = pipeline(mutated(ms));
      r.warnings.forEach((w, i) => {
        const line = r.input[i]!;
        assert.doesNotMatch(line, /[\n\r]/, `one line: ${JSON.stringify(line)}`);
        // the file, the kind, and the object's name (or, for an object without a readable name,
        // the field at fault; an unnamed object of an unused kind is named by its kind alone)
        const named = w.ref !== undefined || w.field !== undefined || w.message === `kind ${w.kind} is not used, ignored`;
        assert.ok(line.startsWith(`${FILE}: `) && w.kind !== "" && named, `names the file and an object: ${line}`);
      });
      for (const line of r.renderWarnings) {
        assert.doesNotMatch(line, /[\n\r]/, `one line: ${JSON.stringify(line)}`);
        if (!CLEAN.renderWarnings.includes(line)) assert.match(line, KINDS, `names an object: ${line}`);
      }
      assert.deepEqual(r.webRows, CLEAN.webRows);
    }),
    { numRuns: 2000 },
  );
});
