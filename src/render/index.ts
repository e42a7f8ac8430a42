/**
 * renderNode: (ClusterSnapshot, NodeConfig, HostFacts, node name) → per-controller renders.
 * Pure. The engine assembles them against observed state (assemble.ts).
 *
 * @category render
 */
import type { Controller, ControllerResult, RenderInput } from "./controller.ts";
import { CONTROLLERS } from "./controllers.ts";

export interface ControllerRender {
  readonly controller: Controller;
  /** "rendered" | "disabled" (flag off) | "not-built" (flag on, controller not built yet) | "failed". */
  readonly status: "rendered" | "disabled" | "not-built" | "failed";
  readonly result?: ControllerResult;
}

/** Renders every controller; never throws on bad input (errors are data in `result`). */
export function renderNode(input: RenderInput, controllers: readonly Controller[] = CONTROLLERS): ControllerRender[] {
  return controllers.map((controller) => {
    if (!controller.enabled(input.config)) return { controller, status: "disabled" };
    if (controller.render === undefined) return { controller, status: "not-built" };
    const result = controller.render(input);
    return { controller, status: "ok" in result ? "rendered" : "failed", result };
  });
}

export type { RenderInput } from "./controller.ts";
