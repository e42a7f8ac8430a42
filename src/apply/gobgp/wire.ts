/**
 * Wire types: the messages of our GoBGP v4.8 API subset (./proto/api) as grpc-js hands them to
 * us and takes them from us under the loader options of ./schema.ts — camelCase names, enums as
 * their string names, 64-bit integers as numbers, bytes as Buffer, oneofs with a virtual field
 * naming the member set. Requests may omit any field (proto3 default); responses carry every
 * field of the subset (defaults filled in), so response types mark nothing optional except
 * message fields, which are null/undefined when absent.
 *
 * @category apply
 */

export type Afi = "AFI_UNSPECIFIED" | "AFI_IP" | "AFI_IP6" | "AFI_L2VPN" | "AFI_LS" | "AFI_OPAQUE";
export type Safi = "SAFI_UNSPECIFIED" | "SAFI_UNICAST" | (string & {});
export interface WFamily { afi: Afi; safi: Safi }

export type TableType = "TABLE_TYPE_UNSPECIFIED" | "TABLE_TYPE_GLOBAL" | "TABLE_TYPE_LOCAL" | "TABLE_TYPE_ADJ_IN" | "TABLE_TYPE_ADJ_OUT" | "TABLE_TYPE_VRF";

export interface WIPAddressPrefix { prefixLen: number; prefix: string }
export interface WNLRI { prefix?: WIPAddressPrefix | null; nlri?: "prefix" }

export type AsSegmentType = "TYPE_UNSPECIFIED" | "TYPE_AS_SET" | "TYPE_AS_SEQUENCE" | "TYPE_AS_CONFED_SEQUENCE" | "TYPE_AS_CONFED_SET";
export interface WAsSegment { type: AsSegmentType; numbers: number[] }
export interface WLargeCommunity { globalAdmin: number; localData1: number; localData2: number }

/** One path attribute; exactly one member is set, named by `attr` in responses. */
export interface WAttribute {
  attr?: "origin" | "asPath" | "nextHop" | "multiExitDisc" | "localPref" | "communities" | "originatorId" | "clusterList" | "mpReach" | "mpUnreach" | "largeCommunities";
  origin?: { origin: number } | null;
  asPath?: { segments: WAsSegment[] } | null;
  nextHop?: { nextHop: string } | null;
  multiExitDisc?: { med: number } | null;
  localPref?: { localPref: number } | null;
  communities?: { communities: number[] } | null;
  originatorId?: { id: string } | null;
  clusterList?: { ids: string[] } | null;
  mpReach?: { family: WFamily | null; nextHops: string[]; nlris: WNLRI[] } | null;
  mpUnreach?: { family: WFamily | null; nlris: WNLRI[] } | null;
  largeCommunities?: { communities: WLargeCommunity[] } | null;
}

export interface WPath {
  nlri: WNLRI | null;
  pattrs: WAttribute[];
  age?: { seconds: number; nanos: number } | null;
  best?: boolean;
  isWithdraw?: boolean;
  noImplicitWithdraw?: boolean;
  family: WFamily | null;
  sourceAsn?: number;
  sourceId?: string;
  filtered?: boolean;
  stale?: boolean;
  isFromExternal?: boolean;
  neighborIp?: string;
  uuid?: Buffer;
  isNexthopInvalid?: boolean;
  identifier?: number;
  localIdentifier?: number;
}

export interface WDestination { prefix: string; paths: WPath[] }

export interface WGracefulRestart {
  enabled?: boolean; restartTime?: number; helperOnly?: boolean; deferralTime?: number;
  notificationEnabled?: boolean; longlivedEnabled?: boolean; staleRoutesTime?: number;
  peerRestartTime?: number; peerRestarting?: boolean; localRestarting?: boolean; mode?: string;
}

export interface WGlobal {
  asn: number;
  routerId: string;
  listenPort?: number;
  listenAddresses?: string[];
  families?: number[];
  useMultiplePaths?: boolean;
  gracefulRestart?: WGracefulRestart | null;
  bindToDevice?: string;
}

export type SessionState =
  | "SESSION_STATE_UNSPECIFIED" | "SESSION_STATE_IDLE" | "SESSION_STATE_CONNECT" | "SESSION_STATE_ACTIVE"
  | "SESSION_STATE_OPENSENT" | "SESSION_STATE_OPENCONFIRM" | "SESSION_STATE_ESTABLISHED";
export type BfdSessionState = "BFD_SESSION_STATE_UNSPECIFIED" | "BFD_SESSION_STATE_UP" | "BFD_SESSION_STATE_DOWN" | "BFD_SESSION_STATE_ADMIN_DOWN" | "BFD_SESSION_STATE_INIT";

export interface WMessageCounters { notification: number; update: number; open: number; keepalive: number; refresh: number; discarded: number; total: number; withdrawUpdate: number; withdrawPrefix: number }

export interface WPeerState {
  localAsn: number;
  messages: { received: WMessageCounters | null; sent: WMessageCounters | null } | null;
  neighborAddress: string;
  peerAsn: number;
  type: string;
  sessionState: SessionState;
  adminState: string;
  flops: number;
  routerId: string;
  disconnectReason: string;
  disconnectMessage: string;
  bfdState: { sessionState: BfdSessionState; remoteSessionState: BfdSessionState; failureTransitions: number } | null;
}

