/**
 * Where external peers come from (kube-router-features.md §1.4, §2.2, §5.3), as raw entries
 * each naming its source for messages:
 * - `--peer-router-ips/-asns/-ports/-passwords` (passwords from `--peer-router-passwords-file`
 *   when the flag list is empty; the file's content arrives as a host fact, render reads no file);
 * - else the node annotation `kube-router.io/peers` (a YAML list of
 *   `{remoteip, remoteasn, localip, password, port, bfd}`);
 * - else the deprecated `kube-router.io/peer.ips/.asns/.passwords/.localips/.ports`.
 * Pure; never throws. Mismatched list lengths, malformed YAML or a bad entry give one warning
 * each; entries that can still be paired up are kept (upstream drops them all).
 *
 * @category render
 */
import { parse as parseYaml } from "yaml";
import type { NodeInfo } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { BgpHostFacts } from "../../model/bgp.ts";
import { commaList } from "./parse.ts";
import { NODE_ANNOTATION, type Warn, where } from "./node.ts";

/** BFD settings as given (ms intervals), before validation. */
export interface RawBfd {
  readonly enabled: boolean;
  readonly port?: unknown;
  readonly detectionMultiplier?: unknown;
  readonly desiredMinTxInterval?: unknown;
  readonly requiredMinRxInterval?: unknown;
}

/** One external peer as configured; values unvalidated (`peers.ts` validates them). */
export interface RawPeer {
  /** `--peer-router-ips[2]`, `Node n1: metadata.annotations[kube-router.io/peers][0]`. */
  readonly source: string;
  readonly ip: unknown;
  readonly asn: unknown;
  readonly port?: unknown;
  /** base64, as given; never printed. */
  readonly password?: unknown;
  /** Name of the password's source, for messages that must not show the value. */
  readonly passwordSource?: string;
  readonly localIp?: unknown;
  readonly bfd?: RawBfd;
  /** True for peers from the flags (they get `--enable-bfd`). */
  readonly global: boolean;
}

/** External peers from the flags, else from the node's annotations. */
export function rawExternalPeers(config: NodeConfig, host: BgpHostFacts, self: NodeInfo, warn: Warn): RawPeer[] {
  if (config.peerRouterIps.length > 0) return flagPeers(config, host, warn);
  if (self.annotations[NODE_ANNOTATION.peers] !== undefined) return yamlPeers(self, warn);
  if (self.annotations[NODE_ANNOTATION.peerIps] !== undefined) return deprecatedPeers(self, warn);
  return [];
}

