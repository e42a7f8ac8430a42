/** Test support for the BGP render: builders (shared with the proxy tests) and small views of the output. */
import assert from "node:assert/strict";
import type { NodeInfo } from "../../../src/model/cluster.ts";
import type { NodeConfig } from "../../../src/model/config.ts";
import type { BgpHostFacts } from "../../../src/model/bgp.ts";
import type { HostFacts } from "../../../src/model/host.ts";
import type { ClusterSnapshot } from "../../../src/model/cluster.ts";
import { type Change, diffTable } from "../../../src/model/table.ts";
import { type BgpRenderInput, type BgpState, BGP_TABLE_NAMES, bgpChangeText, renderBgp } from "../../../src/render/bgp/index.ts";
import { HOST, input as proxyInput, node, pod, service, slice, snapshot } from "../proxy/support.ts";

export { HOST, node, pod, service, slice, snapshot };

export const input = (snap: ClusterSnapshot, cfg: Partial<NodeConfig> = {}, host: HostFacts & BgpHostFacts = HOST): BgpRenderInput =>
  proxyInput(snap, cfg, host);

/** A node with annotations. */
export const annotated = (name: string, ip: string, cidr: string, annotations: Record<string, string>, extra: Partial<NodeInfo> = {}): NodeInfo =>
  node(name, ip, cidr, { annotations, ...extra });

/** The rendered state; fails the test on a render error. */
export function render(i: BgpRenderInput): { state: BgpState; warnings: readonly string[] } {
  const r = renderBgp(i);
  assert.ok("ok" in r, "error" in r ? r.error : "");
  return r.ok;
}

/** The whole state as `gobgp` commands (every table created from nothing), in table order. */
export function gobgpText(state: BgpState): string[] {
  return BGP_TABLE_NAMES.flatMap((t) => diffTable(state[t] as ReadonlyMap<string, unknown>, new Map()).flatMap((c) => bgpChangeText(t, c as Change<unknown>)));
}

/** The lines of one table. */
export function tableText(state: BgpState, t: keyof BgpState): string[] {
  return diffTable(state[t] as ReadonlyMap<string, unknown>, new Map()).flatMap((c) => bgpChangeText(t, c as Change<unknown>));
}
