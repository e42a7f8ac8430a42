/**
 * The BGP tables of the node's desired and observed state (DESIGN.md §4): GoBGP's global
 * config, peers, locally originated paths (the node's RIB-out), defined sets, policies and the
 * global RIB's policy assignments. Plain readonly data; each type's key function sits next
 * to it.
 *
 * Every type is a faithful subset of GoBGP's gRPC API (v4, `api.Global`, `api.Peer`,
 * `api.Path`, `api.DefinedSet`, `api.Policy`, `api.PolicyAssignment`), so a driver maps each
 * field 1:1 and an observed object (from `List*`) normalised the same way compares equal to
 * the rendered one when nothing differs. Units are GoBGP's: seconds for BGP timers,
 * microseconds for BFD intervals. Lists whose order is not meaningful to GoBGP (listen
 * addresses, families, defined-set members) are sorted by the renderer; ordered ones
 * (policy statements, assigned policies) keep their order.
 *
 * Also here: the BGP facts the shell gathers before render (learned paths, the
 * `--peer-router-passwords-file` content), because render does no I/O.
 *
 * @category models
 */
import type { Family } from "./state.ts";
import type { Table } from "./table.ts";

/** GoBGP's family name for the two families we speak (AFI/SAFI IPv4/IPv6 unicast). */
export type BgpFamily = "ipv4-unicast" | "ipv6-unicast";
/** The GoBGP family of an IP family. */
export const bgpFamilyOf = (f: Family): BgpFamily => (f === "ipv6" ? "ipv6-unicast" : "ipv4-unicast");

// ---------------------------------------------------------------------------------------------
// global

/** RFC 4724 graceful restart, as GoBGP's `GracefulRestart` config (seconds). */
export interface BgpGracefulRestart {
  readonly restartTime: number;
  readonly deferralTime: number;
  /** Set on every peer (upstream kube-router: `localRestarting: true`). */
  readonly localRestarting: boolean;
}

/**
 * `StartBgp { global }`: one entry, key "global". Changing `asn`, `routerId`, `listenPort` or
 * `listenAddresses` needs a gobgpd restart (GoBGP cannot change them on a running server);
 * that is the driver's business.
 */
export interface BgpGlobal {
  readonly asn: number;
  /** IPv4 dotted quad. */
  readonly routerId: string;
  /** TCP port gobgpd listens on for BGP (`--bgp-port`). */
  readonly listenPort: number;
  /** Sorted, canonical. */
  readonly listenAddresses: readonly string[];
  readonly gracefulRestart?: BgpGracefulRestart;
}
export const BGP_GLOBAL_KEY = "global";
export const bgpGlobalKey = (_g?: BgpGlobal): string => BGP_GLOBAL_KEY;

// ---------------------------------------------------------------------------------------------
// peers

/** BFD for one peer (GoBGP ≥ 4.5 `api.Peer.bfd`); intervals in microseconds. */
export interface BgpBfd {
  readonly port: number;
  readonly detectionMultiplier: number;
  readonly desiredMinTxInterval: number;
  readonly requiredMinRxInterval: number;
}

/**
 * What a peer is to us: `ibgp` another node of the full mesh (or of our ASN), `rr` another
 * node in a route-reflector relation (we are its client, or it is ours), `external` a router
 * from `--peer-router-*` or the node's peer annotations. Not sent to GoBGP; it explains the
 * peer in plans and metrics.
 */
export type BgpPeerKind = "ibgp" | "rr" | "external";

/**
 * `AddPeer { peer }`. Key = canonical neighbour address. Absent optional fields are GoBGP's
 * defaults. `password` is the plain TCP-MD5 secret (already base64-decoded) and must never be
 * printed or logged.
 */
