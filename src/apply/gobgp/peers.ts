/**
 * Peers: plain peer objects ↔ GoBGP v4 `Peer` messages (pure).
 *
 * `peerToWire` sets only what the spec says, plus the address families (each spec family, or
 * the neighbour address's family) — GoBGP fills its defaults for the rest (hold 90 s,
 * keepalive hold/3, connect-retry 120 s, port 179). `peerFromWire` reports what gobgpd holds,
 * defaults included, so {@link withGobgpDefaults} exists to compare a spec with an observed
 * peer without a false difference (the "no-op sync makes no mutating call" rule).
 *
 * BFD (GoBGP ≥ 4.5): intervals in microseconds, as the v4 API and kube-router's flags use them.
 *
 * Failure: `peerToWire` throws one line for a bad address, ASN, TTL or a local address of the
 * other family.
 *
 * @category apply
 */
import { isIP } from "node:net";
import { type IpFamily, wireFamily } from "./paths.ts";
import type { SessionState, WAfiSafi, WPeer } from "./wire.ts";

export interface PeerGracefulRestart {
  readonly restartTime: number;
  readonly deferralTime: number;
}

export interface PeerBfd {
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly detectMultiplier: number;
  /** BFD UDP port (GoBGP default 3784). */
  readonly port?: number;
}

/** A BGP neighbour as the agent thinks of it. */
export interface PeerSpec {
  readonly address: string;
  readonly asn: number;
  /** Remote TCP port (default 179). */
  readonly port?: number;
  /** TCP MD5 password, plain text. */
  readonly password?: string;
  /** eBGP multihop when > 1. */
  readonly multihopTtl?: number;
  readonly holdTime?: number;
  readonly keepalive?: number;
  readonly connectRetry?: number;
  readonly localAddress?: string;
  /** Only wait for the other side to connect. */
  readonly passive?: boolean;
  readonly rrClient?: boolean;
  readonly rrClusterId?: string;
  readonly gracefulRestart?: PeerGracefulRestart;
  readonly bfd?: PeerBfd;
  /** Families to negotiate; default: the family of `address`. */
  readonly families?: readonly IpFamily[];
}

export type PeerSessionState = "unspecified" | "idle" | "connect" | "active" | "opensent" | "openconfirm" | "established";

/** A peer read back from GoBGP: its config plus live state. */
export interface ObservedPeer {
  readonly spec: PeerSpec;
  readonly state: PeerSessionState;
  /** Per family: prefixes received / accepted / advertised. */
  readonly families: readonly { family: IpFamily; received: number; accepted: number; advertised: number }[];
  /** Seconds since the session came up (0 when not established). */
  readonly uptimeSeconds: number;
  readonly flops: number;
  readonly bfdState?: "up" | "down" | "admin-down" | "init" | "unspecified";
}

function familyOf(address: string, what: string): IpFamily {
  const v = isIP(address);
  if (v === 0) throw new Error(`bad ${what} ${JSON.stringify(address)}: not an IP address`);
  return v === 4 ? "ipv4" : "ipv6";
}

/** The GoBGP `Peer` for a spec. */
export function peerToWire(p: PeerSpec): WPeer {
  const fam = familyOf(p.address, "peer address");
  if (!Number.isInteger(p.asn) || p.asn < 1 || p.asn > 0xffffffff) throw new Error(`peer ${p.address}: bad ASN ${p.asn}`);
  if (p.localAddress !== undefined && familyOf(p.localAddress, "local address") !== fam) throw new Error(`peer ${p.address}: local address ${p.localAddress} is of the other family`);
  if (p.multihopTtl !== undefined && (!Number.isInteger(p.multihopTtl) || p.multihopTtl < 1 || p.multihopTtl > 255)) throw new Error(`peer ${p.address}: bad multihop TTL ${p.multihopTtl}`);
  const families = p.families ?? [fam];
  const gr = p.gracefulRestart;
  const afiSafis: WAfiSafi[] = families.map((f) => ({
    config: { family: wireFamily(f), enabled: true },
    ...(gr !== undefined ? { mpGracefulRestart: { config: { enabled: true } } } : {}),
  }));
  const timers: Record<string, number> = {};
  if (p.connectRetry !== undefined) timers["connectRetry"] = p.connectRetry;
  if (p.holdTime !== undefined) timers["holdTime"] = p.holdTime;
  if (p.keepalive !== undefined) timers["keepaliveInterval"] = p.keepalive;
  return {
    conf: { neighborAddress: p.address, peerAsn: p.asn, ...(p.password !== undefined ? { authPassword: p.password } : {}) },
    transport: {
      ...(p.localAddress !== undefined ? { localAddress: p.localAddress } : {}),
      ...(p.port !== undefined ? { remotePort: p.port } : {}),
      ...(p.passive === true ? { passiveMode: true } : {}),
    },
    ...(Object.keys(timers).length > 0 ? { timers: { config: timers } } : {}),
    ...(p.multihopTtl !== undefined && p.multihopTtl > 1 ? { ebgpMultihop: { enabled: true, multihopTtl: p.multihopTtl } } : {}),
    ...(p.rrClient === true ? { routeReflector: { routeReflectorClient: true, routeReflectorClusterId: p.rrClusterId ?? "" } } : {}),
    ...(gr !== undefined ? { gracefulRestart: { enabled: true, restartTime: gr.restartTime, deferralTime: gr.deferralTime, localRestarting: true } } : {}),
    ...(p.bfd !== undefined
      ? { bfd: { enabled: true, desiredMinimumTxInterval: p.bfd.desiredMinTxUs, requiredMinimumReceive: p.bfd.requiredMinRxUs, detectionMultiplier: p.bfd.detectMultiplier, ...(p.bfd.port !== undefined ? { port: p.bfd.port } : {}) } }
      : {}),
    afiSafis,
  };
}

