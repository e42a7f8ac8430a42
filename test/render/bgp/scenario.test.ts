/**
 * One whole node render in `gobgp` syntax: the shape a golden case's BGP plan takes
 * (node1 of a three-node full mesh with an external router, a ClusterIP advertised,
 * node communities). Any change to names, order or syntax shows up here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { annotated, gobgpText, input, node, render, service, slice, snapshot } from "./support.ts";

test("given node1 of a three-node full mesh with an external router, --advertise-cluster-ip and node communities, then this exact gobgp plan from nothing", () => {
  const snap = snapshot({
    nodes: [annotated("node1", "10.250.0.11", "10.244.1.0/24", { "kube-router.io/node.bgp.communities": "no-export" }), node("node2", "10.250.0.12", "10.244.2.0/24"), node("node3", "10.250.0.13", "10.244.3.0/24")],
    services: [service("web", "10.96.0.10")],
    slices: [slice("web", [["10.244.2.7", "node2"]])],
  });
  const { state, warnings } = render(input(snap, { advertiseClusterIp: true, peerRouterIps: ["10.250.0.254"], peerRouterAsns: [65100] }));
  assert.deepEqual(warnings, []);
  assert.deepEqual(gobgpText(state), [
    "gobgp global as 64512 router-id 10.250.0.11 listen-port 179 listen-addresses 10.250.0.11",
    "gobgp policy neighbor add allpeerset 10.250.0.11/32",
    "gobgp policy neighbor add allpeerset 10.250.0.12/32",
    "gobgp policy neighbor add allpeerset 10.250.0.13/32",
    "gobgp policy neighbor add allpeerset 10.250.0.254/32",
    "gobgp policy neighbor add externalpeerset 10.250.0.254/32",
    "gobgp policy neighbor add iBGPpeerset 10.250.0.11/32",
    "gobgp policy neighbor add iBGPpeerset 10.250.0.12/32",
    "gobgp policy neighbor add iBGPpeerset 10.250.0.13/32",
    "gobgp policy prefix add defaultroutedefinedset 0.0.0.0/0 0..0",
    "gobgp policy prefix add podcidrdefinedset 10.244.1.0/24 24..24",
    "gobgp policy prefix add servicevipsdefinedset 10.96.0.10/32 32..32",
    "gobgp policy statement add podcidrdefinedsetiBGPpeerset",
    "gobgp policy statement podcidrdefinedsetiBGPpeerset add condition prefix podcidrdefinedset",
    "gobgp policy statement podcidrdefinedsetiBGPpeerset add condition neighbor iBGPpeerset",
    "gobgp policy statement podcidrdefinedsetiBGPpeerset add action accept",
    "gobgp policy statement add servicevipsdefinedsetexternalpeerset",
    "gobgp policy statement servicevipsdefinedsetexternalpeerset add condition prefix servicevipsdefinedset",
    "gobgp policy statement servicevipsdefinedsetexternalpeerset add condition neighbor externalpeerset",
    "gobgp policy statement servicevipsdefinedsetexternalpeerset add action community add 65535:65281",
    "gobgp policy statement servicevipsdefinedsetexternalpeerset add action accept",
    "gobgp policy statement add podcidrdefinedsetexternalpeerset",
    "gobgp policy statement podcidrdefinedsetexternalpeerset add condition prefix podcidrdefinedset",
    "gobgp policy statement podcidrdefinedsetexternalpeerset add condition neighbor externalpeerset",
    "gobgp policy statement podcidrdefinedsetexternalpeerset add action community add 65535:65281",
    "gobgp policy statement podcidrdefinedsetexternalpeerset add action accept",
    "gobgp policy add kube_router_export podcidrdefinedsetiBGPpeerset servicevipsdefinedsetexternalpeerset podcidrdefinedsetexternalpeerset",
    "gobgp policy statement add servicevipsdefinedsetallpeerset",
    "gobgp policy statement servicevipsdefinedsetallpeerset add condition prefix servicevipsdefinedset",
    "gobgp policy statement servicevipsdefinedsetallpeerset add condition neighbor allpeerset",
    "gobgp policy statement servicevipsdefinedsetallpeerset add action reject",
    "gobgp policy statement add defaultroutedefinedsetallpeerset",
    "gobgp policy statement defaultroutedefinedsetallpeerset add condition prefix defaultroutedefinedset",
    "gobgp policy statement defaultroutedefinedsetallpeerset add condition neighbor allpeerset",
    "gobgp policy statement defaultroutedefinedsetallpeerset add action reject",
    "gobgp policy add kube_router_import servicevipsdefinedsetallpeerset defaultroutedefinedsetallpeerset",
    "gobgp global policy export add kube_router_export default reject",
    "gobgp global policy import add kube_router_import default accept",
    "gobgp global rib add 10.244.1.0/24 nexthop 10.250.0.11 -a ipv4",
    "gobgp global rib add 10.96.0.10/32 nexthop 10.250.0.11 -a ipv4",
    "gobgp neighbor add 10.250.0.12 as 64512 family ipv4-unicast # kind ibgp port 179 local-address 10.250.0.11 hold-time 90 keepalive 30 connect-retry 5",
    "gobgp neighbor add 10.250.0.13 as 64512 family ipv4-unicast # kind ibgp port 179 local-address 10.250.0.11 hold-time 90 keepalive 30 connect-retry 5",
    "gobgp neighbor add 10.250.0.254 as 65100 family ipv4-unicast # kind external port 179 local-address 10.250.0.11 hold-time 90 keepalive 30 connect-retry 5",
  ]);
});
