/**
 * learnedRoutes: which BGP-learned best paths become kernel routes (issue 10 "learned routes →
 * kernel", kube-router-features.md §5.5), as given/when/then stories.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LearnedPath } from "../../../src/model/bgp.ts";
import { learnedRoutes } from "../../../src/render/bgp/index.ts";
import { HOST, input, node, service, snapshot } from "./support.ts";

const snap = () => snapshot({
  nodes: [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "10.250.0.12", "10.244.2.0/24")],
  services: [service("web", "10.96.0.10", { externalIPs: ["192.168.50.1"] })],
});
const path = (prefix: string, nextHop: string, peer = "10.250.0.1", family: "ipv4" | "ipv6" = "ipv4"): LearnedPath => ({ family, prefix, nextHop, peer });

test("given a prefix learned from an external router on our subnet, then a proto 17 route via its next hop in the main table", () => {
  const r = learnedRoutes(input(snap()), [path("192.168.100.0/24", "10.250.0.1")]);
  assert.deepEqual(r, { routes: [{ family: "ipv4", table: "main", dst: "192.168.100.0/24", via: "10.250.0.1", proto: "17" }], warnings: [] });
});

test("given learned paths for another node's pod CIDR, our own pod CIDR, a default route and service VIPs, then none is installed (the snapshot routes them or they are rejected)", () => {
  const r = learnedRoutes(input(snap()), [
    path("10.244.2.0/24", "10.250.0.12", "10.250.0.12"), path("10.244.1.0/24", "10.250.0.12"), path("0.0.0.0/0", "10.250.0.1"),
    path("10.96.0.10/32", "10.250.0.1"), path("192.168.50.1/32", "10.250.0.1"),
  ]);
  assert.deepEqual(r, { routes: [], warnings: [] });
});

test("given a next hop that is this node, or on a subnet this host is not connected to, then no route (the overlay would need a tunnel)", () => {
  const r = learnedRoutes(input(snap()), [path("192.168.100.0/24", "10.250.0.11"), path("192.168.101.0/24", "172.16.0.1")]);
  assert.deepEqual(r.routes, []);
});

test("given a malformed prefix or a next hop of the other family, then one warning each and the good path still installs", () => {
  const r = learnedRoutes(input(snap()), [path("nope", "10.250.0.1"), path("192.168.7.0/24", "fd00::1"), path("192.168.8.0/24", "10.250.0.2")]);
  assert.deepEqual(r.routes.map((x) => x.dst), ["192.168.8.0/24"]);
  assert.deepEqual(r.warnings, [
    "bgp: learned path from 10.250.0.1: \"nope\" is not a CIDR; not installed",
    "bgp: learned path 192.168.7.0/24 from 10.250.0.1: next hop \"fd00::1\" is not an ipv4 address; not installed",
  ]);
});

test("given host bits in a learned prefix, then the route's destination is the network", () => {
  assert.equal(learnedRoutes(input(snap()), [path("192.168.100.7/24", "10.250.0.1")]).routes[0]?.dst, "192.168.100.0/24");
});

test("given two paths for one prefix in either order, then one route, the lowest next hop, whatever the input order", () => {
  const a = path("192.168.100.0/24", "10.250.0.3", "10.250.0.3");
  const b = path("192.168.100.0/24", "10.250.0.2", "10.250.0.2");
  assert.deepEqual(learnedRoutes(input(snap()), [a, b]), learnedRoutes(input(snap()), [b, a]));
  assert.equal(learnedRoutes(input(snap()), [a, b]).routes[0]?.via, "10.250.0.2");
});

test("given an IPv6 learned path with IPv6 enabled and a connected IPv6 subnet, then an IPv6 route; with IPv6 disabled, nothing", () => {
  const host = { ...HOST, interfaces: [...HOST.interfaces, { name: "eth1", mtu: 1500, addrs: ["fd00::11/64"] }] };
  const p = path("fd00:100::/64", "fd00::1", "fd00::1", "ipv6");
  assert.deepEqual(learnedRoutes(input(snap(), { enableIpv6: true }, host), [p]).routes, [{ family: "ipv6", table: "main", dst: "fd00:100::/64", via: "fd00::1", proto: "17" }]);
  assert.deepEqual(learnedRoutes(input(snap(), {}, host), [p]).routes, []);
});

test("given a withdrawn path (absent from the input), then its route is no longer desired, so the differ removes it", () => {
  const before = learnedRoutes(input(snap()), [path("192.168.100.0/24", "10.250.0.1"), path("192.168.101.0/24", "10.250.0.1")]).routes;
  const after = learnedRoutes(input(snap()), [path("192.168.101.0/24", "10.250.0.1")]).routes;
  assert.deepEqual(before.map((r) => r.dst), ["192.168.100.0/24", "192.168.101.0/24"]);
  assert.deepEqual(after.map((r) => r.dst), ["192.168.101.0/24"]);
});
