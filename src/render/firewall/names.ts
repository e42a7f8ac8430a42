/**
 * Names of the firewall's chains and ipsets. Pure and stable: every per-object name is
 * `prefix + hashName(identity)` (kube-router's recipe, names.ts), where the identity is the
 * object's place in the cluster and never a per-sync version, so an unchanged object keeps its
 * name across syncs, restarts and nodes.
 *
 * Identities (namespace and object names cannot contain `/`, so they never collide):
 *
 * | object | identity | name |
 * |---|---|---|
 * | pod chain | `pod/<ns>/<pod>` | `KUBE-POD-FW-<H>` |
 * | policy chain, one per covered direction | `policy/<ns>/<name>/<dir>` | `KUBE-NWPLCY-<H>` |
 * | target set (local targets) | `targets/<ns>/<name>/<dir>` | ingress `KUBE-DST-<H>`, egress `KUBE-SRC-<H>` |
 * | rule i pod peers | `peers/<ns>/<name>/<dir>/<i>` | ingress `KUBE-SRC-<H>`, egress `KUBE-DST-<H>` |
 * | rule i ipBlock peer k | `ipblock/<ns>/<name>/<dir>/<i>/<k>` | same prefixes, `hash:net` |
 * | rule i named port | `namedport/<ns>/<name>/<dir>/<i>/<port>/<proto>/<number>[/<scope>]` | `KUBE-DST-<H>` |
 *
 * `<dir>` is `ingress` or `egress`. IPv6 sets carry upstream's `inet6:` prefix (the chains live
 * in ip6tables, so they keep the IPv4 name). Fixed names are upstream's.
 *
 * Departures from upstream (kube-router-features.md §4.1): no sync version in chain names;
 * separate chains per direction (upstream's one chain per policy lets one target's egress
 * allowance open another target's ingress); one ipBlock set per peer (upstream's one set per
 * rule mixes `nomatch` entries of different peers); named-port sets keyed by the resolved
 * protocol and number instead of a map-iteration index.
 *
 * @category render
 */
import { FIREWALL_TOP_CHAIN, hashName, ipsetName } from "../../model/names.ts";
import type { Family } from "../../model/state.ts";

export type Direction = "ingress" | "egress";

export const CHAIN = {
  ...FIREWALL_TOP_CHAIN,
  default: "KUBE-NWPLCY-DEFAULT",
  common: "KUBE-NWPLCY-COMMON",
  tail: "KUBE-NWPLCY-TAIL",
} as const;

/** The identity and chain name of a pod's firewall chain. */
export const podIdentity = (ns: string, pod: string): string => `pod/${ns}/${pod}`;
export const podChainName = (ns: string, pod: string): string => `KUBE-POD-FW-${hashName(podIdentity(ns, pod))}`;

/** The chain of one direction of a policy. */
export const policyIdentity = (ns: string, name: string, dir: Direction): string => `policy/${ns}/${name}/${dir}`;
export const policyChainName = (ns: string, name: string, dir: Direction): string => `KUBE-NWPLCY-${hashName(policyIdentity(ns, name, dir))}`;

/** Prefix of the set matched on the traffic's source (`src`) or destination (`dst`). */
const prefix = (side: "src" | "dst"): string => (side === "src" ? "KUBE-SRC-" : "KUBE-DST-");
const set = (side: "src" | "dst", identity: string, family: Family): string => ipsetName(prefix(side) + hashName(identity), family);

/** The set of a policy's local target pods: ingress matches them as `dst`, egress as `src`. */
export const targetSetName = (ns: string, name: string, dir: Direction, family: Family): string =>
  set(dir === "ingress" ? "dst" : "src", `targets/${ns}/${name}/${dir}`, family);

/** The set of pods selected by the pod peers of rule `i` (ingress: sources; egress: destinations). */
export const peerSetName = (ns: string, name: string, dir: Direction, i: number, family: Family): string =>
  set(dir === "ingress" ? "src" : "dst", `peers/${ns}/${name}/${dir}/${i}`, family);

/** The `hash:net` set of ipBlock peer `k` of rule `i`. */
export const ipBlockSetName = (ns: string, name: string, dir: Direction, i: number, k: number, family: Family): string =>
  set(dir === "ingress" ? "src" : "dst", `ipblock/${ns}/${name}/${dir}/${i}/${k}`, family);

/**
 * The set of destination pods exposing a named port as `proto`/`number`, for rule `i`.
 * `scope` tells the sets of one rule apart: ingress sets hold local targets (`targets`),
 * egress sets hold the rule's pod peers (`peers`) or every pod of the cluster (`all`).
 */
export const namedPortSetName = (
  ns: string, name: string, dir: Direction, i: number, port: string, proto: string, number: number, scope: "targets" | "peers" | "all", family: Family,
): string => set("dst", `namedport/${ns}/${name}/${dir}/${i}/${port}/${proto}/${number}/${scope}`, family);
