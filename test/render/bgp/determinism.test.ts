/**
 * The BGP render is a pure function: the same input gives byte-identical output, and the
 * iteration order of the snapshot's maps (nodes, services, slices) does not matter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClusterSnapshot } from "../../../src/model/cluster.ts";
import { renderBgp } from "../../../src/render/bgp/index.ts";
import { annotated, gobgpText, input, node, render, service, slice, snapshot } from "./support.ts";

const cfg = { advertiseClusterIp: true, advertiseExternalIp: true, advertiseLoadbalancerIp: true, strictExternalIpValidation: false, enableIpv6: true, peerRouterIps: ["192.168.1.1", "fd00::1"], peerRouterAsns: [65000, 65000] };
const cluster = () => snapshot({
  nodes: [
    annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/node.bgp.communities": "no-export,64512:7", "kube-router.io/node.bgp.customimportreject": "10.9.0.0/16,fd09::/32" },
      { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }, { type: "InternalIP", address: "fd00::11" }] }),
    node("node2", "10.250.0.12", "10.244.2.0/24"), node("node3", "10.250.0.13", "10.244.3.0/24"), node("node4", "10.250.0.14", "10.244.4.0/24"),
  ],
  services: [
    service("a", "10.96.0.1", { clusterIPs: ["10.96.0.1", "fd00:96::1"], externalIPs: ["1.1.1.1"] }),
    service("b", "10.96.0.2", { type: "LoadBalancer", loadBalancerIngress: [{ ip: "2.2.2.2" }], externalTrafficPolicy: "Local" }),
    service("c", "10.96.0.3", { internalTrafficPolicy: "Local" }),
  ],
  slices: [slice("a", [["10.244.2.5", "node2"]]), slice("b", [["10.244.1.5", "node1"]]), slice("c", [["10.244.3.5", "node3"]])],
});

/** Every table as [key, value] entries in iteration order, plus warnings: byte-comparable. */
const bytes = (snap: ClusterSnapshot) => {
  const r = renderBgp(input(snap, cfg));
  assert.ok("ok" in r);
  return JSON.stringify(Object.entries(r.ok.state).map(([t, m]) => [t, [...(m as Map<string, unknown>)]]).concat([["warnings", r.ok.warnings as never]]));
};
const reversed = (s: ClusterSnapshot): ClusterSnapshot => ({
  ...s,
  nodes: new Map([...s.nodes].reverse()),
  services: new Map([...s.services].reverse()),
  endpointSlices: new Map([...s.endpointSlices].reverse()),
});

test("given the same input twice, then byte-identical tables and warnings", () => {
  assert.equal(bytes(cluster()), bytes(cluster()));
});

test("given the snapshot's objects in reverse order, then byte-identical output", () => {
  assert.equal(bytes(reversed(cluster())), bytes(cluster()));
});

test("given a rendered state, then every table iterates in key order and the gobgp text is stable", () => {
  const { state } = render(input(cluster(), cfg));
  for (const m of Object.values(state)) {
    const keys = [...(m as Map<string, unknown>).keys()];
    assert.deepEqual(keys, [...keys].sort());
  }
  assert.deepEqual(gobgpText(state), gobgpText(render(input(reversed(cluster()), cfg)).state));
});

test("given a render, then the input snapshot is not mutated", () => {
  const snap = cluster();
  const before = JSON.stringify([...snap.nodes, ...snap.services, ...snap.endpointSlices]);
  renderBgp(input(snap, cfg));
  assert.equal(JSON.stringify([...snap.nodes, ...snap.services, ...snap.endpointSlices]), before);
});
