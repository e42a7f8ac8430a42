/**
 * BGP peers of this node (kube-router-features.md §5.3):
 *
 * - **iBGP** (`--enable-ibgp`): every other node, at its primary IP, when its primary IP is of
 *   our primary family; with `--nodes-full-mesh=false` only nodes whose `node.asn` equals ours;
 *   as a route-reflector client (`rr.client`) only nodes carrying `rr.server`; as a
 *   route-reflector server, nodes carrying `rr.client` are marked route-reflector clients with
 *   our cluster ID. Peer ASN = ours, remote port `--bgp-port`, local address = our primary IP,
 *   families = the peer node's (IPv4 and/or IPv6 addresses, enabled families only), GoBGP's
 *   default timers (hold 90 s, keepalive 30 s), connect-retry 5 s, graceful restart when on.
 * - **External**: see external.ts for the sources. Each needs a valid IP of an enabled family,
 *   a non-reserved ASN, a base64 password (if any), a port (0 ⇒ 179), a local address of the
 *   peer's family (`localip`, else our best IP of that family); hold time `--bgp-holdtime`,
 *   keepalive a third of it, eBGP multihop when `--peer-router-multihop-ttl` ≥ 2, BFD from
 *   `--enable-bfd` (flag peers) or the YAML `bfd` block, graceful restart when on;
 *   families = our families.
 *
 * Pure; never throws. A bad external peer is skipped with one warning naming its source and
 * value (never a password); the others keep working. An address claimed twice keeps the
 * first (iBGP before external, each in order) and warns.
 *
 * @category render
 */
import type { NodeInfo } from "../../model/cluster.ts";
import type { BgpBfd, BgpPeer } from "../../model/bgp.ts";
import { bgpFamilyOf } from "../../model/bgp.ts";
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import { BGP_CONNECT_RETRY_S, BGP_DEFAULT_HOLD_S, BGP_DEFAULT_PORT } from "../../model/names.ts";
import type { Family } from "../../model/state.ts";
import type { BgpContext } from "./context.ts";
import { type RawBfd, type RawPeer, rawExternalPeers } from "./external.ts";
import { peerNodeFacts } from "./memo.ts";
import { decodeBase64, isPeerAsn, parseUint, UINT32_MAX } from "./parse.ts";

