/**
 * The pure rows of one size: render (renderNode + assemble against an empty observed state),
 * diff cold (desired vs empty), diff no-op (desired vs a structural copy of itself, so equal
 * objects are compared field by field as after a real observe, not short-cut by identity),
 * compile (every script's text), each the median of several runs after one warm-up, plus
 * what the desired state holds.
 */
import { compilePlan } from "../src/agent/engine.ts";
import { type NodePlan, diffNode, isEmptyPlan, planSummary } from "../src/model/plan.ts";
import { type NodeState, TABLE_NAMES, emptyNodeState } from "../src/model/state.ts";
import { type Rendered, assemble } from "../src/render/assemble.ts";
import { renderNode } from "../src/render/index.ts";
import type { GeneratedCluster } from "./gen.ts";
import { benchConfig, benchHost, pureDrivers } from "./setup.ts";
import { type Samples, repeat } from "./stats.ts";

export interface DesiredCounts {
  readonly routes: number;
  readonly ipsets: number;
  readonly ipsetMembers: number;
  readonly chains: number;
  readonly chainRules: number;
  readonly jumps: number;
  readonly links: number;
  readonly sysctls: number;
  readonly files: number;
}

export interface PureResult {
  readonly renderMs: Samples;
  readonly diffColdMs: Samples;
  readonly diffNoopMs: Samples;
  readonly compileMs: Samples;
  readonly desired: DesiredCounts;
  /** `Plan: A to add, …` of the cold plan. */
  readonly coldPlan: string;
  readonly scripts: number;
  readonly scriptBytes: number;
  /** Controller → status (rendered, disabled, not-built). */
  readonly controllers: Readonly<Record<string, string>>;
}

/** Renders and assembles node 0's desired state; throws if a controller fails to render. */
export function renderDesired(g: GeneratedCluster, cniConfFile: string): { desired: NodeState; controllers: Record<string, string> } {
  const input = { snapshot: g.snapshot, config: benchConfig(g, cniConfFile), host: benchHost(g, cniConfFile), nodeName: g.selfNode };
  const controllers: Record<string, string> = {};
  const rendered: Rendered[] = renderNode(input).map((r) => {
    controllers[r.controller.name] = r.status;
    if (r.result && "error" in r.result) throw new Error(`render ${r.controller.name}: ${r.result.error}`);
    return { controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) };
  });
  return { desired: assemble(rendered, emptyNodeState()).desired, controllers };
}

function countDesired(d: NodeState): DesiredCounts {
  let ipsetMembers = 0;
  for (const s of d.ipsets.values()) ipsetMembers += s.members.size;
  let chainRules = 0;
  for (const c of d.chains.values()) chainRules += c.rules.length;
  return {
    routes: d.routes.size, ipsets: d.ipsets.size, ipsetMembers, chains: d.chains.size, chainRules,
    jumps: d.jumps.size, links: d.links.size, sysctls: d.sysctls.size, files: d.files.size,
  };
}

/** Measures the pure rows of `g` with `runs` timed runs each. */
export function runPure(g: GeneratedCluster, runs: number): PureResult {
  const cni = "/nonexistent/kube-router-bench/10-kuberouter.conf";
  const drivers = pureDrivers();
  const empty = emptyNodeState();

  const renderMs = repeat(runs, 1, () => renderDesired(g, cni));
  const { desired, controllers } = renderDesired(g, cni);

  let cold: NodePlan = diffNode(desired, empty);
  const diffColdMs = repeat(runs, 1, () => { cold = diffNode(desired, empty); });

  // an equal state sharing no objects with desired, in plain Maps (as observe builds it)
  const observed = Object.fromEntries(TABLE_NAMES.map((t) => [t, new Map([...desired[t]].map(([k, v]) => [k, structuredClone(v)]))])) as unknown as NodeState;
  let noop: NodePlan = diffNode(desired, observed);
  const diffNoopMs = repeat(runs, 1, () => { noop = diffNode(desired, observed); });
  if (!isEmptyPlan(noop)) throw new Error(`${g.spec.name}: no-op diff is not empty: ${planSummary(noop)}`);

  let text = "";
  const compileMs = repeat(runs, 1, () => { text = compilePlan(drivers, cold).map((s) => s.text).join(""); });

  return {
    renderMs, diffColdMs, diffNoopMs, compileMs,
    desired: countDesired(desired),
    coldPlan: planSummary(cold),
    scripts: compilePlan(drivers, cold).length,
    scriptBytes: Buffer.byteLength(text),
    controllers,
  };
}
