/**
 * The router's and the bgp controller's routes (model/ownership.ts): while the bgp controller
 * runs, a proto 17 main-table route to a prefix that is no node's pod CIDR is BGP's (learned),
 * the others the router's; without it (`--once`, router off) every route of ours is the router's.
 * The two predicates never both claim a route, and the proxy's routes are neither's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ownedBy } from "../../src/model/registry.ts";
import type { Route } from "../../src/model/state.ts";

const podCidrs = new Set(["10.244.2.0/24"]);
const r = (dst: string, more: Partial<Route> = {}): Route => ({ family: "ipv4", table: "main", dst, via: "10.250.0.12", proto: "17", ...more });

test("ownership: learned routes are the bgp controller's while it runs, the router's otherwise; never both", () => {
  const on = { bgp: true, podCidrs };
  const off = { bgp: false, podCidrs };
  const cases: [Route, string, string][] = [
    // route, owner with bgp on, owner with bgp off
    [r("10.244.2.0/24"), "router", "router"],
    [r("192.0.2.0/24", { via: "10.250.0.1" }), "bgp", "router"],
    [r("10.244.3.0/24"), "bgp", "router"], // a node that left: BGP's lane removes it
    [r("10.244.3.0/24", { table: "77" }), "router", "router"], // overlay table
    [r("10.96.0.1/32", { table: "local", via: undefined as never }), "none", "none"], // the proxy's
    [r("192.0.2.0/24", { proto: "boot" }), "none", "none"], // foreign
  ];
  for (const [route, withBgp, without] of cases) {
    for (const [ctx, want] of [[on, withBgp], [off, without]] as const) {
      const owners = (["router", "bgp"] as const).filter((c) => ownedBy(c, "routes", route, ctx));
      assert.deepEqual(owners, want === "none" ? [] : [want], `${route.dst} table ${route.table} proto ${route.proto} bgp=${ctx.bgp}`);
    }
  }
});