const byName = (a: NodeInfo, b: NodeInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The other nodes we peer with over iBGP, sorted by address. */
export function ibgpPeers(ctx: BgpContext): BgpPeer[] {
  const { config, self } = ctx;
  if (!config.enableIbgp) return [];
  const out = new Map<string, BgpPeer>();
  const owner = new Map<string, string>([[ctx.primaryIp, self.name]]);
  for (const node of [...ctx.snapshot.nodes.values()].sort(byName)) {
    if (node.name === self.name) continue;
    const facts = peerNodeFacts(node);
    const ip = facts.primaryIp;
    if (ip === undefined) { ctx.warn(`bgp: Node ${node.name}: status.addresses: no usable InternalIP or ExternalIP; not peered`); continue; }
    if (facts.primaryFamily !== ctx.primaryFamily || !ctx.families.includes(ctx.primaryFamily)) continue;
    if (ctx.rrClient !== undefined && facts.rrServer === undefined) continue;
    if (!config.nodesFullMesh && facts.asn !== ctx.asn) continue;
    const seen = owner.get(ip);
    if (seen !== undefined) { ctx.warn(`bgp: Node ${node.name}: primary IP ${ip} is also Node ${seen}'s; not peered`); continue; }
    owner.set(ip, node.name);
    const isClient = ctx.rrServer !== undefined && facts.rrClient !== undefined;
    const rr = isClient || (ctx.rrClient !== undefined && facts.rrServer !== undefined);
    out.set(ip, {
      kind: rr ? "rr" : "ibgp",
      neighborAddress: ip,
      peerAsn: ctx.asn,
      port: config.bgpPort,
      localAddress: ctx.primaryIp,
      holdTime: BGP_DEFAULT_HOLD_S,
      keepaliveInterval: BGP_DEFAULT_HOLD_S / 3,
      connectRetry: BGP_CONNECT_RETRY_S,
      families: ctx.families.filter((f) => facts.families.has(f)).map(bgpFamilyOf),
      ...(isClient ? { routeReflectorClusterId: ctx.rrServer } : {}),
      ...(ctx.gracefulRestart ? { gracefulRestart: ctx.gracefulRestart } : {}),
    });
  }
  return [...out.values()];
}

/** `--bgp-holdtime` in seconds; out of 3s..18h12m16s ⇒ a warning and GoBGP's 90 s. */
function holdTime(ctx: BgpContext): number {
  const s = Math.floor(ctx.config.bgpHoldtime / 1000);
  if (s >= 3 && s <= 65536) return Math.min(s, 65535);
  ctx.warn(`bgp: --bgp-holdtime: ${ctx.config.bgpHoldtime} ms is outside 3s..18h12m16s; using ${BGP_DEFAULT_HOLD_S}s`);
  return BGP_DEFAULT_HOLD_S;
}

/** A uint from a YAML/flag/annotation value (number or decimal text). */
function uintOf(v: unknown, max: number): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
  if (typeof v === "string") return parseUint(v, max);
  return undefined;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** BFD settings in GoBGP's units (µs), or a reason they are unusable. */
function bfdOf(ctx: BgpContext, raw: RawBfd | undefined, global: boolean): BgpBfd | string | undefined {
  const c = ctx.config;
  if (global) {
    if (!c.enableBfd) return undefined;
    raw = { enabled: true };
  }
  if (raw === undefined || !raw.enabled) return undefined;
  const port = raw.port === undefined ? c.bfdPort : uintOf(raw.port, 0xffff);
  const mult = raw.detectionMultiplier === undefined ? c.bfdDetectionMultiplier : uintOf(raw.detectionMultiplier, 255);
  const tx = raw.desiredMinTxInterval === undefined ? c.bfdDesiredMinTxInterval : uintOf(raw.desiredMinTxInterval, Math.floor(UINT32_MAX / 1000));
  const rx = raw.requiredMinRxInterval === undefined ? c.bfdRequiredMinRxInterval : uintOf(raw.requiredMinRxInterval, Math.floor(UINT32_MAX / 1000));
  if (port === undefined || port < 1) return `bfd port ${show(raw.port)} is not a port in 1-65535`;
  if (mult === undefined || mult < 1) return `bfd detection_multiplier ${show(raw.detectionMultiplier)} is not in 1-255`;
  if (tx === undefined || tx < 1) return `bfd desired_min_tx_interval ${show(raw.desiredMinTxInterval)} is not a positive number of ms`;
  if (rx === undefined || rx < 1) return `bfd required_min_rx_interval ${show(raw.requiredMinRxInterval)} is not a positive number of ms`;
  return { port, detectionMultiplier: mult, desiredMinTxInterval: tx * 1000, requiredMinRxInterval: rx * 1000 };
}

/** Validates one raw external peer; a peer or the reason it is skipped. */
function externalPeer(ctx: BgpContext, raw: RawPeer, hold: number): BgpPeer | string {
  const ipText = typeof raw.ip === "string" ? raw.ip.trim() : undefined;
  const ip = ipText === undefined ? undefined : canonicalIp(ipText);
  const family: Family | undefined = ip === undefined ? undefined : ipFamily(ip);
  if (ip === undefined || family === undefined) return `${show(raw.ip)} is not an IP address`;
  if (!ctx.families.includes(family)) return `${ip} is ${family} and ${family} is not enabled`;
  if (raw.asn === undefined) return `${ip}: no ASN given`;
  const asn = uintOf(raw.asn, UINT32_MAX);
  if (asn === undefined || !isPeerAsn(asn)) return `${ip}: ASN ${show(raw.asn)} is out of range or reserved (want 1-23455, 23457-63999, 64512-65534, 131072-4199999999, 4200000000-4294967294)`;
  let port: number = BGP_DEFAULT_PORT;
  if (raw.port !== undefined) {
    const p = uintOf(raw.port, 0xffff);
    if (p === undefined) return `${ip}: port ${show(raw.port)} is not a port number`;
    if (p !== 0) port = p;
  }
  let password: string | undefined;
  if (raw.password !== undefined) {
    password = typeof raw.password === "string" ? decodeBase64(raw.password.trim()) : undefined;
    if (password === undefined) return `${ip}: ${raw.passwordSource ?? "password"} is not base64`;
    if (password === "") password = undefined;
  }
  let localAddress: string | undefined;
  if (raw.localIp !== undefined) {
    const l = typeof raw.localIp === "string" ? canonicalIp(raw.localIp.trim()) : undefined;
    if (l === undefined) return `${ip}: local IP ${show(raw.localIp)} is not an IP address`;
    if (ipFamily(l) !== family) return `${ip}: local IP ${l} is not of the peer's family (${family})`;
    localAddress = l;
  } else {
    localAddress = ctx.nodeIp.get(family);
    if (localAddress === undefined) return `${ip}: this node has no ${family} address to peer from`;
  }
  const bfd = bfdOf(ctx, raw.bfd, raw.global);
  if (typeof bfd === "string") return `${ip}: ${bfd}`;
  const ttl = ctx.config.peerRouterMultihopTtl;
  return {
    kind: "external",
    neighborAddress: ip,
    peerAsn: asn,
    port,
    localAddress,
    ...(password !== undefined ? { password } : {}),
    ...(ttl >= 2 ? { ebgpMultihopTtl: ttl } : {}),
    holdTime: hold,
    keepaliveInterval: Math.floor(hold / 3),
    connectRetry: BGP_CONNECT_RETRY_S,
    families: ctx.families.filter((f) => ctx.nodeIp.has(f)).map(bgpFamilyOf),
    ...(ctx.gracefulRestart ? { gracefulRestart: ctx.gracefulRestart } : {}),
    ...(bfd !== undefined ? { bfd } : {}),
  };
}

/** External peers in configuration order; bad ones skipped with a warning. */
export function externalPeers(ctx: BgpContext, taken: ReadonlySet<string>): BgpPeer[] {
  const raws = rawExternalPeers(ctx.config, ctx.host, ctx.self, ctx.warn);
  if (raws.length === 0) return [];
  const hold = holdTime(ctx);
  const out: BgpPeer[] = [];
  const seen = new Set(taken);
  for (const raw of raws) {
    const p = externalPeer(ctx, raw, hold);
    const at = raw.source.startsWith("--") ? `bgp: ${raw.source}` : raw.source;
    if (typeof p === "string") { ctx.warn(`${at}: ${p}; peer skipped`); continue; }
    if (p.neighborAddress === ctx.primaryIp || [...ctx.nodeIp.values()].includes(p.neighborAddress)) { ctx.warn(`${at}: ${p.neighborAddress} is this node's own address; peer skipped`); continue; }
    if (seen.has(p.neighborAddress)) { ctx.warn(`${at}: ${p.neighborAddress} is already a peer; skipped`); continue; }
    seen.add(p.neighborAddress);
    out.push(p);
  }
  if (ctx.gracefulRestart && out.some((p) => p.bfd !== undefined)) {
    ctx.warn("bgp: BFD and graceful restart are both on: a BFD session failure tears the BGP session down at once, so graceful restart will not keep those peers' routes");
  }
  return out;
}
