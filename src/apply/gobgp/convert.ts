/**
 * The BGP tables of the model (model/bgp.ts) ↔ GoBGP v4 wire messages (pure).
 *
 * `*ToWire` build what the driver sends; `*FromWire` read what `GetBgp`/`List*` answer back
 * into the model, normalised exactly as the renderer renders (canonical IPs and CIDRs, sorted
 * unordered lists, GoBGP's defaults made explicit through `withGobgpDefaults`), so a converged
 * node diffs empty. What GoBGP does not store is carried where it can be read back:
 * - a peer's `kind` (ibgp / rr / external) travels in the peer's `description`;
 * - a peer's graceful restart `localRestarting` is what we always set (true).
 * A `*FromWire` never throws: an object it cannot read is returned as undefined (the driver
 * then reports it as unknown to us, so the diff replaces it).
 *
 * @category apply
 */
import type {
  BgpActions, BgpConditions, BgpDefinedSet, BgpDefinedSetType, BgpFamily, BgpGlobal, BgpMatchSet, BgpMatchType,
  BgpPath, BgpPeer, BgpPeerKind, BgpPolicy, BgpPolicyAssignment, BgpStatement,
} from "../../model/bgp.ts";
import { canonicalCidr, canonicalIp } from "../../model/ip.ts";
import type { Family } from "../../model/state.ts";
import { buildPath, parsePath } from "./paths.ts";
import { type PeerSpec, peerFromWire, peerToWire } from "./peers.ts";
import type {
  DefinedType, MatchType, PolicyDirection, RouteAction, WActions, WConditions, WDefinedSet, WGlobal, WMatchSet, WPath, WPeer,
  WPolicy, WPolicyAssignment, WStatement,
} from "./wire.ts";

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const ipOrSame = (ip: string): string => canonicalIp(ip) ?? ip;

// ---- global ----------------------------------------------------------------------------------

export function globalToWire(g: BgpGlobal): WGlobal {
  return {
    asn: g.asn,
    routerId: g.routerId,
    listenPort: g.listenPort,
    listenAddresses: [...g.listenAddresses],
    ...(g.gracefulRestart
      ? { gracefulRestart: { enabled: true, restartTime: g.gracefulRestart.restartTime, deferralTime: g.gracefulRestart.deferralTime, localRestarting: g.gracefulRestart.localRestarting } }
      : {}),
  };
}

/** undefined while BGP is not started (`asn === 0`). GoBGP reports no listen address as its default pair `0.0.0.0`, `::`. */
export function globalFromWire(w: WGlobal): BgpGlobal | undefined {
  if (!w.asn) return undefined;
  const gr = w.gracefulRestart;
  const listen = (w.listenAddresses ?? []).map(ipOrSame).sort(byText);
  return {
    asn: w.asn,
    routerId: ipOrSame(w.routerId),
    listenPort: w.listenPort ?? 179,
    listenAddresses: listen.length === 2 && listen[0] === "0.0.0.0" && listen[1] === "::" ? [] : listen,
    ...(gr?.enabled ? { gracefulRestart: { restartTime: gr.restartTime ?? 0, deferralTime: gr.deferralTime ?? 0, localRestarting: true } } : {}),
  };
}

// ---- peers -----------------------------------------------------------------------------------

const ipFam = (f: BgpFamily): Family => (f === "ipv6-unicast" ? "ipv6" : "ipv4");
const bgpFam = (f: Family): BgpFamily => (f === "ipv6" ? "ipv6-unicast" : "ipv4-unicast");
const KINDS: ReadonlySet<string> = new Set<BgpPeerKind>(["ibgp", "rr", "external"]);