const SESSION: Record<SessionState, PeerSessionState> = {
  SESSION_STATE_UNSPECIFIED: "unspecified",
  SESSION_STATE_IDLE: "idle",
  SESSION_STATE_CONNECT: "connect",
  SESSION_STATE_ACTIVE: "active",
  SESSION_STATE_OPENSENT: "opensent",
  SESSION_STATE_OPENCONFIRM: "openconfirm",
  SESSION_STATE_ESTABLISHED: "established",
};

/** Reads a `ListPeer` peer back into a spec (as gobgpd holds it, defaults included) and its state. */
export function peerFromWire(w: WPeer): ObservedPeer {
  const conf = w.conf;
  const t = w.timers?.config;
  const tr = w.transport;
  const gr = w.gracefulRestart;
  const bfd = w.bfd;
  const fams = (w.afiSafis ?? []).filter((a) => a.config?.enabled !== false && (a.config?.family?.afi === "AFI_IP" || a.config?.family?.afi === "AFI_IP6"));
  const famOf = (a: WAfiSafi): IpFamily => (a.config?.family?.afi === "AFI_IP" ? "ipv4" : "ipv6");
  const spec: PeerSpec = {
    address: conf?.neighborAddress ?? "",
    asn: conf?.peerAsn ?? 0,
    ...(tr?.remotePort ? { port: tr.remotePort } : {}),
    ...(conf?.authPassword ? { password: conf.authPassword } : {}),
    ...(w.ebgpMultihop?.enabled ? { multihopTtl: w.ebgpMultihop.multihopTtl } : {}),
    ...(t?.holdTime ? { holdTime: t.holdTime } : {}),
    ...(t?.keepaliveInterval ? { keepalive: t.keepaliveInterval } : {}),
    ...(t?.connectRetry ? { connectRetry: t.connectRetry } : {}),
    ...(tr?.localAddress && tr.localAddress !== "0.0.0.0" && tr.localAddress !== "::" ? { localAddress: tr.localAddress } : {}),
    ...(tr?.passiveMode ? { passive: true } : {}),
    ...(w.routeReflector?.routeReflectorClient ? { rrClient: true, rrClusterId: w.routeReflector.routeReflectorClusterId } : {}),
    ...(gr?.enabled ? { gracefulRestart: { restartTime: gr.restartTime ?? 0, deferralTime: gr.deferralTime ?? 0 } } : {}),
    ...(bfd?.enabled
      ? { bfd: { desiredMinTxUs: bfd.desiredMinimumTxInterval ?? 0, requiredMinRxUs: bfd.requiredMinimumReceive ?? 0, detectMultiplier: bfd.detectionMultiplier ?? 0, ...(bfd.port ? { port: bfd.port } : {}) } }
      : {}),
    families: fams.map(famOf),
  };
  const s = w.state;
  const up = w.timers?.state?.uptime?.seconds ?? 0;
  const established = s?.sessionState === "SESSION_STATE_ESTABLISHED";
  const bs = s?.bfdState?.sessionState;
  return {
    spec,
    state: SESSION[s?.sessionState ?? "SESSION_STATE_UNSPECIFIED"] ?? "unspecified",
    families: fams.map((a) => ({ family: famOf(a), received: a.state?.received ?? 0, accepted: a.state?.accepted ?? 0, advertised: a.state?.advertised ?? 0 })),
    uptimeSeconds: established && up > 0 ? Math.max(0, Math.floor(Date.now() / 1000) - up) : 0,
    flops: s?.flops ?? 0,
    ...(bfd?.enabled && bs !== undefined ? { bfdState: bs === "BFD_SESSION_STATE_ADMIN_DOWN" ? "admin-down" : (bs.replace("BFD_SESSION_STATE_", "").toLowerCase() as "up" | "down" | "init" | "unspecified") } : {}),
  };
}

/**
 * The spec as gobgpd will report it: GoBGP's defaults filled in (hold 90 s, keepalive hold/3,
 * connect-retry 120 s, BFD port 3784) and the families made explicit, so `withGobgpDefaults(desired)` can be
 * compared with `peerFromWire(observed).spec`.
 */
export function withGobgpDefaults(p: PeerSpec): PeerSpec {
  const holdTime = p.holdTime ?? 90;
  return {
    ...p,
    holdTime,
    keepalive: p.keepalive ?? Math.floor(holdTime / 3),
    connectRetry: p.connectRetry ?? 120,
    families: p.families ?? [familyOf(p.address, "peer address")],
    ...(p.bfd !== undefined ? { bfd: { ...p.bfd, port: p.bfd.port ?? 3784 } } : {}),
  };
}
