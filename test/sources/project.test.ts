import { test } from "node:test";
import assert from "node:assert/strict";
import { formatWarning, type InputWarning } from "../../src/model/cluster.ts";
import {
  type Projection, projectEndpointSlice, projectNamespace, projectNetworkPolicy, projectNode, projectPod, projectService,
} from "../../src/sources/project.ts";

function ok<T>(p: Projection<T>): T {
  if ("warning" in p) assert.fail(`unexpected warning: ${formatWarning(p.warning)}`);
  return p.ok;
}
function warn<T>(p: Projection<T>): string {
  if ("ok" in p) assert.fail("expected a warning");
  return formatWarning(p.warning);
}
function warning<T>(p: Projection<T>): InputWarning {
  if ("ok" in p) assert.fail("expected a warning");
  return p.warning;
}

test("Node: fields projected, CIDRs and IPs canonical, noise dropped", () => {
  // Given a node as the API returns it (list item: no kind), with managedFields and status noise
  const raw = {
    metadata: {
      name: "n1", uid: "u1", labels: { a: "b" }, annotations: { "kube-router.io/pod-cidrs": "10.1.0.0/24" },
      managedFields: [{ manager: "kubelet" }], resourceVersion: "9",
    },
    spec: { podCIDR: "10.1.0.0/24", podCIDRs: ["10.1.0.0/24", "FD00:0:0:1::/64"], providerID: "aws:///i-1" },
    status: {
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "InternalIP", address: "fd00:0::1" }, { type: "Hostname", address: "n1" }],
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
  // When projected / Then exactly the NodeInfo fields
  assert.deepEqual(ok(projectNode(raw)), {
    name: "n1", uid: "u1", labels: { a: "b" }, annotations: { "kube-router.io/pod-cidrs": "10.1.0.0/24" },
    podCIDR: "10.1.0.0/24", podCIDRs: ["10.1.0.0/24", "fd00:0:0:1::/64"], providerID: "aws:///i-1",
    addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "InternalIP", address: "fd00::1" }, { type: "Hostname", address: "n1" }],
  });
  // And a bare node has empty lists and no optional fields
  assert.deepEqual(ok(projectNode({ metadata: { name: "bare" } })), {
    name: "bare", uid: "", labels: {}, annotations: {}, podCIDRs: [], addresses: [],
  });
});