function peerSpec(p: BgpPeer): PeerSpec {
  return {
    address: p.neighborAddress,
    asn: p.peerAsn,
    port: p.port,
    ...(p.localAddress !== undefined ? { localAddress: p.localAddress } : {}),
    ...(p.password !== undefined ? { password: p.password } : {}),
    ...(p.ebgpMultihopTtl !== undefined ? { multihopTtl: p.ebgpMultihopTtl } : {}),
    holdTime: p.holdTime,
    keepalive: p.keepaliveInterval,
    connectRetry: p.connectRetry,
    ...(p.routeReflectorClusterId !== undefined ? { rrClient: true, rrClusterId: p.routeReflectorClusterId } : {}),
    ...(p.gracefulRestart ? { gracefulRestart: { restartTime: p.gracefulRestart.restartTime, deferralTime: p.gracefulRestart.deferralTime } } : {}),
    ...(p.bfd
      ? { bfd: { port: p.bfd.port, detectMultiplier: p.bfd.detectionMultiplier, desiredMinTxUs: p.bfd.desiredMinTxInterval, requiredMinRxUs: p.bfd.requiredMinRxInterval } }
      : {}),
    families: p.families.map(ipFam),
  };
}

/** The `Peer` to add or update; throws one line for a peer GoBGP cannot take (bad address, ASN). */
export function peerModelToWire(p: BgpPeer): WPeer {
  const w = peerToWire(peerSpec(p));
  return { ...w, conf: { ...w.conf!, description: p.kind } };
}

/** A `ListPeer` peer as the model; undefined when it has no usable address. */
export function peerModelFromWire(w: WPeer): BgpPeer | undefined {
  const { spec } = peerFromWire(w);
  const address = canonicalIp(spec.address);
  if (address === undefined) return undefined;
  const description = w.conf?.description ?? "";
  const gr = w.gracefulRestart;
  return {
    kind: KINDS.has(description) ? (description as BgpPeerKind) : "external",
    neighborAddress: address,
    peerAsn: spec.asn,
    port: spec.port ?? 179,
    ...(spec.localAddress !== undefined ? { localAddress: ipOrSame(spec.localAddress) } : {}),
    ...(spec.password !== undefined ? { password: spec.password } : {}),
    ...(spec.multihopTtl !== undefined && spec.multihopTtl >= 2 ? { ebgpMultihopTtl: spec.multihopTtl } : {}),
    holdTime: spec.holdTime ?? 90,
    keepaliveInterval: spec.keepalive ?? Math.floor((spec.holdTime ?? 90) / 3),
    connectRetry: spec.connectRetry ?? 120,
    ...(spec.rrClient ? { routeReflectorClusterId: ipOrSame(spec.rrClusterId ?? "") } : {}),
    families: [...new Set((spec.families ?? []).map(bgpFam))].sort(byText),
    ...(gr?.enabled ? { gracefulRestart: { restartTime: gr.restartTime ?? 0, deferralTime: gr.deferralTime ?? 0, localRestarting: true } } : {}),
    ...(spec.bfd
      ? { bfd: { port: spec.bfd.port ?? 3784, detectionMultiplier: spec.bfd.detectMultiplier, desiredMinTxInterval: spec.bfd.desiredMinTxUs, requiredMinRxInterval: spec.bfd.requiredMinRxUs } }
      : {}),
  };
}

// ---- paths -----------------------------------------------------------------------------------

/** The `Path` of a local route; throws one line when malformed. */
export function pathModelToWire(p: BgpPath): WPath {
  return buildPath({
    prefix: p.prefix,
    nextHop: p.nextHop,
    communities: p.communities,
    ...(p.asPathPrepend ? { asPath: Array.from({ length: p.asPathPrepend.repeat }, () => p.asPathPrepend!.asn) } : {}),
  });
}

/** A locally originated path (neighbour "") as the model; undefined for learned or non-unicast paths. */
export function pathModelFromWire(w: WPath): BgpPath | undefined {
  const o = parsePath(w);
  if (o === undefined || o.neighbor !== "") return undefined;
  const prefix = canonicalCidr(o.prefix);
  if (prefix === undefined) return undefined;
  const first = o.asPath[0];
  return {
    family: o.family,
    prefix,
    nextHop: ipOrSame(o.nextHop),
    communities: o.communities,
    ...(first !== undefined ? { asPathPrepend: { asn: first, repeat: o.asPath.length } } : {}),
  };
}

// ---- defined sets ----------------------------------------------------------------------------