export interface BgpPeer {
  readonly kind: BgpPeerKind;
  readonly neighborAddress: string;
  readonly peerAsn: number;
  /** Remote TCP port (`transport.remotePort`). */
  readonly port: number;
  /** `transport.localAddress`. */
  readonly localAddress?: string;
  readonly password?: string;
  /** `ebgpMultihop { enabled: true, multihopTtl }`, only when ≥ 2. */
  readonly ebgpMultihopTtl?: number;
  /** `timers.config` (seconds). */
  readonly holdTime: number;
  readonly keepaliveInterval: number;
  readonly connectRetry: number;
  /** `routeReflector { routeReflectorClient: true, routeReflectorClusterId }` (IPv4 form). */
  readonly routeReflectorClusterId?: string;
  /** `afiSafis`, sorted (ipv4 first); each with MP graceful restart when `gracefulRestart` is set. */
  readonly families: readonly BgpFamily[];
  readonly gracefulRestart?: BgpGracefulRestart;
  readonly bfd?: BgpBfd;
}
export const bgpPeerKey = (p: Pick<BgpPeer, "neighborAddress">): string => p.neighborAddress;

// ---------------------------------------------------------------------------------------------
// paths

/**
 * A locally originated path (`AddPath` on the global table): NLRI prefix, ORIGIN IGP and the
 * next hop (NEXT_HOP for IPv4, MP_REACH_NLRI for IPv6; always of the prefix's family).
 * `communities` (`a:b` form) and `asPathPrepend` are path attributes GoBGP can carry; the
 * renderer leaves them empty (upstream sets communities and prepends through the export
 * policy, so iBGP peers never see them) — they exist so an observed path that carries them
 * differs from the rendered one and is repaired.
 */
export interface BgpPath {
  readonly family: Family;
  /** Canonical CIDR (host bits cleared). */
  readonly prefix: string;
  readonly nextHop: string;
  readonly communities: readonly string[];
  readonly asPathPrepend?: { readonly asn: number; readonly repeat: number };
}
export const bgpPathKey = (p: Pick<BgpPath, "family" | "prefix">): string => `${p.family}/${p.prefix}`;

// ---------------------------------------------------------------------------------------------
// defined sets, policies, assignments

export type BgpDefinedSetType = "prefix" | "neighbor" | "community" | "ext-community" | "large-community" | "as-path" | "next-hop";

/** One prefix of a prefix set: `ipPrefix` with a mask-length range (GoBGP `Prefix`). */
export interface BgpPrefixMatch {
  readonly prefix: string;
  readonly maskLengthMin: number;
  readonly maskLengthMax: number;
}

/**
 * `AddDefinedSet { definedSet }`. Prefix sets carry `prefixes`, every other type `list`
 * (neighbor sets: `ip/32` or `ip/128`). Both sorted. Key `type/name`.
 * The renderer never renders an empty set: an empty set in an ANY match matches everything.
 */
export interface BgpDefinedSet {
  readonly type: BgpDefinedSetType;
  readonly name: string;
  readonly list: readonly string[];
  readonly prefixes: readonly BgpPrefixMatch[];
}
export const bgpDefinedSetKey = (s: Pick<BgpDefinedSet, "type" | "name">): string => `${s.type}/${s.name}`;

export type BgpMatchType = "any" | "all" | "invert";
export interface BgpMatchSet {
  readonly name: string;
  readonly match: BgpMatchType;
}

/** A statement's conditions (GoBGP `Conditions`, the subset we use). */
export interface BgpConditions {
  readonly prefixSet?: BgpMatchSet;
  readonly neighborSet?: BgpMatchSet;
}
/** A statement's actions (GoBGP `Actions`, the subset we use). */
export interface BgpActions {
  readonly route: "accept" | "reject" | "none";
  /** `community { type, communities }`, `a:b` form. */
  readonly community?: { readonly type: "add" | "remove" | "replace"; readonly communities: readonly string[] };
  readonly asPrepend?: { readonly asn: number; readonly repeat: number };
  /** `nexthop { self: true }`. */
  readonly nexthopSelf?: boolean;
}
export interface BgpStatement {
  readonly name: string;
  readonly conditions: BgpConditions;
  readonly actions: BgpActions;
}

