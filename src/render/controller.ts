/**
 * The controller contract for renderers. A controller renders its part of the node's desired
 * state; what it owns is declared per table in the registry (model/ownership.ts), so that when
 * it is disabled, not built yet, or fails to render, the engine keeps its objects exactly as
 * observed instead of pruning them
 * (one controller's failure never touches another's state; upstream never cleans a disabled
 * controller's objects either, that is `--cleanup-config`'s job).
 *
 * @category render
 */
import type { ClusterSnapshot } from "../model/cluster.ts";
import type { NodeConfig } from "../model/config.ts";
import type { HostFacts } from "../model/host.ts";
import type { ControllerName } from "../model/ownership.ts";
import type { NodeState } from "../model/state.ts";

export type { ControllerName } from "../model/ownership.ts";

export interface RenderInput {
  readonly snapshot: ClusterSnapshot;
  readonly config: NodeConfig;
  readonly host: HostFacts;
  /** This node's name (--hostname-override, else NODE_NAME, else hostname), resolved by the shell. */
  readonly nodeName: string;
}

/** What a controller rendered: some tables, plus one-line warnings about skipped input. */
export interface ControllerOutput {
  readonly state: Partial<NodeState>;
  readonly warnings: readonly string[];
}

/** A controller's render: its output, or one error line (the controller is skipped this sync). */
export type ControllerResult =
  | { readonly ok: ControllerOutput }
  | { readonly error: string; readonly warnings: readonly string[] };

export interface Controller {
  readonly name: ControllerName;
  /** True when the controller's flag turns it on. */
  enabled(config: NodeConfig): boolean;
  /** Pure render; undefined while the controller is not built yet. */
  readonly render?: (input: RenderInput) => ControllerResult;
}
