import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatWarning } from "../../src/model/cluster.ts";
import { SnapshotError, loadSnapshotFile, parseSnapshotText } from "../../src/sources/snapshot-file.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

function parseError(text: string, name = "snap.yaml"): SnapshotError {
  try {
    parseSnapshotText(text, name);
  } catch (e) {
    assert.ok(e instanceof SnapshotError, String(e));
    return e;
  }
  return assert.fail("expected a SnapshotError");
}

test("a kubectl-style multi-document YAML file", () => {
  // Given the fixture: one Node, Namespace, Pod, Service, EndpointSlice and NetworkPolicy
  const path = join(FIXTURES, "cluster-multidoc.yaml");
  // When loaded
  const { snapshot, warnings } = loadSnapshotFile(path);
  // Then no warnings and every object is keyed as documented
  assert.deepEqual(warnings.map(formatWarning), []);
  assert.deepEqual([...snapshot.nodes.keys()], ["kube-router-vm1"]);
  assert.deepEqual([...snapshot.namespaces.keys()], ["default"]);
  assert.deepEqual([...snapshot.pods.keys()], ["default/whoami-7d9f8c6b5-x2kqz"]);
  assert.deepEqual([...snapshot.services.keys()], ["default/whoami"]);
  assert.deepEqual([...snapshot.endpointSlices.keys()], ["default/whoami-8xk2p"]);
  assert.deepEqual([...snapshot.networkPolicies.keys()], ["default/whoami"]);
  // And the records are projected (canonical IPs, managedFields gone)
  const node = snapshot.nodes.get("kube-router-vm1");
  assert.deepEqual(node?.podCIDRs, ["10.242.0.0/24", "2001:db8:42:1000::/64"]);
  assert.deepEqual(node?.addresses, [
    { type: "InternalIP", address: "10.241.0.20" },
    { type: "InternalIP", address: "2001:db8:ca2:2::2ca1" },
    { type: "Hostname", address: "kube-router-vm1" },
  ]);
  assert.equal(node?.annotations["kube-router.io/node.asn"], "64512");
  assert.equal("managedFields" in (node ?? {}), false);
  const pod = snapshot.pods.get("default/whoami-7d9f8c6b5-x2kqz");
  assert.deepEqual(pod?.podIPs, ["10.242.0.5", "2001:db8:42:1000::5"]);
  assert.equal(pod?.containerID, "containerd://4b1c9e0d2f3a");
  assert.deepEqual(pod?.ports.map((p) => `${p.name}/${p.protocol}/${p.containerPort}`), ["http/TCP/5000", "udp-echo/UDP/5001"]);
  const svc = snapshot.services.get("default/whoami");
  assert.equal(svc?.type, "NodePort");
  assert.deepEqual(svc?.clusterIPs, ["10.96.115.202", "2001:db8:42:1::bd90"]);
  assert.deepEqual(svc?.ports[0], { name: "http", protocol: "TCP", port: 5000, targetPort: "http", nodePort: 30500 });
  assert.equal(snapshot.endpointSlices.get("default/whoami-8xk2p")?.serviceName, "whoami");
  const np = snapshot.networkPolicies.get("default/whoami");
  assert.deepEqual(np?.policyTypes, ["Ingress"]);
  assert.deepEqual(np?.ingress[0]?.ports, [{ protocol: "TCP", port: 5000 }]);
});

test("a kind: List file: known kinds kept, keys sorted", () => {
  // Given `kubectl get -o yaml` output with two nodes, a ConfigMap and a policy
  const { snapshot, warnings } = loadSnapshotFile(join(FIXTURES, "list.yaml"));
  // Then everything is projected, the ConfigMap into configMaps
  assert.deepEqual(warnings.map(formatWarning), []);
  assert.deepEqual(snapshot.configMaps?.get("kube-system/kube-router-cfg")?.data, { "cni-conf.json": "{}" });
  assert.deepEqual([...snapshot.nodes.keys()], ["node-a", "node-b"]);
  assert.equal(snapshot.nodes.get("node-b")?.podCIDR, "10.242.1.0/24");
  // And the egress-only policy without policyTypes gets the API's default
  assert.deepEqual(snapshot.networkPolicies.get("default/debug")?.policyTypes, ["Ingress", "Egress"]);
});

