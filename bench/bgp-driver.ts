/**
 * `node --import tsx bench/bgp-driver.ts [--paths N] [--peers P] [--rounds R]`: the gobgp
 * driver at scale L (issue 10: 150 peers, 10k VIP paths) against one real gobgpd v4.8 (unix
 * socket in a temp dir, BGP listening on no port, no network): the first apply (one script:
 * StartBgp, sets, policies, assignments, one AddPathStream, 150 AddPeer), then a no-op sync
 * (host facts + observe + diff) compared with the bare List* calls alone (target ≤ 1.5×), and
 * the mutating calls it made (target 0). Prints one line per measurement.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gobgpDriver } from "../src/apply/gobgp/driver.ts";
import { FAMILY_IPV4, FAMILY_IPV6 } from "../src/apply/gobgp/paths.ts";
import type { BgpPath, BgpPeer } from "../src/model/bgp.ts";
import { diffNode, emptyPlan, isEmptyPlan, planSummary } from "../src/model/plan.ts";
import { buildNodeState, emptyNodeState, type NodeState } from "../src/model/state.ts";
import { sortedTable } from "../src/model/table.ts";

const { values } = parseArgs({ options: { paths: { type: "string", default: "10000" }, peers: { type: "string", default: "150" }, rounds: { type: "string", default: "10" } } });
const N = Number(values.paths);
const P = Number(values.peers);
const R = Number(values.rounds);
const f = (x: number): string => x.toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function desired(): NodeState {
  const self = "10.250.0.1";
  const peers: BgpPeer[] = Array.from({ length: P }, (_, i) => ({
    kind: "ibgp", neighborAddress: `10.251.${Math.floor(i / 250)}.${(i % 250) + 1}`, peerAsn: 64512, port: 179, localAddress: self,
    holdTime: 90, keepaliveInterval: 30, connectRetry: 5, families: ["ipv4-unicast"],
  }));
  const paths: BgpPath[] = [{ family: "ipv4", prefix: "10.244.1.0/24", nextHop: self, communities: [] }, ...Array.from({ length: N }, (_, i): BgpPath => ({
    family: "ipv4", prefix: `10.96.${Math.floor(i / 256)}.${i % 256}/32`, nextHop: self, communities: [],
  }))];
  const base = emptyNodeState();
  return buildNodeState((t) => {
    switch (t) {
      case "bgpGlobal": return sortedTable([["global", { asn: 64512, routerId: self, listenPort: -1, listenAddresses: [] }]]) as never;
      case "bgpPeers": return sortedTable(peers.map((p) => [p.neighborAddress, p])) as never;
      case "bgpPaths": return sortedTable(paths.map((p) => [`${p.family}/${p.prefix}`, p])) as never;
      case "bgpDefinedSets": return sortedTable([
        ["neighbor/iBGPpeerset", { type: "neighbor", name: "iBGPpeerset", list: peers.map((p) => `${p.neighborAddress}/32`).sort(), prefixes: [] }],
        ["prefix/podcidrdefinedset", { type: "prefix", name: "podcidrdefinedset", list: [], prefixes: [{ prefix: "10.244.1.0/24", maskLengthMin: 24, maskLengthMax: 24 }] }],
      ]) as never;
      case "bgpPolicies": return sortedTable([["kube_router_export", { name: "kube_router_export", statements: [{ name: "podcidrdefinedsetiBGPpeerset", conditions: { prefixSet: { name: "podcidrdefinedset", match: "any" }, neighborSet: { name: "iBGPpeerset", match: "any" } }, actions: { route: "accept" } }] }]]) as never;
      case "bgpAssignments": return sortedTable([["export", { direction: "export", policies: ["kube_router_export"], defaultAction: "reject" }]]) as never;
      default: return base[t];
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), "kbg-bench-"));
const driver = gobgpDriver({ stateDir: dir, planOnly: false, families: ["ipv4"] });
const exec = { run: async () => { throw new Error("no process"); } };
try {
  await driver.start?.();
  const want = desired();
  const observe = async () => {
    await driver.hostFacts?.();
    return { ...emptyNodeState(), ...(await driver.observe(exec, want)) } as NodeState;
  };
  let t = performance.now();
  const plan = diffNode(want, await observe());
  const scripts = driver.scripts(plan);
  const t1 = performance.now();
  for (const s of scripts) await s.run(exec);
  console.log(`first apply: ${planSummary(plan)} in ${f(performance.now() - t1)} ms (observe+diff ${f(t1 - t)} ms; ${driver.api.callCounts().byRpc["AddPathStream"] ?? 0} AddPathStream)`);
  const after = diffNode(want, await observe());
  if (!isEmptyPlan({ ...emptyPlan(), ...after })) throw new Error(`not converged: ${planSummary(after)}`);
  const before = driver.api.callCounts().mutating;
  const noop: number[] = [];
  const bare: number[] = [];
  const api = driver.api;
  for (let i = 0; i < R; i++) {
    t = performance.now();
    // a full no-op sync's BGP part: host facts (learned paths), observe, diff
    const p = diffNode(want, await observe());
    noop.push(performance.now() - t);
    if (!isEmptyPlan(p)) throw new Error("no-op sync planned changes");
    t = performance.now();
    await Promise.all([api.getBgp(), api.listPeer(), api.listDefinedSet("DEFINED_TYPE_PREFIX"), api.listDefinedSet("DEFINED_TYPE_NEIGHBOR"), api.listPolicy(),
      api.listPolicyAssignment("global", "POLICY_DIRECTION_IMPORT"), api.listPolicyAssignment("global", "POLICY_DIRECTION_EXPORT"), api.listPath(FAMILY_IPV4)]);
    bare.push(performance.now() - t);
  }
  void FAMILY_IPV6;
  const ratio = median(noop) / median(bare);
  console.log(`no-op sync at ${P} peers, ${N + 1} paths: median ${f(median(noop))} ms vs bare List* ${f(median(bare))} ms = ${ratio.toFixed(2)}x (target <= 1.5x); mutating calls ${driver.api.callCounts().mutating - before}`);
} finally {
  await driver.stop?.();
  rmSync(dir, { recursive: true, force: true });
}
