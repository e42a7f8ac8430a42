/**
 * renderNode: (ClusterSnapshot, NodeConfig, HostFacts, node name) → per-controller renders.
 * Pure. Every warning and error line it returns is one line (control characters escaped). The engine assembles them against observed state (assemble.ts).
 *
 * @category render
 */
import type { ClusterSnapshot } from "../model/cluster.ts";
import { oneLine } from "../model/one-line.ts";
import { deepEqual } from "../model/table.ts";
import type { Controller, ControllerResult, RenderInput } from "./controller.ts";
import { CONTROLLERS } from "./controllers.ts";

export interface ControllerRender {
  readonly controller: Controller;
  /** "rendered" | "disabled" (flag off) | "not-built" (flag on, controller not built yet) | "failed". */
  readonly status: "rendered" | "disabled" | "not-built" | "failed";
  readonly result?: ControllerResult;
}

interface Memo {
  readonly input: RenderInput;
  readonly controllers: readonly Controller[];
  readonly out: ControllerRender[];
}
/**
 * The last render per snapshot object. A full resync of an unchanged cluster passes the same
 * snapshot (sources share structure and keep the object when nothing changed) with the same
 * config and equal host facts: it gets the previous (equal) result without re-rendering.
 * Never changes a result: render is a pure function of exactly these inputs.
 */
const memo = new WeakMap<ClusterSnapshot, Memo>();

/** Renders every controller; never throws on bad input (errors are data in `result`). */
export function renderNode(input: RenderInput, controllers: readonly Controller[] = CONTROLLERS): ControllerRender[] {
  const hit = memo.get(input.snapshot);
  if (hit && hit.controllers === controllers && hit.input.config === input.config && hit.input.nodeName === input.nodeName && deepEqual(hit.input.host, input.host)) {
    return [...hit.out];
  }
  const out = renderAll(input, controllers);
  memo.set(input.snapshot, { input, controllers, out });
  return [...out];
}

function renderAll(input: RenderInput, controllers: readonly Controller[]): ControllerRender[] {
  return controllers.map((controller) => {
    if (!controller.enabled(input.config)) return { controller, status: "disabled" };
    if (controller.render === undefined) return { controller, status: "not-built" };
    const result = oneLineWarnings(controller.render(input));
    return { controller, status: "ok" in result ? "rendered" : "failed", result };
  });
}

/** The result with every warning and error on one line (input values may hold line breaks). */
function oneLineWarnings(r: ControllerResult): ControllerResult {
  if ("ok" in r) return { ok: { ...r.ok, warnings: r.ok.warnings.map(oneLine) } };
  return { error: oneLine(r.error), warnings: r.warnings.map(oneLine) };
}

export type { RenderInput } from "./controller.ts";