export interface WAfiSafi {
  mpGracefulRestart?: { config?: { enabled: boolean } | null; state?: Record<string, boolean> | null } | null;
  config?: { family: WFamily | null; enabled: boolean } | null;
  state?: { family: WFamily | null; enabled: boolean; received: number; accepted: number; advertised: number } | null;
}

export interface WBfdPeerConfig { enabled?: boolean; port?: number; desiredMinimumTxInterval?: number; requiredMinimumReceive?: number; detectionMultiplier?: number }

export interface WPeer {
  conf?: { authPassword?: string; description?: string; localAsn?: number; neighborAddress: string; peerAsn?: number; type?: string; adminDown?: boolean } | null;
  ebgpMultihop?: { enabled: boolean; multihopTtl: number } | null;
  routeReflector?: { routeReflectorClient: boolean; routeReflectorClusterId: string } | null;
  state?: WPeerState | null;
  timers?: {
    config?: { connectRetry?: number; holdTime?: number; keepaliveInterval?: number; minimumAdvertisementInterval?: number; idleHoldTimeAfterReset?: number } | null;
    state?: { connectRetry: number; holdTime: number; keepaliveInterval: number; negotiatedHoldTime: number; uptime: { seconds: number } | null; downtime: { seconds: number } | null } | null;
  } | null;
  transport?: { localAddress?: string; localPort?: number; mtuDiscovery?: boolean; passiveMode?: boolean; remoteAddress?: string; remotePort?: number; tcpMss?: number; bindInterface?: string } | null;
  gracefulRestart?: WGracefulRestart | null;
  afiSafis?: WAfiSafi[];
  bfd?: WBfdPeerConfig | null;
}

export type DefinedType = "DEFINED_TYPE_PREFIX" | "DEFINED_TYPE_NEIGHBOR" | "DEFINED_TYPE_COMMUNITY" | "DEFINED_TYPE_AS_PATH" | "DEFINED_TYPE_LARGE_COMMUNITY" | "DEFINED_TYPE_NEXT_HOP" | (string & {});
export interface WPrefix { ipPrefix: string; maskLengthMin: number; maskLengthMax: number }
export interface WDefinedSet { definedType: DefinedType; name: string; list?: string[]; prefixes?: WPrefix[] }

export type MatchType = "TYPE_ANY" | "TYPE_ALL" | "TYPE_INVERT";
export interface WMatchSet { type: MatchType; name: string }
export type RouteAction = "ROUTE_ACTION_UNSPECIFIED" | "ROUTE_ACTION_ACCEPT" | "ROUTE_ACTION_REJECT";
export interface WConditions {
  prefixSet?: WMatchSet | null; neighborSet?: WMatchSet | null; asPathSet?: WMatchSet | null; communitySet?: WMatchSet | null;
  routeType?: "ROUTE_TYPE_UNSPECIFIED" | "ROUTE_TYPE_INTERNAL" | "ROUTE_TYPE_EXTERNAL" | "ROUTE_TYPE_LOCAL";
  nextHopInList?: string[]; afiSafiIn?: WFamily[];
}
export interface WCommunityAction { type: "TYPE_ADD" | "TYPE_REMOVE" | "TYPE_REPLACE"; communities: string[] }
export interface WActions {
  routeAction?: RouteAction;
  community?: WCommunityAction | null;
  asPrepend?: { asn: number; repeat: number; useLeftMost?: boolean } | null;
  nexthop?: { address?: string; self?: boolean; unchanged?: boolean; peerAddress?: boolean } | null;
  localPref?: { value: number } | null;
  largeCommunity?: WCommunityAction | null;
}
export interface WStatement { name: string; conditions?: WConditions | null; actions?: WActions | null }
export interface WPolicy { name: string; statements?: WStatement[] }
export type PolicyDirection = "POLICY_DIRECTION_IMPORT" | "POLICY_DIRECTION_EXPORT";
export interface WPolicyAssignment { name: string; direction: PolicyDirection; policies?: WPolicy[]; defaultAction?: RouteAction }

export interface WWatchEventRequest {
  peer?: Record<string, never>;
  table?: { filters: { type: "TYPE_BEST" | "TYPE_ADJIN" | "TYPE_POST_POLICY" | "TYPE_EOR"; init?: boolean; peerAddress?: string; peerGroup?: string }[] };
  batchSize?: number;
}
export interface WWatchEventResponse {
  event?: "peer" | "table";
  peer?: { type: "TYPE_UNSPECIFIED" | "TYPE_INIT" | "TYPE_END_OF_INIT" | "TYPE_STATE"; peer: WPeer | null } | null;
  table?: { paths: WPath[] } | null;
}

export type LogLevel = "LEVEL_PANIC" | "LEVEL_FATAL" | "LEVEL_ERROR" | "LEVEL_WARN" | "LEVEL_INFO" | "LEVEL_DEBUG" | "LEVEL_TRACE";
