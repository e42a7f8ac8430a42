/**
 * The bgp controller (`--run-router`): the node's desired GoBGP state (renderBgp) and the
 * kernel routes for paths learned from peers (learnedRoutes), as its own lane beside the
 * router, so a BGP render error or a gobgpd outage never stops kube-bridge, the pod routes to
 * other nodes or the firewall.
 *
 * It owns the six BGP tables (everything in our own gobgpd) and, in the `routes` table, the
 * learned routes: proto 17, main table, a prefix that is no node's pod CIDR
 * (model/ownership.ts `bgpLearnedRoutes`; the router owns the pod-CIDR ones). Learned paths
 * come in as host facts (`host.learnedPaths`, read by the gobgp driver before render; absent =
 * none known, e.g. dry-run without gobgpd). The learned routes come out as a ChunkedTable that
 * keeps the identity of unchanged chunks (learned.ts), so a best-path event costs what changed. Pure.
 *
 * @category render
 */
import type { Controller, ControllerResult, RenderInput } from "../controller.ts";
import { learnedRouteTable } from "./learned.ts";
import { renderBgp } from "./render.ts";

function renderBgpController(input: RenderInput): ControllerResult {
  const r = renderBgp(input);
  if ("error" in r) return r;
  const learned = learnedRouteTable(input, input.host.learnedPaths ?? new Map());
  return {
    ok: {
      state: { ...r.ok.state, routes: learned.routes },
      warnings: [...r.ok.warnings, ...learned.warnings],
    },
  };
}

/**
 * The bgp controller: on with `--run-router`, except in one-shot runs (`--once`): BGP lives in
 * the agent's own gobgpd, which lives only as long as the agent, so a one-shot sync leaves BGP
 * (and learned routes) alone, and `--once --dry-run` shows exactly that. The long-running
 * agent, `--dry-run` included, plans and applies BGP.
 */
export const bgpController: Controller = {
  name: "bgp",
  enabled: (cfg) => cfg.runRouter && !cfg.once,
  render: renderBgpController,
};
