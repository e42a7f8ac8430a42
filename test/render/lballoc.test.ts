/**
 * The LoadBalancer allocator (render/lballoc): given Services and flags, when allocating,
 * then each handled Service's wanted status IPs and the warnings. Pure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceInfo } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { type AllocConfig, allocate } from "../../src/render/lballoc/allocate.ts";
import { lballocController } from "../../src/render/lballoc/index.ts";
import { emptySnapshot } from "../../src/model/cluster.ts";

let clock = 0;
function svc(name: string, more: Partial<ServiceInfo> = {}): ServiceInfo {
  clock++;
  return {
    namespace: "default", name, labels: {}, annotations: {}, type: "LoadBalancer", clusterIPs: ["10.96.0.1"], externalIPs: [], loadBalancerIngress: [],
    ports: [{ protocol: "TCP", port: 80 }], sessionAffinity: "None", externalTrafficPolicy: "Cluster", internalTrafficPolicy: "Cluster",
    creationTimestamp: `2026-01-01T00:00:${String(clock).padStart(2, "0")}Z`, resourceVersion: String(100 + clock), ...more,
  };
}
const cfg = (ranges: string[], more: Partial<AllocConfig> = {}): AllocConfig => ({ loadbalancerIpRange: ranges, loadbalancerDefaultClass: true, serviceClusterIpRange: ["10.96.0.0/12"], ...more });
const ips = (r: ReturnType<typeof allocate>) => Object.fromEntries(r.rows.map((x) => [`${x.namespace}/${x.name}`, x.ingress.join(",")]));
const withIngress = (...list: string[]) => ({ loadBalancerIngress: list.map((ip) => ({ ip })) });

test("class: kube-router always, unset only with --loadbalancer-default-class, other classes and other types never", () => {
  const services = [svc("ours", { loadBalancerClass: "kube-router" }), svc("unset"), svc("metallb", { loadBalancerClass: "metallb.io/x" }), svc("clusterip", { type: "ClusterIP" })];
  assert.deepEqual(ips(allocate(services, cfg(["192.0.2.0/30"]))), { "default/ours": "192.0.2.0", "default/unset": "192.0.2.1" });
  assert.deepEqual(ips(allocate(services, cfg(["192.0.2.0/30"], { loadbalancerDefaultClass: false }))), { "default/ours": "192.0.2.0" });
});

test("order: the lowest free IP, in creation order then namespace/name; same input, same output", () => {
  const a = svc("a");
  const b = svc("b");
  const c: ServiceInfo = { ...svc("c"), creationTimestamp: a.creationTimestamp!, namespace: "aaa" };
  const r1 = allocate([b, c, a], cfg(["192.0.2.8/29"]));
  const r2 = allocate([a, c, b], cfg(["192.0.2.8/29"]));
  assert.deepEqual(ips(r1), { "aaa/c": "192.0.2.8", "default/a": "192.0.2.9", "default/b": "192.0.2.10" });
  assert.deepEqual(r1, r2);
});

test("an IP in a handled Service's status stays with it, even when an older Service is pending", () => {
  const old = svc("old");
  const young = svc("young", withIngress("192.0.2.0"));
  const r = allocate([old, young], cfg(["192.0.2.0/31"]));
  assert.deepEqual(ips(r), { "default/old": "192.0.2.1", "default/young": "192.0.2.0" });
  // and once exhausted, the older one waits rather than taking it
  const r2 = allocate([old, young], cfg(["192.0.2.0/32"]));
  assert.deepEqual(ips(r2), { "default/old": "", "default/young": "192.0.2.0" });
  assert.match(r2.warnings.join("\n"), /Service default\/old: no free ipv4 address in --loadbalancer-ip-range; pending/);
});

test("IPs held by Services we do not handle (other class, externalIPs) are never given out", () => {
  const theirs = svc("theirs", { loadBalancerClass: "other", ...withIngress("192.0.2.0") });
  const ext = svc("ext", { type: "ClusterIP", externalIPs: ["192.0.2.1"] });
  const r = allocate([theirs, ext, svc("mine")], cfg(["192.0.2.0/30"]));
  assert.deepEqual(ips(r), { "default/mine": "192.0.2.2" });
});

test("a deleted Service, or one that changed type, frees its IP for a pending Service", () => {
  const first = svc("first", withIngress("192.0.2.0"));
  const waiting = svc("waiting");
  assert.deepEqual(ips(allocate([first, waiting], cfg(["192.0.2.0/32"]))), { "default/first": "192.0.2.0", "default/waiting": "" });
  assert.deepEqual(ips(allocate([waiting], cfg(["192.0.2.0/32"]))), { "default/waiting": "192.0.2.0" });
  assert.deepEqual(ips(allocate([{ ...first, type: "ClusterIP" }, waiting], cfg(["192.0.2.0/32"]))), { "default/waiting": "192.0.2.0" });
});

test("dual-stack: RequireDualStack one per family or none; PreferDualStack what is free; SingleStack IPv6 from the v6 range", () => {
  const ranges = ["192.0.2.0/32", "2001:db8::/127"];
  const req = svc("req", { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"] });
  const v6 = svc("v6", { ipFamilies: ["IPv6"] });
  assert.deepEqual(ips(allocate([req, v6], cfg(ranges))), { "default/req": "192.0.2.0,2001:db8::", "default/v6": "2001:db8::1" });
  // v4 exhausted by an older Service: RequireDualStack takes nothing, PreferDualStack takes the v6
  const older = svc("older", withIngress("192.0.2.0"));
  const req2 = svc("req2", { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"] });
  const pref = svc("pref", { ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv6", "IPv4"] });
  const r = allocate([older, req2, pref], cfg(ranges));
  assert.deepEqual(ips(r), { "default/older": "192.0.2.0", "default/req2": "", "default/pref": "2001:db8::" });
  assert.match(r.warnings.join("\n"), /Service default\/req2: no free ipv4 address in --loadbalancer-ip-range; RequireDualStack needs both families; pending/);
  assert.ok(!r.warnings.some((w) => w.includes("default/pref")), r.warnings.join("\n"));
});

test("spec.loadBalancerIP: honoured in range and free (reserved before others' dynamic picks); else a warning naming the Service, never stolen", () => {
  const early = svc("early");
  const asks = svc("asks", { loadBalancerIP: "192.0.2.0" });
  const holder = svc("holder", withIngress("192.0.2.1"));
  const thief = svc("thief", { loadBalancerIP: "192.0.2.1" });
  const outside = svc("outside", { loadBalancerIP: "198.51.100.7" });
  const wrong = svc("wrong", { loadBalancerIP: "2001:db8::5" });
  const junk = svc("junk", { loadBalancerIP: "not-an-ip" });
  const r = allocate([early, asks, holder, thief, outside, wrong, junk], cfg(["192.0.2.0/29"]));
  assert.deepEqual(ips(r), { "default/early": "192.0.2.2", "default/asks": "192.0.2.0", "default/holder": "192.0.2.1", "default/thief": "", "default/outside": "", "default/wrong": "", "default/junk": "" });
  const w = r.warnings.join("\n");
  assert.match(w, /Service default\/thief: spec.loadBalancerIP 192.0.2.1 is held by Service default\/holder; not taken from it, pending/);
  assert.match(w, /Service default\/outside: spec.loadBalancerIP 198.51.100.7 is outside every --loadbalancer-ip-range; pending/);
  assert.match(w, /Service default\/wrong: spec.loadBalancerIP 2001:db8::5 is ipv6, the Service asks for ipv4; pending/);
  assert.match(w, /Service default\/junk: spec.loadBalancerIP "not-an-ip" is not an IP address; pending/);
});

test("bad ranges: invalid, overlapping the cluster IP range or an earlier range: one warning naming the flag; the good ones still allocate", () => {
  const r = allocate([svc("a"), svc("b")], cfg(["nonsense", "10.96.5.0/24", "192.0.2.0/31", "192.0.2.1/32"]));
  assert.deepEqual(ips(r), { "default/a": "192.0.2.0", "default/b": "192.0.2.1" });
  assert.deepEqual(r.warnings, [
    `--loadbalancer-ip-range: "nonsense" is not a CIDR; skipped`,
    "--loadbalancer-ip-range: 10.96.5.0/24 overlaps --service-cluster-ip-range 10.96.0.0/12; skipped",
    "--loadbalancer-ip-range: 192.0.2.1/32 overlaps 192.0.2.0/31 given before it; skipped",
  ]);
});

test("no range of the family asked: pending with a warning; no ranges at all: every handled Service pending", () => {
  const r = allocate([svc("v6", { ipFamilies: ["IPv6"] })], cfg(["192.0.2.0/30"]));
  assert.deepEqual(ips(r), { "default/v6": "" });
  assert.match(r.warnings[0]!, /Service default\/v6: no ipv6 range in --loadbalancer-ip-range; pending/);
});

test("the same IP in two Services' status: the first keeps it, the other is warned and gets another", () => {
  const r = allocate([svc("a", withIngress("192.0.2.0")), svc("b", withIngress("192.0.2.0"))], cfg(["192.0.2.0/30"]));
  assert.deepEqual(ips(r), { "default/a": "192.0.2.0", "default/b": "192.0.2.1" });
  assert.match(r.warnings.join("\n"), /Service default\/b: status.loadBalancer.ingress IP 192.0.2.0 is also held by Service default\/a; left to default\/a/);
});

test("the row carries the resourceVersion and the status it was rendered from", () => {
  const r = allocate([svc("a", { ...withIngress("192.0.2.3"), resourceVersion: "42", ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"] })], cfg(["192.0.2.0/30", "2001:db8::/126"]));
  assert.deepEqual(r.rows, [{ namespace: "default", name: "a", ingress: ["192.0.2.3", "2001:db8::"], resourceVersion: "42", current: ["192.0.2.3"] }]);
});

test("controller: on with --run-loadbalancer, renders lbStatus keyed namespace/name", () => {
  const config: NodeConfig = { ...DEFAULT_CONFIG, runLoadbalancer: true, loadbalancerIpRange: ["192.0.2.0/30"] };
  assert.equal(lballocController.enabled(DEFAULT_CONFIG), false);
  assert.equal(lballocController.enabled(config), true);
  const s = svc("web");
  const out = lballocController.render!({ snapshot: { ...emptySnapshot(), services: new Map([["default/web", s]]) }, config, host: { interfaces: [], cniConf: { path: "/x" } }, nodeName: "n" });
  assert.ok("ok" in out);
  assert.deepEqual([...out.ok.state.lbStatus!.keys()], ["default/web"]);
});

test("property: over random adds, deletes, type and class changes (status written back each step), no IP is held twice, every new IP is in a range, a Service's IPs never change while it lives", () => {
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const conf = cfg(["192.0.2.0/29", "2001:db8::/125"]);
  const inRange = (ip: string) => (ip.includes(":") ? ip.startsWith("2001:db8::") : ip.startsWith("192.0.2."));
  for (let run = 0; run < 30; run++) {
    const live = new Map<string, ServiceInfo>();
    const given = new Map<string, string[]>();
    for (let step = 0; step < 40; step++) {
      const op = rnd(5);
      const names = [...live.keys()];
      if (op <= 1 || names.length === 0) {
        const name = `s${run}-${step}`;
        const policy = (["SingleStack", "PreferDualStack", "RequireDualStack"] as const)[rnd(3)]!;
        live.set(`default/${name}`, svc(name, { ipFamilyPolicy: policy, ipFamilies: rnd(2) === 0 ? ["IPv4", "IPv6"] : ["IPv6", "IPv4"], ...(rnd(4) === 0 ? { loadBalancerIP: `192.0.2.${rnd(10)}` } : {}) }));
      } else {
        const key = names[rnd(names.length)]!;
        const s = live.get(key)!;
        if (op === 2) { live.delete(key); given.delete(key); }
        else if (op === 3) { live.set(key, { ...s, type: s.type === "LoadBalancer" ? "ClusterIP" : "LoadBalancer", loadBalancerIngress: [] }); given.delete(key); }
        else { live.set(key, { ...s, loadBalancerClass: s.loadBalancerClass ? undefined : "other" } as ServiceInfo); }
      }
      const r = allocate(live.values(), conf);
      const seen = new Map<string, string>();
      for (const row of r.rows) {
        const key = `${row.namespace}/${row.name}`;
        for (const ip of row.ingress) {
          assert.ok(!seen.has(ip), `run ${run} step ${step}: ${ip} given to ${seen.get(ip)} and ${key}`);
          seen.set(ip, key);
          assert.ok(inRange(ip), `${ip} outside the ranges`);
        }
        const before = given.get(key) ?? [];
        assert.deepEqual(row.ingress.slice(0, before.length), before, `run ${run} step ${step}: ${key} changed IPs`);
        given.set(key, [...row.ingress]);
        // write the status back, as the driver would
        live.set(key, { ...live.get(key)!, loadBalancerIngress: row.ingress.map((ip) => ({ ip })) });
      }
      // IPs of non-LB or other-class Services also stay unique against ours
      for (const s of live.values()) for (const i of s.loadBalancerIngress) if (s.type === "LoadBalancer" && i.ip && seen.has(i.ip)) assert.equal(seen.get(i.ip), `${s.namespace}/${s.name}`);
    }
  }
});

test("bad input: odd allocator fields in a Service never drop it (the proxy still serves it); an unknown class is simply not ours", async () => {
  const { parseSnapshotText } = await import("../../src/sources/snapshot-file.ts");
  const { snapshot, warnings } = parseSnapshotText(`apiVersion: v1
kind: Service
metadata: {name: odd, namespace: default}
spec: {type: LoadBalancer, clusterIP: 10.96.0.7, ipFamilies: [IPv5, IPv4], ipFamilyPolicy: Sometimes, loadBalancerIP: 12, loadBalancerClass: [x], ports: [{port: 80}]}
`, "c.yaml");
  assert.deepEqual(warnings, []);
  const s = snapshot.services.get("default/odd")!;
  assert.deepEqual([s.ipFamilies, s.ipFamilyPolicy, s.loadBalancerIP, s.loadBalancerClass], [["IPv4"], undefined, undefined, undefined]);
  assert.deepEqual(ips(allocate(snapshot.services.values(), cfg(["192.0.2.0/30"]))), { "default/odd": "192.0.2.0" });
});