export const DEFINED_TYPE: Readonly<Record<BgpDefinedSetType, DefinedType>> = {
  "prefix": "DEFINED_TYPE_PREFIX",
  "neighbor": "DEFINED_TYPE_NEIGHBOR",
  "community": "DEFINED_TYPE_COMMUNITY",
  "ext-community": "DEFINED_TYPE_EXT_COMMUNITY",
  "large-community": "DEFINED_TYPE_LARGE_COMMUNITY",
  "as-path": "DEFINED_TYPE_AS_PATH",
  "next-hop": "DEFINED_TYPE_NEXT_HOP",
};
const SET_TYPE = new Map<string, BgpDefinedSetType>(Object.entries(DEFINED_TYPE).map(([k, v]) => [v, k as BgpDefinedSetType]));

/** The set with only these members (list items or `prefix min..max` keys of `s.prefixes`). */
export function definedSetToWire(s: BgpDefinedSet, only?: { readonly list?: readonly string[]; readonly prefixes?: readonly BgpDefinedSet["prefixes"][number][] }): WDefinedSet {
  const list = only ? only.list ?? [] : s.list;
  const prefixes = only ? only.prefixes ?? [] : s.prefixes;
  return {
    definedType: DEFINED_TYPE[s.type],
    name: s.name,
    ...(s.type === "prefix"
      ? { prefixes: prefixes.map((p) => ({ ipPrefix: p.prefix, maskLengthMin: p.maskLengthMin, maskLengthMax: p.maskLengthMax })) }
      : { list: [...list] }),
  };
}

export function definedSetFromWire(w: WDefinedSet): BgpDefinedSet | undefined {
  const type = SET_TYPE.get(w.definedType);
  if (type === undefined) return undefined;
  const norm = (item: string) => {
    const c = type === "neighbor" || type === "next-hop" ? canonicalCidr(item.includes("/") ? item : `${item}/${item.includes(":") ? 128 : 32}`) : undefined;
    return c ?? item;
  };
  return {
    type,
    name: w.name,
    list: type === "prefix" ? [] : [...new Set((w.list ?? []).map(norm))].sort(byText),
    prefixes: type === "prefix"
      ? (w.prefixes ?? []).map((p) => ({ prefix: canonicalCidr(p.ipPrefix) ?? p.ipPrefix, maskLengthMin: p.maskLengthMin, maskLengthMax: p.maskLengthMax }))
        .sort((a, b) => byText(a.prefix, b.prefix) || a.maskLengthMin - b.maskLengthMin || a.maskLengthMax - b.maskLengthMax)
      : [],
  };
}

/** The member keys of a set (list items, or `prefix min..max`). */
export function setMembers(s: BgpDefinedSet): Map<string, { list?: string; prefix?: BgpDefinedSet["prefixes"][number] }> {
  return s.type === "prefix"
    ? new Map(s.prefixes.map((p) => [`${p.prefix} ${p.maskLengthMin}..${p.maskLengthMax}`, { prefix: p }]))
    : new Map(s.list.map((i) => [i, { list: i }]));
}

// ---- policies --------------------------------------------------------------------------------

const MATCH: Readonly<Record<BgpMatchType, MatchType>> = { any: "TYPE_ANY", all: "TYPE_ALL", invert: "TYPE_INVERT" };
const MATCH_BACK = new Map<string, BgpMatchType>(Object.entries(MATCH).map(([k, v]) => [v, k as BgpMatchType]));
const ROUTE: Readonly<Record<BgpActions["route"], RouteAction>> = { accept: "ROUTE_ACTION_ACCEPT", reject: "ROUTE_ACTION_REJECT", none: "ROUTE_ACTION_UNSPECIFIED" };
const COMMUNITY_TYPE = { add: "TYPE_ADD", remove: "TYPE_REMOVE", replace: "TYPE_REPLACE" } as const;

const matchToWire = (m: BgpMatchSet): WMatchSet => ({ type: MATCH[m.match], name: m.name });
const matchFromWire = (m: WMatchSet | null | undefined): BgpMatchSet | undefined =>
  m && m.name !== "" ? { name: m.name, match: MATCH_BACK.get(m.type) ?? "any" } : undefined;