test("Node: malformed objects give a warning naming kind, name and field", () => {
  // Given malformed nodes / When projected / Then one-line warnings with the field path
  assert.equal(warn(projectNode({ metadata: { name: "n1" }, spec: { podCIDRs: ["10.1.0.0/24", "10.2.0/24"] } })),
    'Node n1: spec.podCIDRs[1]: invalid CIDR "10.2.0/24"');
  assert.equal(warn(projectNode({ metadata: { name: "n1" }, spec: { podCIDR: "10.1.0.1" } })),
    'Node n1: spec.podCIDR: invalid CIDR "10.1.0.1"');
  assert.equal(warn(projectNode({ metadata: { name: "n1" }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.256" }] } })),
    'Node n1: status.addresses[0].address: invalid IP address "10.0.0.256"');
  assert.equal(warn(projectNode({ metadata: { labels: { a: "b" } } })), "Node: metadata.name: is required");
  assert.equal(warn(projectNode({ metadata: { name: 7 } })), "Node: metadata.name: must be a string, not a number");
  assert.equal(warn(projectNode({ metadata: { name: "n1", labels: { port: 80 } } })), "Node n1: metadata.labels.port: must be a string, not a number");
  assert.equal(warn(projectNode({ metadata: { name: "n1" }, spec: { podCIDRs: "10.1.0.0/24" } })), "Node n1: spec.podCIDRs: must be a list, not a string");
  assert.equal(warn(projectNode("node")), "Node: not an object (a string)");
  assert.equal(warn(projectNode({})), "Node: metadata.name: is required");
  assert.deepEqual(warning(projectNode({ metadata: { name: "n1" }, spec: [] })), { kind: "Node", ref: { name: "n1" }, field: "spec", message: "must be an object, not a list" });
});

test("Namespace: name and labels", () => {
  assert.deepEqual(ok(projectNamespace({ kind: "Namespace", metadata: { name: "nsA", labels: { name: "a" } }, status: { phase: "Active" } })), {
    name: "nsA", labels: { name: "a" },
  });
});

test("Pod: IPs, ports with default protocol, host network, first container ID (metadata.uid is not kept: nothing reads a pod's uid)", () => {
  // Given a dual-stack pod with two containers
  const raw = {
    metadata: { name: "p", namespace: "nsA", uid: "u", labels: { app: "a" } },
    spec: {
      nodeName: "n1", terminationGracePeriodSeconds: 30,
      containers: [{ name: "c1", ports: [{ containerPort: 80, name: "http" }] }, { name: "c2", ports: [{ containerPort: 53, protocol: "UDP" }] }],
    },
    status: {
      phase: "Running", hostIP: "10.0.0.1", podIP: "10.1.0.5",
      podIPs: [{ ip: "10.1.0.5" }, { ip: "FD00:1::5" }],
      containerStatuses: [{ containerID: "containerd://abc" }, { containerID: "containerd://def" }],
    },
  };
  // When projected / Then
  assert.deepEqual(ok(projectPod(raw)), {
    namespace: "nsA", name: "p", labels: { app: "a" }, nodeName: "n1", hostNetwork: false, phase: "Running",
    hostIP: "10.0.0.1", podIPs: ["10.1.0.5", "fd00:1::5"],
    ports: [{ name: "http", containerPort: 80, protocol: "TCP" }, { containerPort: 53, protocol: "UDP" }],
    terminationGracePeriodSeconds: 30, containerID: "containerd://abc",
  });
  // And podIP alone is used when podIPs is missing; a pod without namespace is in "default"
  const single = ok(projectPod({ metadata: { name: "q" }, spec: { hostNetwork: true }, status: { podIP: "10.1.0.6" } }));
  assert.deepEqual(single.podIPs, ["10.1.0.6"]);
  assert.equal(single.namespace, "default");
  assert.equal(single.hostNetwork, true);
  // And a pending pod has no IPs
  assert.deepEqual(ok(projectPod({ metadata: { name: "r", namespace: "x" }, spec: {}, status: { phase: "Pending" } })).podIPs, []);
});

test("Pod: malformed", () => {
  assert.equal(warn(projectPod({ metadata: { name: "p", namespace: "nsA" }, spec: {}, status: { podIPs: [{ ip: "10.1.0.5" }, { ip: "3.1" }] } })),
    'Pod nsA/p: status.podIPs[1].ip: invalid IP address "3.1"');
  assert.equal(warn(projectPod({ metadata: { name: "p", namespace: "nsA" }, spec: { containers: [{ ports: [{ containerPort: 80, protocol: "ICMP" }] }] } })),
    'Pod nsA/p: spec.containers[0].ports[0].protocol: must be one of TCP, UDP, SCTP, not "ICMP"');
  assert.equal(warn(projectPod({ metadata: { name: "p", namespace: "nsA" }, spec: { containers: [{ ports: [{ containerPort: "80" }] }] } })),
    "Pod nsA/p: spec.containers[0].ports[0].containerPort: must be an integer, not a string");
  assert.equal(warn(projectPod({ metadata: { name: "p", namespace: "nsA" }, spec: { hostNetwork: "true" } })),
    "Pod nsA/p: spec.hostNetwork: must be true or false, not a string");
  assert.equal(warn(projectPod({ metadata: { name: "p", namespace: "nsA" }, spec: {}, status: { hostIP: "node-1" } })),
    'Pod nsA/p: status.hostIP: invalid IP address "node-1"');
});

test("Service: API defaulting applied when the fields are missing", () => {
  // Given a service as hand-written YAML, without the fields the API server fills in
  const raw = { metadata: { name: "s", namespace: "nsA" }, spec: { clusterIP: "10.96.0.10", ports: [{ port: 53 }, { port: 53, protocol: "UDP", name: "dns" }] } };
  // When projected / Then type ClusterIP, protocol TCP, targetPort = port, affinity None, policies Cluster
  assert.deepEqual(ok(projectService(raw)), {
    namespace: "nsA", name: "s", labels: {}, annotations: {}, type: "ClusterIP", clusterIPs: ["10.96.0.10"], externalIPs: [],
    loadBalancerIngress: [], sessionAffinity: "None", externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
    ports: [{ protocol: "TCP", port: 53, targetPort: 53 }, { name: "dns", protocol: "UDP", port: 53, targetPort: 53 }],
  });
});

test("Service: full LoadBalancer service", () => {
  // Given a dual-stack LoadBalancer service with ClientIP affinity and LB ingress
  const raw = {
    metadata: { name: "lb", namespace: "nsA", labels: { app: "x" }, annotations: { "kube-router.io/service.dsr": "tunnel" } },
    spec: {
      type: "LoadBalancer", clusterIP: "10.96.0.1", clusterIPs: ["10.96.0.1", "2001:DB8::1"], externalIPs: ["1.1.1.1"],
      ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30080, protocol: "TCP" }],
      sessionAffinity: "ClientIP", externalTrafficPolicy: "Local", healthCheckNodePort: 32000,
    },
    status: { loadBalancer: { ingress: [{ ip: "10.255.0.1" }, { hostname: "lb.example.com" }, { ip: "10.255.0.2", ipMode: "Proxy" }] } },
  };
  // When projected / Then
  assert.deepEqual(ok(projectService(raw)), {
    namespace: "nsA", name: "lb", labels: { app: "x" }, annotations: { "kube-router.io/service.dsr": "tunnel" },
    type: "LoadBalancer", clusterIPs: ["10.96.0.1", "2001:db8::1"], externalIPs: ["1.1.1.1"],
    loadBalancerIngress: [{ ip: "10.255.0.1" }, { hostname: "lb.example.com" }, { ip: "10.255.0.2", ipMode: "Proxy" }],
    ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: "http", nodePort: 30080 }],
    sessionAffinity: "ClientIP", sessionAffinityTimeoutSeconds: 10800,
    externalTrafficPolicy: "Local", internalTrafficPolicy: "Cluster", healthCheckNodePort: 32000,
  });
});

