/**
 * `node --import tsx bench/proxy.ts [--size L] [--runs 41] [--no-kernel]`: the service proxy's
 * rows at one size (default L = 10,000 Services, ~150k IPVS real servers).
 *
 * - partial: one endpoint change (alternately removed and put back, in a different Service
 *   each run) → proxy render + diff against the previous render; p50 must be ≤ 20 ms and the
 *   plan must hold exactly the changed real server and nothing else (checked every run);
 * - cold render of the proxy alone (first render, memo empty) for reference;
 * - cold start, ipset + iptables side (root, in a fresh netns): our apply (the drivers'
 *   scripts run through the real exec) vs one bare `ipset restore` + `iptables-restore
 *   --noflush` of the same text, as a ratio (target ≤ 1.5).
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import type { EndpointSliceInfo } from "../src/model/cluster.ts";
import { diffNode, planTables } from "../src/model/plan.ts";
import { type NodeState, emptyNodeState } from "../src/model/state.ts";
import { renderProxy } from "../src/render/proxy/index.ts";
import { generateCluster } from "./gen.ts";
import { benchConfig, benchHost } from "./setup.ts";
import { median, round3 } from "./stats.ts";
import { proxyColdStart } from "./proxy-kernel.ts";

const { values } = parseArgs({ options: { size: { type: "string", default: "L" }, runs: { type: "string", default: "41" }, "no-kernel": { type: "boolean", default: false } } });
const g = generateCluster(values.size as "L");
const cni = "/nonexistent/kube-router-bench/10-kuberouter.conf";
const config = { ...benchConfig(g, cni), runRouter: false, runFirewall: false };
const host = benchHost(g, cni);
const asState = (r: ReturnType<typeof renderProxy>): NodeState => {
  if (!("ok" in r)) throw new Error(r.error);
  return { ...emptyNodeState(), ...r.ok.state } as NodeState;
};

let snap = g.snapshot;
const t0 = performance.now();
let prev = asState(renderProxy({ snapshot: snap, config, host, nodeName: g.selfNode }));
const coldRenderMs = performance.now() - t0;
const reals = prev.ipvsReals.size;

const sliceKeys = [...snap.endpointSlices.keys()].sort();
const runs = Number(values.runs);
const samples: number[] = [];
const renderSamples: number[] = [];
const diffSamples: number[] = [];
const removed = new Map<string, EndpointSliceInfo>();
const perChange: number[] = [];
for (let i = 0; i < runs + 3; i++) {
  // the cluster change (outside the timing: the snapshot store's work)
  const key = sliceKeys[(i * 7919) % sliceKeys.length]!;
  const before = snap.endpointSlices.get(key)!;
  const restore = removed.get(key);
  const after: EndpointSliceInfo = restore ?? { ...before, endpoints: before.endpoints.slice(1) };
  if (restore) removed.delete(key); else removed.set(key, before);
  const slices = new Map(snap.endpointSlices);
  slices.set(key, after);
  snap = { ...snap, endpointSlices: slices };
  // render + diff (timed)
  const s = performance.now();
  const next = asState(renderProxy({ snapshot: snap, config, host, nodeName: g.selfNode }));
  const rendered = performance.now();
  const plan = diffNode(next, prev);
  const end = performance.now();
  if (i >= 3) { samples.push(end - s); renderSamples.push(rendered - s); diffSamples.push(end - rendered); }
  // exactly the changed endpoint's real servers (one per virtual service of its Service: ClusterIP,
  // NodePort, LB…), nothing else
  const addr = (restore ?? before).endpoints[0]!.addresses[0]!;
  const other = planTables(plan).filter((t) => t.changes > 0 && t.table !== "ipvsReals").map((t) => t.table);
  const wrong = plan.ipvsReals.filter((c) => (c.op === "delete" ? c.before : c.after).address !== addr || c.op === "update");
  if (other.length > 0 || wrong.length > 0 || plan.ipvsReals.length === 0) throw new Error(`run ${i}: plan is not exactly the changed real server: ${other.join()} ${wrong.map((c) => c.key).join()}`);
  perChange.push(plan.ipvsReals.length);
  prev = next;
}
const p50 = median(samples);
const out: Record<string, unknown> = {
  size: g.spec.name, services: snap.services.size, reals,
  coldRenderMs: round3(coldRenderMs), partialRenderDiffP50Ms: round3(p50), partialMaxMs: round3(Math.max(...samples)),
  partialRenderP50Ms: round3(median(renderSamples)), partialDiffP50Ms: round3(median(diffSamples)),
  realChangesPerEndpointChange: [...new Set(perChange)].sort(),
  partialTarget: "≤ 20 ms", partialOk: p50 <= 20,
};
if (!values["no-kernel"]) out["coldStart"] = await proxyColdStart({ snapshot: g.snapshot, config, host, nodeName: g.selfNode }, g);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
