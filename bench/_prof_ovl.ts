import { type ClusterSnapshot, type NodeInfo, emptySnapshot } from "../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../src/model/config.ts";
import type { HostFacts } from "../src/model/host.ts";
import { diffNode } from "../src/model/plan.ts";
import { emptyNodeState } from "../src/model/state.ts";
import { assemble } from "../src/render/assemble.ts";
import { renderNode } from "../src/render/index.ts";
import { routerController } from "../src/render/router.ts";
const peer = (i: number): NodeInfo => ({
  name: `node${i}`, uid: `uid-${i}`, labels: {}, annotations: {},
  podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`, podCIDRs: [`10.${100 + (i >> 8)}.${i & 255}.0/24`],
  addresses: [{ type: "InternalIP", address: `10.251.${i >> 8}.${i & 255}` }],
});
const self: NodeInfo = { ...peer(0), name: "self", podCIDR: "10.99.0.0/24", podCIDRs: ["10.99.0.0/24"], addresses: [{ type: "InternalIP", address: "10.250.0.11" }] };
const snapshotOf = (nodes: readonly NodeInfo[]): ClusterSnapshot => ({ ...emptySnapshot(), nodes: new Map(nodes.map((n) => [n.name, n])) });
const host: HostFacts = { interfaces: [{ name: "lo", mtu: 65536, addrs: ["127.0.0.1/8"] }, { name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/nonexistent/10-kuberouter.conf" } };
const config: NodeConfig = { ...DEFAULT_CONFIG, runFirewall: false, runServiceProxy: false, enableCni: false, enablePodEgress: false, overlayEncap: "vxlan", hostnameOverride: "self" };
const n = 5000;
const nodes = [self, ...Array.from({ length: n }, (_, i) => peer(i + 1))];
const render = (s: ClusterSnapshot) => renderNode({ snapshot: s, config, host, nodeName: "self" }, [routerController]).map((r) => ({ controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) }));
const last = assemble(render(snapshotOf(nodes)), emptyNodeState()).desired;
for (let k = 0; k < 20; k++) {
  const added = snapshotOf([...nodes, peer(n + 1 + k)]);
  let t = performance.now();
  const r = render(added); const tr = performance.now() - t; t = performance.now();
  const { desired } = assemble(r, last); const ta = performance.now() - t; t = performance.now();
  const plan = diffNode(desired, last); const td = performance.now() - t;
  console.log(`render ${tr.toFixed(1)} assemble ${ta.toFixed(1)} diff ${td.toFixed(1)} fdb+${plan.fdb.length}`);
}
