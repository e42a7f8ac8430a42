/**
 * The BGP renderer: desired GoBGP state (global, peers, paths, defined sets, policies,
 * assignments), learned-path kernel routes, and the `gobgp` CLI printers. Pure.
 *
 * @category render
 */
export { type BgpRenderInput, type BgpRenderResult, renderBgp, routerId } from "./render.ts";
export { type BgpState, type BgpTableName, BGP_TABLE_NAMES } from "../../model/bgp.ts";
export { type LearnedRoutesInput, learnedRouteTable, learnedRoutes } from "./learned.ts";
export { assignmentText, bgpChangeText, BGP_TEXT, definedSetText, globalText, pathText, peerText, policyText, statementLines } from "./gobgp-text.ts";
export { NODE_ANNOTATION } from "./node.ts";
export { ADVERTISE_ANNOTATION } from "./paths.ts";