/** `AddPolicy { policy }` with its statements inline, in order. Key = name. */
export interface BgpPolicy {
  readonly name: string;
  readonly statements: readonly BgpStatement[];
}
export const bgpPolicyKey = (p: Pick<BgpPolicy, "name">): string => p.name;

export type BgpDirection = "import" | "export";
/** `AddPolicyAssignment` on the global RIB (`name: "global"`). Key = direction. */
export interface BgpPolicyAssignment {
  readonly direction: BgpDirection;
  /** Policy names, in order. */
  readonly policies: readonly string[];
  readonly defaultAction: "accept" | "reject";
}
export const bgpAssignmentKey = (a: Pick<BgpPolicyAssignment, "direction">): string => a.direction;

// ---------------------------------------------------------------------------------------------
// what the shell observes for render

/**
 * A best path GoBGP learned from a peer (a `WatchEvent`/`ListPath` entry whose neighbour is
 * not `<nil>`), as the shell hands it to render. Withdrawn paths are simply absent.
 */
export interface LearnedPath {
  readonly family: Family;
  readonly prefix: string;
  readonly nextHop: string;
  /** Address of the peer it came from. */
  readonly peer: string;
}

/**
 * BGP facts the shell reads before render (an extension of HostFacts; every field optional).
 * - `peerRouterPasswordsFile`: path and content of `--peer-router-passwords-file`
 *   (content undefined when unreadable);
 * - `learnedPaths`: GoBGP's current best paths from peers, keyed by canonical prefix (one per
 *   prefix); the gobgp driver hands a structurally shared table (model/learned-rib.ts) whose
 *   unchanged chunks keep their identity from one sync to the next.
 */
export interface BgpHostFacts {
  readonly peerRouterPasswordsFile?: { readonly path: string; readonly content?: string };
  readonly learnedPaths?: Table<LearnedPath>;
}

// ---------------------------------------------------------------------------------------------
// the BGP tables together

/** The BGP tables of a node state, keyed by the key functions above. */
export interface BgpState {
  readonly bgpGlobal: Table<BgpGlobal>;
  readonly bgpPeers: Table<BgpPeer>;
  readonly bgpPaths: Table<BgpPath>;
  readonly bgpDefinedSets: Table<BgpDefinedSet>;
  readonly bgpPolicies: Table<BgpPolicy>;
  readonly bgpAssignments: Table<BgpPolicyAssignment>;
}
export type BgpTableName = keyof BgpState;

/**
 * The BGP tables in apply order for creates (GoBGP needs the global config first, sets before
 * the statements that name them, policies before their assignment, paths before peers so a
 * new session — and a graceful restart's End-of-RIB — sees the whole RIB-out); deletes go in
 * reverse.
 */
export const BGP_TABLE_NAMES: readonly BgpTableName[] = ["bgpGlobal", "bgpDefinedSets", "bgpPolicies", "bgpAssignments", "bgpPaths", "bgpPeers"];

/** The key function of each BGP table. */
export const BGP_KEYS: { readonly [T in BgpTableName]: (v: never) => string } = {
  bgpGlobal: bgpGlobalKey,
  bgpPeers: bgpPeerKey,
  bgpPaths: bgpPathKey,
  bgpDefinedSets: bgpDefinedSetKey,
  bgpPolicies: bgpPolicyKey,
  bgpAssignments: bgpAssignmentKey,
};

/** Empty BGP tables (nothing desired or observed). */
export function emptyBgpState(): BgpState {
  return { bgpGlobal: new Map(), bgpPeers: new Map(), bgpPaths: new Map(), bgpDefinedSets: new Map(), bgpPolicies: new Map(), bgpAssignments: new Map() };
}
