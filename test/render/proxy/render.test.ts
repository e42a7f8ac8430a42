/**
 * The proxy render as given/when/then stories over projected records. Golden cases
 * (test/golden/proxy-*) show whole outputs; these pin single behaviours.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ControllerOutput } from "../../../src/render/controller.ts";
import { allocateFwmarks, fnv1a32, ipvsText, renderProxy, renderProxyFull } from "../../../src/render/proxy/index.ts";
import { HOST, input, node, pod, service, slice, snapshot } from "./support.ts";

const ok = (r: ReturnType<typeof renderProxy>): ControllerOutput => {
  assert.ok("ok" in r, "error" in r ? r.error : "");
  return r.ok;
};
const ipvs = (o: ControllerOutput) => ipvsText({ ipvsServices: o.state.ipvsServices!, ipvsReals: o.state.ipvsReals! });

test("given a ClusterIP Service with endpoints on two nodes, then one IPVS service holds both, sorted, masq weight 1", () => {
  const out = ok(renderProxy(input(snapshot({ services: [service("web", "10.96.0.10")], slices: [slice("web", [["10.244.2.7", "node2"], ["10.244.1.5", "node1"]])] }))));
  assert.equal(ipvs(out), "-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.244.1.5:8080 -m -w 1\n-a -t 10.96.0.10:80 -r 10.244.2.7:8080 -m -w 1\n");
  assert.deepEqual([...out.state.addresses!.keys()], ["kube-dummy-if/10.96.0.10/32"]);
  assert.deepEqual(out.warnings, []);
});

test("given the same input twice, then the output is identical (pure, deterministic)", () => {
  const mk = () => input(snapshot({ services: [service("b", "10.96.0.11"), service("a", "10.96.0.10")], slices: [slice("a", [["10.244.1.9", "node1"], ["10.244.1.2", "node1"]])] }));
  const a = ok(renderProxy(mk()));
  const b = ok(renderProxy(mk()));
  assert.equal(ipvs(a), ipvs(b));
  assert.deepEqual([...a.state.ipsets!.values()].map((s) => [...s.members].sort()), [...b.state.ipsets!.values()].map((s) => [...s.members].sort()));
});

test("given upstream vector 8.4 #1 (cluster IP + 2 external IPs, no endpoints, strict off), then 3 services without reals", () => {
  const s = service("svc", "10.0.0.1", { externalIPs: ["1.1.1.1", "2.2.2.2"], ports: [{ protocol: "TCP", port: 8080 }] });
  const out = ok(renderProxy(input(snapshot({ services: [s] }), { strictExternalIpValidation: false, serviceClusterIpRange: ["10.96.0.0/12"] })));
  assert.deepEqual([...out.state.ipvsServices!.keys()].sort(), ["tcp/1.1.1.1/8080", "tcp/10.0.0.1/8080", "tcp/2.2.2.2/8080"]);
  assert.equal(out.state.ipvsReals!.size, 0);
});

test("given strict validation (8.4 #8), then in-range external IPs are kept and the others warned about by field", () => {
  const s = service("svc", "10.96.0.1", { externalIPs: ["10.243.0.1", "192.168.100.50", "10.96.0.10"] });
  const out = ok(renderProxy(input(snapshot({ services: [s] }), { serviceExternalIpRange: ["10.243.0.0/24"] })));
  assert.deepEqual([...out.state.ipvsServices!.keys()].sort(), ["tcp/10.243.0.1/80", "tcp/10.96.0.1/80"]);
  assert.deepEqual(out.warnings, [
    "Service default/svc: spec.externalIPs[1]: 192.168.100.50 is not inside --service-external-ip-range; skipped",
    "Service default/svc: spec.externalIPs[2]: 10.96.0.10 is inside --service-cluster-ip-range; skipped",
  ]);
});

test("given internalTrafficPolicy Local and no local endpoint, then no IPVS service and no VIP (8.4 #6)", () => {
  const s = service("svc", "10.96.0.1", { internalTrafficPolicy: "Local" });
  const out = ok(renderProxy(input(snapshot({ services: [s], slices: [slice("svc", [["10.244.2.7", "node2"]])] }))));
  assert.equal(out.state.ipvsServices!.size, 0);
  assert.equal(out.state.addresses!.size, 0);
});

test("given an endpoint without nodeName, then locality comes from its target pod", () => {
  const s = service("svc", "10.96.0.1", { internalTrafficPolicy: "Local" });
  const sl = slice("svc", [["10.244.1.5", "", { targetRef: { namespace: "default", name: "p" } }]]);
  const { nodeName: _n, ...ep } = sl.endpoints[0]!;
  const out = ok(renderProxy(input(snapshot({ services: [s], slices: [{ ...sl, endpoints: [ep] }], pods: [pod("default", "p", { nodeName: "node1" })] }))));
  assert.equal(out.state.ipvsReals!.size, 1);
});

test("given two Services claiming one VIP:port, then both are skipped for it with one warning naming both, deterministically", () => {
  const a = service("a", "10.96.0.1", { externalIPs: ["198.51.100.1"] });
  const b = service("b", "10.96.0.2", { externalIPs: ["198.51.100.1"] });
  for (const order of [[a, b], [b, a]]) {
    const out = ok(renderProxy(input(snapshot({ services: order }), { serviceExternalIpRange: ["198.51.100.0/24"] })));
    assert.deepEqual([...out.state.ipvsServices!.keys()].sort(), ["tcp/10.96.0.1/80", "tcp/10.96.0.2/80"]);
    assert.deepEqual(out.warnings, ["proxy: tcp/198.51.100.1/80 is claimed by Services default/a, default/b; skipped for all of them until only one claims it"]);
  }
});

test("given a kernel without IPVS, then the proxy fails with one line naming the modules", () => {
  const r = renderProxy(input(snapshot({}), {}, { ...HOST, ipvs: { available: false } }));
  assert.ok("error" in r);
  assert.match(r.error, /^proxy: the kernel has no IPVS; load it with: modprobe ip_vs /);
  assert.ok(!r.error.includes("\n"));
});

test("given the node missing from the cluster, then one error line", () => {
  const r = renderProxy({ ...input(snapshot({ nodes: [node("other", "10.0.0.1", "10.244.9.0/24")] })) });
  assert.deepEqual(r, { error: "proxy: Node node1 not found in the cluster", warnings: [] });
});

test("given graceful termination, then serving-but-terminating endpoints get weight 0; without it weight 1", () => {
  const snap = snapshot({ services: [service("svc", "10.96.0.1")], slices: [slice("svc", [["10.244.1.5", "node1", { ready: false, serving: true, terminating: true }]])] });
  const w = (graceful: boolean) => [...ok(renderProxy(input(snap, { ipvsGracefulTermination: graceful }))).state.ipvsReals!.values()][0]!.weight;
  assert.equal(w(true), 0);
  assert.equal(w(false), 1);
});

test("given graceful termination, then each real server carries its target pod's terminationGracePeriodSeconds (none for 0, unset or no pod); without it none", () => {
  // Given endpoints whose pods have a grace period of 45 s, 0 s, none, and an endpoint without targetRef
  const ref = (name: string) => ({ targetRef: { namespace: "default", name } });
  const svc = service("svc", "10.96.0.1");
  const sl = slice("svc", [["10.244.1.5", "node1", ref("p45")], ["10.244.1.6", "node1", ref("p0")], ["10.244.1.7", "node1", ref("pnone")], ["10.244.2.8", "node2"]]);
  const nodes = [node("node1", "10.250.0.11", "10.244.1.0/24"), node("node2", "10.250.0.12", "10.244.2.0/24")];
  const snap = (grace45: number) => snapshot({
    nodes, services: [svc], slices: [sl],
    pods: [pod("default", "p45", { nodeName: "node1", terminationGracePeriodSeconds: grace45 }), pod("default", "p0", { nodeName: "node1", terminationGracePeriodSeconds: 0 }), pod("default", "pnone", { nodeName: "node1" })],
  });
  const on = input(snap(45), { ipvsGracefulTermination: true }).config; const off = input(snap(45)).config;
  const graces = (graceful: boolean, s = snap(45)) =>
    [...ok(renderProxy({ ...input(s), config: graceful ? on : off })).state.ipvsReals!.values()].map((r) => `${r.address} ${r.graceSeconds ?? "-"}`);
  // When rendered with --ipvs-graceful-termination
  // Then only the 45 s pod's real carries it (0 and unset mean --ipvs-graceful-period, as upstream)
  assert.deepEqual(graces(true), ["10.244.1.5 45", "10.244.1.6 -", "10.244.1.7 -", "10.244.2.8 -"]);
  // And without the flag no real carries one (rows stay as they were)
  assert.deepEqual(graces(false), ["10.244.1.5 -", "10.244.1.6 -", "10.244.1.7 -", "10.244.2.8 -"]);
  // And when only that pod's grace period changes (same Service and slice objects), the Service re-renders (the pod is a memo dependency)
  assert.deepEqual(graces(true)[0], "10.244.1.5 45");
  assert.deepEqual(graces(true, snap(90))[0], "10.244.1.5 90");
});

test("given a DSR Service, then its external IP is a fwmark service with tunnel reals and a pod tunnel is wanted for the local endpoint", () => {
  const s = service("d", "10.96.0.1", { externalIPs: ["198.51.100.7"], annotations: { "kube-router.io/service.dsr": "tunnel" } });
  const sl = slice("d", [["10.244.1.5", "node1", { targetRef: { namespace: "default", name: "p" } }], ["10.244.2.5", "node2"]]);
  const full = renderProxyFull(input(snapshot({ services: [s], slices: [sl], pods: [pod("default", "p", { nodeName: "node1", containerID: "containerd://c1" })] }), { serviceExternalIpRange: ["198.51.100.0/24"] }));
  const out = ok(full.result);
  const mark = fnv1a32("198.51.100.7-tcp-80") & 0x3fff;
  assert.ok(out.state.ipvsServices!.has(`fwmark/ipv4/${mark}`));
  assert.ok([...out.state.ipvsReals!.values()].filter((r) => r.service === `fwmark/ipv4/${mark}`).every((r) => r.forward === "tunnel"));
  assert.ok(!out.state.addresses!.has("kube-dummy-if/198.51.100.7/32"), "DSR VIP is not on kube-dummy-if");
  assert.deepEqual(full.dsrPods, [{ pod: "default/p", podIp: "10.244.1.5", vip: "198.51.100.7", family: "ipv4", containerId: "containerd://c1" }]);
});

test("fwmarks: same key ⇒ same mark; collisions resolved deterministically; marks within 1..0x3FFF", () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `10.0.${i >> 8}.${i & 255}-tcp-80`);
  const a = allocateFwmarks(keys);
  const b = allocateFwmarks([...keys].reverse());
  assert.deepEqual([...a.marks].sort(), [...b.marks].sort());
  assert.equal(new Set(a.marks.values()).size, keys.length);
  for (const m of a.marks.values()) assert.ok(m >= 1 && m <= 0x3fff);
});

test("given healthCheckNodePort Services, then the wanted servers carry the local ready endpoint count", () => {
  const s = service("lb", "10.96.0.1", { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 32000 });
  const sl = slice("lb", [["10.244.1.5", "node1"], ["10.244.1.6", "node1", { ready: false, serving: true, terminating: true }], ["10.244.2.5", "node2"]]);
  assert.deepEqual(renderProxyFull(input(snapshot({ services: [s], slices: [sl] }))).healthChecks, [{ namespace: "default", name: "lb", port: 32000, localEndpoints: 1 }]);
});
