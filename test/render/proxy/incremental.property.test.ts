/**
 * Property: one endpoint change yields a plan with exactly that one real-server change (and
 * nothing else), whatever the cluster; the memoised render equals a fresh render.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { EndpointSliceInfo } from "../../../src/model/cluster.ts";
import { diffNode, planTables } from "../../../src/model/plan.ts";
import { type NodeState, emptyNodeState } from "../../../src/model/state.ts";
import { renderProxy } from "../../../src/render/proxy/index.ts";
import { input, service, slice, snapshot } from "./support.ts";

const state = (r: ReturnType<typeof renderProxy>): NodeState => {
  assert.ok("ok" in r);
  return { ...emptyNodeState(), ...r.ok.state } as NodeState;
};

const cluster = fc.array(fc.array(fc.record({ host: fc.integer({ min: 1, max: 250 }), local: fc.boolean() }), { maxLength: 6 }), { minLength: 1, maxLength: 12 });

test("one endpoint added or removed ⇒ exactly one ipvsReals change, no other change", () => {
  fc.assert(fc.property(cluster, fc.nat(), fc.boolean(), (svcs, pick, add) => {
    const services = svcs.map((_, i) => service(`s${i}`, `10.96.0.${i + 1}`, { ports: [{ protocol: i % 2 ? "UDP" : "TCP", port: 80 }] }));
    const slices: EndpointSliceInfo[] = svcs.map((eps, i) => {
      const uniq = [...new Map(eps.map((e) => [e.host, e])).values()];
      return { ...slice(`s${i}`, uniq.map((e) => [`10.244.${i}.${e.host}`, e.local ? "node1" : "node2"] as [string, string])), ports: [{ port: 8080, protocol: i % 2 ? "UDP" : "TCP" }] };
    });
    const before = snapshot({ services, slices });
    const i = pick % slices.length;
    const sl = slices[i]!;
    let changed: EndpointSliceInfo;
    if (add || sl.endpoints.length === 0) {
      changed = { ...sl, endpoints: [...sl.endpoints, { addresses: [`10.245.${i}.1`], ready: true, serving: true, terminating: false, nodeName: "node2" }] };
    } else {
      changed = { ...sl, endpoints: sl.endpoints.slice(1) };
    }
    const after = snapshot({ services, slices: slices.map((s) => (s === sl ? changed : s)) });
    // services keep identity (as immer keeps it), so the memo re-renders one Service
    const a = state(renderProxy(input(before)));
    const b = state(renderProxy(input({ ...after, services: before.services })));
    const plan = diffNode(b, a);
    const changes = planTables(plan).filter((t) => t.changes > 0);
    assert.deepEqual(changes.map((t) => [t.table, t.changes]), [["ipvsReals", 1]]);
    // and the memoised render equals a fresh one
    const fresh = state(renderProxy(input(snapshot({ services: services.map((s) => ({ ...s })), slices: after.endpointSlices.size ? [...after.endpointSlices.values()] : [] }))));
    assert.deepEqual([...fresh.ipvsReals.keys()].sort(), [...b.ipvsReals.keys()].sort());
  }), { numRuns: 200 });
});