test("Service: headless keeps None, ExternalName has no cluster IPs, bad IPs rejected", () => {
  assert.deepEqual(ok(projectService({ metadata: { name: "h", namespace: "n" }, spec: { clusterIP: "None" } })).clusterIPs, ["None"]);
  assert.deepEqual(ok(projectService({ metadata: { name: "h", namespace: "n" }, spec: { clusterIP: "" } })).clusterIPs, []);
  assert.deepEqual(ok(projectService({ metadata: { name: "e", namespace: "n" }, spec: { type: "ExternalName", externalName: "example.com" } })).clusterIPs, []);
  assert.equal(warn(projectService({ metadata: { name: "s", namespace: "n" }, spec: { clusterIPs: ["10.96.0.1", "not-an-ip"] } })),
    'Service n/s: spec.clusterIPs[1]: invalid IP address "not-an-ip"');
  assert.equal(warn(projectService({ metadata: { name: "s", namespace: "n" }, spec: { type: "Balancer" } })),
    'Service n/s: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, not "Balancer"');
  assert.equal(warn(projectService({ metadata: { name: "s", namespace: "n" }, spec: { ports: [{ port: 70000 }] } })),
    "Service n/s: spec.ports[0].port: must be in 1-65535, not 70000");
  assert.equal(warn(projectService({ metadata: { name: "s", namespace: "n" }, spec: { ports: [{ name: "x" }] } })),
    "Service n/s: spec.ports[0].port: is required");
  assert.equal(warn(projectService({ metadata: { name: "s", namespace: "n" }, spec: { externalIPs: ["192.168.1"] } })),
    'Service n/s: spec.externalIPs[0]: invalid IP address "192.168.1"');
});

test("EndpointSlice: service from the label, conditions defaulted", () => {
  // Given a slice with one endpoint lacking conditions and a port without a number
  const raw = {
    metadata: { name: "s-abc", namespace: "nsA", labels: { "kubernetes.io/service-name": "s" } },
    addressType: "IPv6",
    ports: [{ name: "http", port: 80 }, { name: "all" }],
    endpoints: [
      { addresses: ["FD00::5"], nodeName: "n1", targetRef: { kind: "Pod", name: "p", namespace: "nsA" } },
      { addresses: ["fd00::6"], conditions: { ready: false, serving: true, terminating: true } },
    ],
  };
  // When projected / Then
  assert.deepEqual(ok(projectEndpointSlice(raw)), {
    namespace: "nsA", name: "s-abc", serviceName: "s", addressType: "IPv6",
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
    endpoints: [
      { addresses: ["fd00::5"], ready: true, serving: true, terminating: false, nodeName: "n1", targetRef: { namespace: "nsA", name: "p" } },
      { addresses: ["fd00::6"], ready: false, serving: true, terminating: true },
    ],
  });
});

test("EndpointSlice: malformed", () => {
  const base = { metadata: { name: "s-1", namespace: "n", labels: { "kubernetes.io/service-name": "s" } }, addressType: "IPv4" };
  assert.equal(warn(projectEndpointSlice({ ...base, metadata: { name: "s-1", namespace: "n" } })),
    "EndpointSlice n/s-1: metadata.labels.kubernetes.io/service-name: is required (the owning Service)");
  assert.equal(warn(projectEndpointSlice({ ...base, endpoints: [{ addresses: ["fd00::1"] }] })),
    'EndpointSlice n/s-1: endpoints[0].addresses[0]: "fd00::1" is not an IPv4 address');
  assert.equal(warn(projectEndpointSlice({ ...base, addressType: "IP" })),
    'EndpointSlice n/s-1: addressType: must be one of IPv4, IPv6, FQDN, not "IP"');
  assert.deepEqual(ok(projectEndpointSlice({ ...base, addressType: "FQDN", endpoints: [{ addresses: ["a.example.com"] }] })).endpoints[0]?.addresses, ["a.example.com"]);
});

