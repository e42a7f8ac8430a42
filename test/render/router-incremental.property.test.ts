/**
 * The router's incremental render (render/router-node.ts, overlay-peer.ts: per-node steps
 * memoised per Node object, rows kept in chunks): a re-render that shares unchanged Node
 * objects with the previous one gives exactly what a render from fresh objects gives, and the
 * chunks of unchanged peers are the same objects, so the differ skips them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkedTable } from "../../src/model/chunked-table.ts";
import type { NodeInfo } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { diffNode } from "../../src/model/plan.ts";
import { emptyNodeState, type NodeState } from "../../src/model/state.ts";
import { deepEqual } from "../../src/model/table.ts";
import type { ControllerOutput } from "../../src/render/controller.ts";
import { routerController } from "../../src/render/router.ts";
import { assemble } from "../../src/render/assemble.ts";
import { host, node, snapshot } from "./overlay-fixture.ts";

const config = (o: Partial<NodeConfig> = {}): NodeConfig => ({ ...DEFAULT_CONFIG, enableIpv6: true, overlayEncap: "vxlan", runFirewall: false, runServiceProxy: false, ...o });

function render(nodes: readonly NodeInfo[], c: NodeConfig): ControllerOutput {
  const r = routerController.render!({ snapshot: snapshot(nodes), config: c, host: host(), nodeName: "node1" });
  if ("error" in r) throw new Error(r.error);
  return r.ok;
}
/** The same nodes as new objects (nothing memoised for them). */
const fresh = (nodes: readonly NodeInfo[]): NodeInfo[] => nodes.map((n) => structuredClone(n));
const desired = (out: ControllerOutput): NodeState => assemble([{ controller: routerController, output: out }], emptyNodeState()).desired;

/** A change to a cluster of nodes 1..N (node1 is this node and stays). */
type Change = { op: "add"; n: number; subnet: number; v6: boolean } | { op: "remove"; n: number } | { op: "move"; n: number; subnet: number } | { op: "cidr"; n: number; bad: boolean };
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ op: fc.constant("add" as const), n: fc.integer({ min: 2, max: 40 }), subnet: fc.integer({ min: 1, max: 2 }), v6: fc.boolean() }),
  fc.record({ op: fc.constant("remove" as const), n: fc.integer({ min: 2, max: 40 }) }),
  fc.record({ op: fc.constant("move" as const), n: fc.integer({ min: 2, max: 40 }), subnet: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ op: fc.constant("cidr" as const), n: fc.integer({ min: 2, max: 40 }), bad: fc.boolean() }),
);
function apply(nodes: NodeInfo[], c: Change): NodeInfo[] {
  const name = `node${c.n}`;
  const others = nodes.filter((x) => x.name !== name);
  switch (c.op) {
    case "add": return [...others, node(c.n, c.subnet, c.v6)];
    case "remove": return others;
    case "move": return nodes.some((x) => x.name === name) ? [...others, node(c.n, c.subnet)] : nodes;
    case "cidr": {
      const old = nodes.find((x) => x.name === name);
      if (old === undefined) return nodes;
      // a bad pod CIDR, or another node's (two peers claiming one VTEP / route)
      const cidr = c.bad ? "10.244.999.0/24" : "10.244.2.0/24";
      return [...others, { ...old, podCIDR: cidr, podCIDRs: [cidr] }];
    }
  }
}

test("given any sequence of node changes, when the router re-renders with unchanged Node objects shared, then tables and warnings equal a render from fresh objects", () => {
  fc.assert(fc.property(fc.array(change, { minLength: 1, maxLength: 12 }), fc.constantFrom("subnet", "full"), fc.constantFrom("vxlan", "ipip"), (changes, overlayType, overlayEncap) => {
    const c = config({ overlayType, overlayEncap });
    let nodes = [node(1, 1, true), node(2, 1), node(3, 2, true), node(4, 2)];
    render(nodes, c);
    for (const ch of changes) {
      nodes = apply(nodes, ch);
      const warm = render(nodes, c);
      const cold = render(fresh(nodes), c);
      assert.deepEqual(warm.warnings, cold.warnings);
      assert.ok(deepEqual(desired(warm), desired(cold)), `tables differ after ${JSON.stringify(ch)}`);
    }
  }), { numRuns: 150 });
});

test("given 200 peers on another subnet, when one node joins, then every other peer's route and FDB chunk is reused and the plan holds only the new peer's rows", () => {
  const c = config({ enableIpv6: false });
  const peer = (i: number): NodeInfo => ({ ...node(2, 2), name: `node${i}`, uid: `uid-${i}`, podCIDR: `10.245.${i}.0/24`, podCIDRs: [`10.245.${i}.0/24`], addresses: [{ type: "InternalIP", address: `10.250.2.${i}` }] });
  const nodes = [node(1, 1), ...Array.from({ length: 200 }, (_, i) => peer(i + 2))];
  const before = desired(render(nodes, c));
  const after = desired(render([...nodes, peer(230)], c));
  for (const t of ["routes", "fdb", "neighbors"] as const) {
    const b = before[t] as ChunkedTable<unknown>;
    const a = after[t] as ChunkedTable<unknown>;
    assert.ok(a instanceof ChunkedTable && b instanceof ChunkedTable, `${t} is chunked`);
    const old = new Map(b.chunks);
    const changed = a.chunks.filter(([g, chunk]) => old.get(g) !== chunk).map(([g]) => g);
    assert.deepEqual(changed, t === "routes" ? ["o:ipv4/node230"] : ["ipv4/node230"], `${t}: only the new peer's chunk is new`);
  }
  const plan = diffNode(after, before);
  assert.deepEqual([plan.routes.length, plan.fdb.length, plan.neighbors.length], [2, 2, 1]);
});