function flagPeers(config: NodeConfig, host: BgpHostFacts, warn: Warn): RawPeer[] {
  const ips = config.peerRouterIps;
  const n = ips.length;
  let passwords: readonly string[] = config.peerRouterPasswords;
  let pwFlag = "--peer-router-passwords";
  if (passwords.length === 0 && config.peerRouterPasswordsFile !== "") {
    pwFlag = "--peer-router-passwords-file";
    const file = host.peerRouterPasswordsFile;
    if (file === undefined || file.path !== config.peerRouterPasswordsFile || file.content === undefined) {
      warn(`bgp: --peer-router-passwords-file ${config.peerRouterPasswordsFile}: content not available (unreadable, or not passed in as a host fact); peers configured without passwords`);
    } else passwords = commaList(file.content.trim(), true);
  }
  if (config.peerRouterAsns.length !== n) {
    warn(`bgp: --peer-router-asns: ${config.peerRouterAsns.length} ASNs for ${n} --peer-router-ips; peers without an ASN are skipped`);
  }
  if (passwords.length !== 0 && passwords.length !== n) {
    warn(`bgp: ${pwFlag}: ${passwords.length} passwords for ${n} --peer-router-ips (want 0 or one per peer, blank items allowed); peers without one get none`);
  }
  if (config.peerRouterPorts.length !== 0 && config.peerRouterPorts.length !== n) {
    warn(`bgp: --peer-router-ports: ${config.peerRouterPorts.length} ports for ${n} --peer-router-ips (want 0 or one per peer); peers without one use 179`);
  }
  return ips.map((ip, i) => {
    const pw = passwords[i];
    return {
      source: `--peer-router-ips[${i}]`, ip, asn: config.peerRouterAsns[i], global: true,
      ...(config.peerRouterPorts[i] !== undefined ? { port: config.peerRouterPorts[i] } : {}),
      ...(pw !== undefined && pw !== "" ? { password: pw, passwordSource: `${pwFlag} item ${i + 1}` } : {}),
    };
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const PEER_KEYS = new Set(["remoteip", "remoteasn", "localip", "password", "port", "bfd"]);

function yamlPeers(self: NodeInfo, warn: Warn): RawPeer[] {
  const at = where(self, NODE_ANNOTATION.peers);
  const text = self.annotations[NODE_ANNOTATION.peers] ?? "";
  let doc: unknown;
  try {
    doc = parseYaml(text, { strict: true, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    warn(`${at}: not valid YAML (${firstLine((e as Error).message)}); no peers from it`);
    return [];
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) { warn(`${at}: want a YAML list of peers; no peers from it`); return []; }
  const out: RawPeer[] = [];
  doc.forEach((entry: unknown, i) => {
    const source = `${at}[${i}]`;
    if (!isRecord(entry)) { warn(`${source}: not a map; skipped`); return; }
    for (const k of Object.keys(entry)) if (!PEER_KEYS.has(k)) warn(`${source}: unknown field ${JSON.stringify(k)} ignored`);
    if (entry["remoteip"] === undefined || entry["remoteip"] === null) { warn(`${source}: remoteip is required; skipped`); return; }
    if (entry["remoteasn"] === undefined || entry["remoteasn"] === null) { warn(`${source}: remoteasn is required; skipped`); return; }
    const bfd = entry["bfd"];
    let rawBfd: RawBfd | undefined;
    if (bfd !== undefined && bfd !== null) {
      if (!isRecord(bfd)) warn(`${source}: bfd: want a map; BFD off`);
      else rawBfd = {
        enabled: bfd["enabled"] === true,
        port: bfd["port"], detectionMultiplier: bfd["detection_multiplier"],
        desiredMinTxInterval: bfd["desired_min_tx_interval"], requiredMinRxInterval: bfd["required_min_rx_interval"],
      };
    }
    out.push({
      source, ip: entry["remoteip"], asn: entry["remoteasn"], global: false,
      ...(entry["port"] !== undefined && entry["port"] !== null ? { port: entry["port"] } : {}),
      ...(entry["password"] !== undefined && entry["password"] !== null && entry["password"] !== "" ? { password: entry["password"], passwordSource: `${source}.password` } : {}),
      ...(entry["localip"] !== undefined && entry["localip"] !== null && entry["localip"] !== "" ? { localIp: entry["localip"] } : {}),
      ...(rawBfd !== undefined ? { bfd: rawBfd } : {}),
    });
  });
  return out;
}

function deprecatedPeers(self: NodeInfo, warn: Warn): RawPeer[] {
  const list = (key: string) => commaList(self.annotations[key] ?? "", true);
  const ips = list(NODE_ANNOTATION.peerIps);
  const asns = list(NODE_ANNOTATION.peerAsns);
  const passwords = list(NODE_ANNOTATION.peerPasswords);
  const localIps = list(NODE_ANNOTATION.peerLocalIps);
  const ports = list(NODE_ANNOTATION.peerPorts);
  const n = ips.length;
  if (asns.length !== n) warn(`${where(self, NODE_ANNOTATION.peerAsns)}: ${asns.length} ASNs for ${n} peer IPs; peers without an ASN are skipped`);
  for (const [key, l, what] of [[NODE_ANNOTATION.peerPasswords, passwords, "passwords"], [NODE_ANNOTATION.peerLocalIps, localIps, "local IPs"], [NODE_ANNOTATION.peerPorts, ports, "ports"]] as const) {
    if (l.length !== 0 && l.length !== n) warn(`${where(self, key)}: ${l.length} ${what} for ${n} peer IPs (want 0 or one per peer); peers without one use the default`);
  }
  return ips.map((ip, i) => ({
    source: `${where(self, NODE_ANNOTATION.peerIps)}[${i}]`, ip, asn: asns[i] === undefined || asns[i] === "" ? undefined : asns[i], global: false,
    ...(ports[i] !== undefined && ports[i] !== "" ? { port: ports[i] } : {}),
    ...(passwords[i] !== undefined && passwords[i] !== "" ? { password: passwords[i], passwordSource: `${where(self, NODE_ANNOTATION.peerPasswords)} item ${i + 1}` } : {}),
    ...(localIps[i] !== undefined && localIps[i] !== "" ? { localIp: localIps[i] } : {}),
  }));
}

const firstLine = (s: string): string => s.split("\n")[0] ?? s;