export function statementToWire(st: BgpStatement): WStatement {
  const c = st.conditions;
  const a = st.actions;
  const conditions: WConditions = {
    ...(c.prefixSet ? { prefixSet: matchToWire(c.prefixSet) } : {}),
    ...(c.neighborSet ? { neighborSet: matchToWire(c.neighborSet) } : {}),
  };
  const actions: WActions = {
    routeAction: ROUTE[a.route],
    ...(a.community ? { community: { type: COMMUNITY_TYPE[a.community.type], communities: [...a.community.communities] } } : {}),
    ...(a.asPrepend ? { asPrepend: { asn: a.asPrepend.asn, repeat: a.asPrepend.repeat } } : {}),
    ...(a.nexthopSelf ? { nexthop: { self: true } } : {}),
  };
  return { name: st.name, conditions, actions };
}

export function statementFromWire(w: WStatement): BgpStatement {
  const c = w.conditions;
  const a = w.actions;
  const prefixSet = matchFromWire(c?.prefixSet);
  const neighborSet = matchFromWire(c?.neighborSet);
  const conditions: BgpConditions = { ...(prefixSet ? { prefixSet } : {}), ...(neighborSet ? { neighborSet } : {}) };
  const route = a?.routeAction === "ROUTE_ACTION_ACCEPT" ? "accept" : a?.routeAction === "ROUTE_ACTION_REJECT" ? "reject" : "none";
  const ct = a?.community?.type;
  const community = a?.community && a.community.communities.length > 0
    ? { type: ct === "TYPE_REMOVE" ? "remove" as const : ct === "TYPE_REPLACE" ? "replace" as const : "add" as const, communities: [...a.community.communities] }
    : undefined;
  const actions: BgpActions = {
    route,
    ...(community ? { community } : {}),
    ...(a?.asPrepend && a.asPrepend.repeat > 0 ? { asPrepend: { asn: a.asPrepend.asn, repeat: a.asPrepend.repeat } } : {}),
    ...(a?.nexthop?.self ? { nexthopSelf: true } : {}),
  };
  return { name: w.name, conditions, actions };
}

export function policyToWire(p: BgpPolicy, statements: readonly BgpStatement[] = p.statements): WPolicy {
  return { name: p.name, statements: statements.map(statementToWire) };
}

/**
 * A `ListPolicy` policy as the model. Statements keep GoBGP's order, except that statements
 * also in `desiredOrder` are put in that order (an in-place update appends the statements it
 * re-adds; our statements match disjoint routes, so their order does not change the result).
 */
export function policyFromWire(w: WPolicy, desiredOrder?: readonly string[]): BgpPolicy {
  const statements = (w.statements ?? []).map(statementFromWire);
  if (desiredOrder !== undefined) {
    const rank = new Map(desiredOrder.map((n, i) => [n, i]));
    const indexed = statements.map((s, i) => ({ s, i, r: rank.get(s.name) ?? desiredOrder.length + i }));
    indexed.sort((a, b) => a.r - b.r || a.i - b.i);
    return { name: w.name, statements: indexed.map((x) => x.s) };
  }
  return { name: w.name, statements };
}

// ---- assignments -----------------------------------------------------------------------------

export const DIRECTION: Readonly<Record<BgpPolicyAssignment["direction"], PolicyDirection>> = { import: "POLICY_DIRECTION_IMPORT", export: "POLICY_DIRECTION_EXPORT" };

export function assignmentToWire(a: BgpPolicyAssignment): WPolicyAssignment {
  return {
    name: "global",
    direction: DIRECTION[a.direction],
    policies: a.policies.map((name) => ({ name })),
    defaultAction: a.defaultAction === "reject" ? "ROUTE_ACTION_REJECT" : "ROUTE_ACTION_ACCEPT",
  };
}

/** undefined for GoBGP's empty default (no policies, default accept): nothing assigned. */
export function assignmentFromWire(w: WPolicyAssignment): BgpPolicyAssignment | undefined {
  const direction = w.direction === "POLICY_DIRECTION_IMPORT" ? "import" : w.direction === "POLICY_DIRECTION_EXPORT" ? "export" : undefined;
  if (direction === undefined) return undefined;
  const policies = (w.policies ?? []).map((p) => p.name);
  const defaultAction = w.defaultAction === "ROUTE_ACTION_REJECT" ? "reject" : "accept";
  if (policies.length === 0 && defaultAction === "accept") return undefined;
  return { direction, policies, defaultAction };
}
