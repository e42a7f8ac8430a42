/**
 * The per-Service slice index is updated incrementally between renders (few slices changed);
 * whatever the sequence of changes, it equals an index built from scratch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { EndpointSliceInfo } from "../../../src/model/cluster.ts";
import { slicesByService } from "../../../src/render/proxy/endpoints.ts";

const slice = (ns: string, svc: string, name: string, fqdn: boolean, v: number): EndpointSliceInfo => ({
  namespace: ns, name, serviceName: svc, addressType: fqdn ? "FQDN" : "IPv4", ports: [{ port: 80 + v, protocol: "TCP" }], endpoints: [],
});

/** The index as its contract says: per ns/service, non-FQDN slices sorted by name. */
function expected(m: ReadonlyMap<string, EndpointSliceInfo>): Map<string, EndpointSliceInfo[]> {
  const out = new Map<string, EndpointSliceInfo[]>();
  for (const s of m.values()) {
    if (s.addressType === "FQDN") continue;
    const k = `${s.namespace}/${s.serviceName}`;
    (out.get(k) ?? out.set(k, []).get(k)!).push(s);
  }
  for (const l of out.values()) l.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

const op = fc.record({
  kind: fc.constantFrom("put", "put", "put", "delete"),
  ns: fc.constantFrom("a", "b"),
  svc: fc.constantFrom("web", "db", "dns"),
  name: fc.constantFrom("s1", "s2", "s3", "s4"),
  fqdn: fc.boolean(),
  v: fc.integer({ min: 0, max: 3 }),
});

test("given any sequence of slice changes, when indexed after each, then the index equals one built from scratch", () => {
  fc.assert(fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), (steps) => {
    let m: ReadonlyMap<string, EndpointSliceInfo> = new Map();
    for (const batch of steps) {
      const next = new Map(m);
      for (const o of batch) {
        const key = `${o.ns}/${o.name}`;
        if (o.kind === "delete") next.delete(key);
        else next.set(key, slice(o.ns, o.svc, o.name, o.fqdn, o.v));
      }
      m = next;
      const got = slicesByService(m);
      const want = expected(m);
      assert.deepEqual(new Map([...got].filter(([, l]) => l.length > 0).map(([k, l]) => [k, [...l]])), want);
    }
  }), { numRuns: 400 });
});