test("JSON API lists: items inherit their kind from the list kind", () => {
  // Given an API NodeList and PodList as JSON, items without kind
  const nodeList = JSON.stringify({
    kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: "1" },
    items: [{ metadata: { name: "n2" }, spec: { podCIDRs: ["10.1.2.0/24"] } }, { metadata: { name: "n1" } }],
  });
  // When parsed / Then the nodes are there, sorted by key
  const r = parseSnapshotText(nodeList, "nodes.json");
  assert.deepEqual(r.warnings, []);
  assert.deepEqual([...r.snapshot.nodes.keys()], ["n1", "n2"]);
  // And a PodList item carrying its own kind keeps it
  const mixed = parseSnapshotText(JSON.stringify({ kind: "PodList", items: [{ metadata: { name: "p", namespace: "a" }, spec: {} }, { kind: "Namespace", metadata: { name: "a" } }] }), "x.json");
  assert.deepEqual([...mixed.snapshot.pods.keys()], ["a/p"]);
  assert.deepEqual([...mixed.snapshot.namespaces.keys()], ["a"]);
  // And a top-level JSON array of objects works too
  const arr = parseSnapshotText(JSON.stringify([{ kind: "Namespace", metadata: { name: "z" } }]), "arr.json");
  assert.deepEqual([...arr.snapshot.namespaces.keys()], ["z"]);
});

test("malformed objects are reported with file, kind, namespace/name and field, and skipped", () => {
  // Given a file with one good and three bad objects
  const text = [
    "kind: Node\nmetadata:\n  name: good\nspec:\n  podCIDRs: [10.0.1.0/24]",
    "kind: Node\nmetadata:\n  name: bad\nspec:\n  podCIDRs: [10.0.1.0/24, 10.0.2.0/33]",
    "kind: Pod\nmetadata:\n  name: p\n  namespace: nsA\nspec: {}\nstatus:\n  podIPs:\n  - ip: 10.0.0.1.2",
    "kind: Service\nmetadata:\n  namespace: nsA\nspec:\n  clusterIP: 10.96.0.1",
    "kind: EndpointSlice\nmetadata:\n  name: s-1\n  namespace: nsA\naddressType: IPv4",
  ].join("\n---\n");
  // When parsed
  const { snapshot, warnings } = parseSnapshotText(text, "cluster.yaml");
  // Then exact one-line warnings, and only the good object is kept
  assert.deepEqual(warnings.map(formatWarning), [
    'cluster.yaml: Node bad: spec.podCIDRs[1]: invalid CIDR "10.0.2.0/33" (object skipped)',
    'cluster.yaml: Pod nsA/p: status.podIPs[0].ip: invalid IP address "10.0.0.1.2" (object skipped)',
    "cluster.yaml: Service: metadata.name: is required (object skipped)",
    "cluster.yaml: EndpointSlice nsA/s-1: metadata.labels.kubernetes.io/service-name: is required (the owning Service) (object skipped)",
  ]);
  assert.deepEqual([...snapshot.nodes.keys()], ["good"]);
  assert.equal(snapshot.pods.size, 0);
  assert.equal(snapshot.services.size, 0);
});