test("NetworkPolicy: policyTypes defaulting", () => {
  const np = (spec: object) => ok(projectNetworkPolicy({ metadata: { name: "p", namespace: "n" }, spec }));
  // Given no policyTypes and no egress rules / Then Ingress
  assert.deepEqual(np({ podSelector: {} }).policyTypes, ["Ingress"]);
  // Given no policyTypes and egress rules / Then Ingress and Egress
  assert.deepEqual(np({ podSelector: {}, egress: [{}] }).policyTypes, ["Ingress", "Egress"]);
  // Given only Egress listed / Then only Egress
  assert.deepEqual(np({ podSelector: {}, policyTypes: ["Egress"], ingress: [{}] }).policyTypes, ["Egress"]);
  // Given both listed in any order / Then the canonical order
  assert.deepEqual(np({ podSelector: {}, policyTypes: ["Egress", "Ingress"] }).policyTypes, ["Ingress", "Egress"]);
  // Given an empty egress list / Then Ingress only (API: len(egress) == 0)
  assert.deepEqual(np({ podSelector: {}, egress: [] }).policyTypes, ["Ingress"]);
});

test("NetworkPolicy: peers and ports keep missing apart from empty", () => {
  // Given rules with missing, null and empty from/ports
  const p = ok(projectNetworkPolicy({
    metadata: { name: "p", namespace: "n" },
    spec: {
      podSelector: { matchLabels: { app: "a" }, matchExpressions: [{ key: "component", operator: "In", values: ["b", "c"] }] },
      ingress: [
        {},
        { from: [], ports: [] },
        { from: null, ports: [{ port: 80 }] },
        { from: [{ namespaceSelector: { matchLabels: { name: "b" } }, podSelector: { matchExpressions: [{ key: "x", operator: "Exists" }] } }] },
        { from: [{ ipBlock: { cidr: "10.95.0.239/32", except: ["10.95.0.239/32"] } }], ports: [{ protocol: "SCTP", port: 36000 }, { port: 30000, endPort: 31000 }, { port: "http" }, { protocol: "UDP" }] },
      ],
      egress: [{ to: [{ podSelector: {} }] }],
    },
  }));
  // When projected / Then
  assert.deepEqual(p.podSelector, { matchLabels: { app: "a" }, matchExpressions: [{ key: "component", operator: "In", values: ["b", "c"] }] });
  assert.deepEqual(p.ingress, [
    {},
    { peers: [], ports: [] },
    { ports: [{ protocol: "TCP", port: 80 }] },
    { peers: [{ podSelector: { matchLabels: {}, matchExpressions: [{ key: "x", operator: "Exists", values: [] }] }, namespaceSelector: { matchLabels: { name: "b" }, matchExpressions: [] } }] },
    {
      peers: [{ ipBlock: { cidr: "10.95.0.239/32", except: ["10.95.0.239/32"] } }],
      ports: [{ protocol: "SCTP", port: 36000 }, { protocol: "TCP", port: 30000, endPort: 31000 }, { protocol: "TCP", port: "http" }, { protocol: "UDP" }],
    },
  ]);
  assert.equal("peers" in (p.ingress[0] ?? {}), false);
  assert.deepEqual(p.egress, [{ peers: [{ podSelector: { matchLabels: {}, matchExpressions: [] } }] }]);
  assert.deepEqual(p.policyTypes, ["Ingress", "Egress"]);
});

test("NetworkPolicy: malformed", () => {
  const np = (spec: object) => warn(projectNetworkPolicy({ metadata: { name: "p", namespace: "n" }, spec }));
  // An invalid ipBlock CIDR is kept as written: the firewall reports it and fails closed (issue 3).
  const bad = projectNetworkPolicy({ metadata: { name: "p", namespace: "n" }, spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/33", except: ["x", "10.0.0.5/8"] } }] }] } });
  assert.ok("ok" in bad);
  assert.deepEqual(bad.ok.ingress[0]?.peers?.[0]?.ipBlock, { cidr: "10.0.0.0/33", except: ["x", "10.0.0.0/8"] });
  assert.equal(np({ egress: [{ to: [{}] }] }), "NetworkPolicy n/p: spec.egress[0].to[0]: must specify podSelector, namespaceSelector or ipBlock");
  assert.equal(np({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] }),
    "NetworkPolicy n/p: spec.ingress[0].from[0]: ipBlock cannot be combined with podSelector or namespaceSelector");
  assert.equal(np({ policyTypes: ["ingress"] }), 'NetworkPolicy n/p: spec.policyTypes[0]: must be one of Ingress, Egress, not "ingress"');
  assert.equal(np({ podSelector: { matchExpressions: [{ operator: "In" }] } }), "NetworkPolicy n/p: spec.podSelector.matchExpressions[0].key: is required");
  assert.equal(np({ ingress: [{ ports: [{ port: 0 }] }] }), "NetworkPolicy n/p: spec.ingress[0].ports[0].port: must be in 1-65535, not 0");
});
