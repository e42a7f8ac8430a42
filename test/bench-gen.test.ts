/**
 * The benchmark's synthetic cluster generator (bench/gen.ts): deterministic (same size ⇒
 * deep-equal snapshot and identical JSON), sized as perf-anchors.md §3 says, and laid out so
 * the router renders a direct route to every other node (one connected node subnet).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateCluster } from "../bench/gen.ts";
import { SIZES, SIZE_NAMES, type SizeName } from "../bench/sizes.ts";
import { snapshotCounts, snapshotDigest, snapshotJson } from "../bench/snapshot-json.ts";
import { cidrContains } from "../src/model/ip.ts";

const SMALL: readonly SizeName[] = ["XS", "S", "M"];

for (const size of SMALL) {
  test(`gen ${size}: the same size twice gives the same snapshot, byte for byte`, () => {
    // Given two independent generations of one size
    const a = generateCluster(size);
    const b = generateCluster(size);
    // Then they are deep-equal, serialise identically and share a digest
    assert.deepEqual(a.snapshot, b.snapshot);
    assert.equal(snapshotJson(a.snapshot), snapshotJson(b.snapshot));
    assert.equal(snapshotDigest(a.snapshot), snapshotDigest(b.snapshot));
  });
}

test("gen: different sizes give different clusters", () => {
  // Given every small size / Then their digests differ
  const digests = SMALL.map((s) => snapshotDigest(generateCluster(s).snapshot));
  assert.equal(new Set(digests).size, digests.length);
});

for (const size of SIZE_NAMES) {
  test(`gen ${size}: object counts match perf-anchors §3`, () => {
    // Given the size's row of the table
    const spec = SIZES[size];
    // When generating it
    const g = generateCluster(size);
    const c = snapshotCounts(g.snapshot);
    // Then every count matches the row
    assert.equal(c["nodes"], spec.nodes);
    assert.equal(c["namespaces"], spec.namespaces);
    assert.equal(c["pods"], spec.clusterPods);
    assert.equal(c["services"], spec.services);
    assert.equal(c["endpointSlices"], spec.services);
    assert.equal(c["endpoints"], spec.services * spec.endpointsPerService);
    assert.equal(c["networkPolicies"], spec.policies);
    const local = [...g.snapshot.pods.values()].filter((p) => p.nodeName === g.selfNode).length;
    assert.equal(local, spec.localPods);
  });
}

test("gen S: node IPs share one subnet, pod IPs sit in their node's pod CIDR, names are unique per map key", () => {
  // Given the S cluster
  const g = generateCluster("S");
  const subnet = `${g.selfIp}/${g.nodePrefix}`;
  const cidrOf = new Map([...g.snapshot.nodes.values()].map((n) => [n.name, n.podCIDR ?? ""]));
  // Then every node's first InternalIP is on the benchmarked node's subnet
  for (const n of g.snapshot.nodes.values()) {
    const ip = n.addresses.find((a) => a.type === "InternalIP")?.address ?? "";
    assert.ok(cidrContains(subnet, ip), `${n.name} ${ip}`);
  }
  // And every pod's IPv4 address lies in its node's pod CIDR
  for (const p of g.snapshot.pods.values()) assert.ok(cidrContains(cidrOf.get(p.nodeName ?? "") ?? "", p.podIPs[0] ?? ""), `${p.name}`);
  // And every EndpointSlice points at existing pods of its Service's namespace
  for (const s of g.snapshot.endpointSlices.values()) {
    assert.ok(g.snapshot.services.has(`${s.namespace}/${s.serviceName}`));
    for (const e of s.endpoints) assert.ok(g.snapshot.pods.has(`${e.targetRef?.namespace}/${e.targetRef?.name}`));
  }
});