test("unknown kinds, missing kinds, non-objects and duplicates are warnings", () => {
  // Given such documents
  const text = [
    "apiVersion: v1\nkind: Foo\nmetadata:\n  name: f\n  namespace: x",
    "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: e\n  namespace: x",
    "metadata:\n  name: nokind",
    "just a string",
    "kind: List\nitems:\n- 42\n- metadata:\n    name: nokind-item",
    "kind: Namespace\nmetadata:\n  name: a\n  labels: {first: 'yes'}",
    "kind: Namespace\nmetadata:\n  name: a\n  labels: {second: 'yes'}",
    "kind: Pod\nmetadata:\n  name: p\n  namespace: x\nspec: {}",
    "kind: Pod\nmetadata:\n  name: p\n  namespace: y\nspec: {}",
    "",
  ].join("\n---\n");
  // When parsed
  const { snapshot, warnings } = parseSnapshotText(text, "s.yaml");
  // Then one warning each, in file order
  assert.deepEqual(warnings.map(formatWarning), [
    "s.yaml: Foo x/f: kind Foo is not used, ignored",
    "s.yaml: Endpoints x/e: kind Endpoints is not used, ignored",
    "s.yaml: Object nokind: kind: missing, object ignored",
    "s.yaml: document 4: not a Kubernetes object (a string), ignored",
    "s.yaml: List: items[0]: not an object (a number), ignored",
    "s.yaml: Object nokind-item: items[1].kind: missing, object ignored",
    "s.yaml: Namespace a: duplicate object, the first one is kept",
  ]);
  // And the first duplicate wins; same name in two namespaces is not a duplicate
  assert.deepEqual(snapshot.namespaces.get("a")?.labels, { first: "yes" });
  assert.deepEqual([...snapshot.pods.keys()], ["x/p", "y/p"]);
});

test("an unparseable file is one SnapshotError line with the line number", () => {
  // Given broken YAML / When parsed / Then `<file>: line N: <reason>`
  assert.equal(
    parseError("kind: Node\nmetadata:\n  name: a\n  labels: [x, y\n").message,
    "snap.yaml: line 5: Flow sequence in block collection must be sufficiently indented and end with a ]",
  );
  assert.equal(
    parseError("kind: Node\n---\nkind: Pod\nmetadata:\n  name: a\n  name: b\n").message,
    "snap.yaml: line 6: Map keys must be unique",
  );
  assert.equal(parseError("kind: Node\n\tmetadata: {}\n").message.split(":").slice(0, 2).join(":"), "snap.yaml: line 2");
  // And broken JSON is reported with its line too
  const e = parseError('{\n  "kind": "Node",\n  "metadata": {"name": "a",}\n  oops\n}', "n.json");
  assert.match(e.message, /^n\.json: line \d+: \S.*$/);
  assert.equal(e.file, "n.json");
  assert.ok(!e.message.includes("\n"));
  // And an unresolved alias
  assert.equal(parseError("a: 1\n---\nb: *nope\n").message, "snap.yaml: line 3: Unresolved alias (the anchor must be set before the alias): nope");
});

test("a missing file is a SnapshotError naming the file", () => {
  const path = join(FIXTURES, "does-not-exist.yaml");
  assert.throws(() => loadSnapshotFile(path), (e: unknown) => {
    assert.ok(e instanceof SnapshotError);
    assert.equal(e.message, `${path}: cannot read: ENOENT: no such file or directory`);
    return true;
  });
});

test("an empty file is an empty snapshot", () => {
  const { snapshot, warnings } = parseSnapshotText("# nothing here\n", "empty.yaml");
  assert.deepEqual(warnings, []);
  assert.equal(snapshot.nodes.size + snapshot.pods.size + snapshot.services.size, 0);
});

test("object order in the file does not change the snapshot", () => {
  // Given the same objects in two orders
  const a = "kind: Namespace\nmetadata: {name: b}\n---\nkind: Namespace\nmetadata: {name: a}\n";
  const b = "kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: b}\n";
  // When parsed / Then the maps iterate identically
  assert.deepEqual([...parseSnapshotText(a, "a").snapshot.namespaces], [...parseSnapshotText(b, "b").snapshot.namespaces]);
});
