/**
 * `--ipvs-graceful-termination` with pods' `terminationGracePeriodSeconds` (issue 14), through
 * the whole agent on the fake node: the render carries each pod's period on its real server,
 * the IPVS driver drains by it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSliceInfo, PodInfo, ServiceInfo } from "../../src/model/cluster.ts";
import { FAST, snapshotOf, startAgent, until } from "../support/agent-harness.ts";
import { MemorySource } from "../support/memory-source.ts";

const web: ServiceInfo = {
  namespace: "default", name: "web", labels: {}, annotations: {}, type: "ClusterIP", clusterIPs: ["10.96.0.10"], externalIPs: [],
  loadBalancerIngress: [], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }], sessionAffinity: "None",
  externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
};
const pod = (name: string, ip: string, grace?: number): PodInfo => ({
  namespace: "default", name, labels: {}, nodeName: "node1", hostNetwork: false, phase: "Running", podIPs: [ip], ports: [],
  ...(grace !== undefined ? { terminationGracePeriodSeconds: grace } : {}),
});
const webSlice = (eps: readonly (readonly [ip: string, pod: string])[]): EndpointSliceInfo => ({
  namespace: "default", name: "web-1", serviceName: "web", addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: eps.map(([ip, p]) => ({ addresses: [ip], ready: true, serving: true, terminating: false, nodeName: "node1", targetRef: { namespace: "default", name: p } })),
});

test("graceful termination: a removed endpoint whose pod has terminationGracePeriodSeconds 1 is deleted after ~1 s while busy; one without stays for --ipvs-graceful-period", async () => {
  // Given --ipvs-graceful-termination with a 60 s period, and web's endpoints: pod fast (grace 1 s) and pod slow (no grace)
  const source = new MemorySource(snapshotOf(1, 2));
  const h = await startAgent({
    source, timing: { ...FAST, drainRecheckMs: 100 }, ipvsGraceMs: 60_000,
    config: { runServiceProxy: true, runRouter: false, ipvsGracefulTermination: true, ipvsSyncPeriod: 600_000 },
  });
  const reals = async () => (await h.node.exec.run("ipvsadm", ["-Sn"])).stdout.split("\n").filter((l) => l.startsWith("-a ")).sort();
  try {
    source.put("pods", "default/fast", pod("fast", "10.244.1.5", 1));
    source.put("pods", "default/slow", pod("slow", "10.244.1.6"));
    source.put("services", "default/web", web);
    source.put("endpointSlices", "default/web-1", webSlice([["10.244.1.5", "fast"], ["10.244.1.6", "slow"], ["10.244.1.7", "slow"]]));
    await until(async () => (await reals()).length === 3, 3000, "three real servers");
    // When both go while each still has a connection
    h.node.ipvs.setConns("tcp/10.96.0.10/80", "10.244.1.5", 8080, 1);
    h.node.ipvs.setConns("tcp/10.96.0.10/80", "10.244.1.6", 8080, 1);
    source.put("endpointSlices", "default/web-1", webSlice([["10.244.1.7", "slow"]]));
    await until(async () => (await reals()).filter((l) => l.endsWith("-w 0")).length === 2, 3000, "both at weight 0");
    const t0 = Date.now();
    // Then fast's real server is deleted once its pod's 1 s is over, connection or not
    await until(async () => !(await reals()).some((l) => l.includes("10.244.1.5:")), 4000, "fast deleted after its grace period");
    assert.ok(Date.now() - t0 >= 800, `deleted after ${Date.now() - t0} ms, before its 1 s`);
    // And slow's (no pod grace: the flag's 60 s) is still draining at weight 0
    assert.ok((await reals()).some((l) => l.includes("10.244.1.6:8080") && l.endsWith("-w 0")));
  } finally {
    assert.equal(await h.stop(), 0);
  }
});
