/**
 * Every kernel object name, prefix, comment and number we own, and the ownership predicates
 * that observe and `--cleanup-config` use (DESIGN.md §5). Names follow upstream kube-router
 * so operators (and upstream's leftovers) find them where they expect.
 *
 * @category models
 */
import { createHash } from "node:crypto";

export const KUBE_BRIDGE = "kube-bridge";
export const KUBE_DUMMY_IF = "kube-dummy-if";

/** Route protocol of every route we install (upstream's 0x11 "zebra"); observe keeps only these. */
export const ROUTE_PROTO = "17";

/** Prefix of the overlay's per-peer tunnel links (`tun-<11 hex>`). */
export const TUNNEL_LINK_PREFIX = "tun-";
/** Links we own by name (created, updated, deleted by us). */
export function ownsLink(name: string): boolean {
  return name === KUBE_BRIDGE || name === KUBE_DUMMY_IF || name.startsWith(TUNNEL_LINK_PREFIX) || name === EXTENDER_VXLAN || name === EXTENDER_IPIP ||
    name === KUBE_VXLAN || name === KUBE_VXLAN6; // overlay (see the overlay section below)
}
/** Links whose every address is ours (kube-bridge's gateway address belongs to the CNI plugin). */
export const OWNED_ADDRESS_LINKS: ReadonlySet<string> = new Set([KUBE_DUMMY_IF, "kube-vxlan", "kube-vxlan6", "routervxlan0"]);
/** Routing table of external-IP policy routes (upstream's `external_ip`). */
export const EXTERNAL_IP_TABLE = "79";
/** Routing table of DSR fwmark rules and their VIP routes (upstream's `kube-router-dsr`). */
export const DSR_TABLE = "78";
/** Upstream's overlay routing table (`77 kube-router` in rt_tables): tunnel routes and `from <pod CIDR>` rules. */
export const OVERLAY_TABLE = "77";
/** Routing tables whose policy rules are ours: 77 kube-router (overlay), 78 DSR, 79 external_ip. */
export const OWNED_RULE_TABLES: ReadonlySet<string> = new Set([OVERLAY_TABLE, DSR_TABLE, EXTERNAL_IP_TABLE]);

export const IPSET = {
  podSubnets: "kube-router-pod-subnets",
  nodeIps: "kube-router-node-ips",
  localIps: "kube-router-local-ips",
  serviceVips: "kube-router-svip",
  serviceVipPorts: "kube-router-svip-prt",
  localPods: "kube-router-local-pods",
} as const;

/** Upstream's IPv6 ipset name: `inet6:` + name. */
export function ipsetName(base: string, family: "ipv4" | "ipv6"): string {
  return family === "ipv6" ? `inet6:${base}` : base;
}
/** True for ipsets we own: `kube-router-*`, `KUBE-SRC-*`, `KUBE-DST-*`, and their `inet6:` forms. */
export function ownsIpset(name: string): boolean {
  const n = name.startsWith("inet6:") ? name.slice(6) : name;
  return n.startsWith("kube-router-") || n.startsWith("KUBE-SRC-") || n.startsWith("KUBE-DST-");
}

/** True for custom chains we own. */
export function ownsChain(name: string): boolean {
  return name.startsWith("KUBE-ROUTER-") || name.startsWith("KUBE-NWPLCY-") || name.startsWith("KUBE-POD-FW-");
}

/** The firewall's top-level chains (jumped to from INPUT/FORWARD/OUTPUT). */
export const FIREWALL_TOP_CHAIN = {
  input: "KUBE-ROUTER-INPUT",
  forward: "KUBE-ROUTER-FORWARD",
  output: "KUBE-ROUTER-OUTPUT",
} as const;
/** Comment prefix of the firewall's builtin-chain jumps. */
export const FIREWALL_COMMENT_PREFIX = "kube-router netpol";

/** Comments of the router's builtin-chain rules, exactly as upstream writes them. */
export const COMMENT = {
  forwardFromPods: "allow outbound traffic from pods",
  forwardToPods: "allow inbound traffic to pods",
  forwardNodeIface: "allow outbound node port traffic on node interface with which node ip is associated",
  podEgress: "kube-router pod egress masquerade",
} as const;
const KNOWN_COMMENTS: ReadonlySet<string> = new Set(Object.values(COMMENT));

/**
 * True for a rule in a builtin chain that we own: its comment is one of ours, starts with
 * `kube-router`, or it jumps to a chain we own.
 */
export function ownsBuiltinRule(comment: string | undefined, target: string | undefined): boolean {
  if (comment !== undefined && (KNOWN_COMMENTS.has(comment) || comment.startsWith("kube-router"))) return true;
  return target !== undefined && ownsChain(target);
}

/**
 * kube-router's name hash: first 16 characters of RFC 4648 base32 (standard alphabet) of
 * SHA-256(identity). Stable: no per-sync version is mixed in (DESIGN.md §9).
 */
export function hashName(identity: string): string {
  return base32(createHash("sha256").update(identity).digest()).slice(0, 16);
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Service proxy (IPVS): names, and which kernel IPVS services are ours.

/** The proxy's own chains: filter `KUBE-ROUTER-SERVICES`, nat `KUBE-ROUTER-HAIRPIN`, mangle DSR chains. */
export const PROXY_CHAIN = {
  services: "KUBE-ROUTER-SERVICES",
  hairpin: "KUBE-ROUTER-HAIRPIN",
  dsrMark: "KUBE-ROUTER-DSR-MARK",
  dsrMss: "KUBE-ROUTER-DSR-MSS",
} as const;
/** Priority of the DSR fwmark rules (table DSR_TABLE). */
export const DSR_RULE_PRIORITY = 32764;
/** Largest fwmark the proxy allocates (upstream masks its FNV hash with 0x3FFF). */
export const DSR_FWMARK_MAX = 0x3fff;

/** Kernel modules the service proxy needs (IPVS, its schedulers, xt_ipvs, the dummy link). */
export const IPVS_KERNEL_MODULES: readonly string[] = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sh", "ip_vs_dh", "ip_vs_mh", "nf_conntrack", "xt_ipvs", "dummy"];
/** What to run to get them: `modprobe …`. */
export const IPVS_MODULES_HINT = `modprobe ${IPVS_KERNEL_MODULES.join(" ")}`;

// ---------------------------------------------------------------------------------------------
// BGP (GoBGP): upstream kube-router's defined-set, statement and policy names. Upstream
// suffixes the policy names with a version (`kube_router_export3`) that grows on every
// change; ours are stable (DESIGN.md §9) and replaced in place.

/** Base names; the IPv6 twin of each is `bgpSetName(base, "ipv6")` (`…v6`). */
export const BGP_SET = {
  podCidr: "podcidrdefinedset",
  serviceVips: "servicevipsdefinedset",
  defaultRoute: "defaultroutedefinedset",
  customImportReject: "customimportrejectdefinedset",
  ibgpPeers: "iBGPpeerset",
  externalPeers: "externalpeerset",
  allPeers: "allpeerset",
} as const;

export const BGP_POLICY = { export: "kube_router_export", import: "kube_router_import" } as const;

/** A defined set's name for a family: upstream appends `v6` for IPv6. */
export function bgpSetName(base: string, family: "ipv4" | "ipv6"): string {
  return family === "ipv6" ? `${base}v6` : base;
}

/** Connect-retry (s) of every peer: GoBGP's 120 s default turns one failed dial into minutes. */
export const BGP_CONNECT_RETRY_S = 5;
/** GoBGP's default hold time (s), used for node peers (upstream sets none on them). */
export const BGP_DEFAULT_HOLD_S = 90;
/** The port external peers use when none is given. */
export const BGP_DEFAULT_PORT = 179;

// ---------------------------------------------------------------------------------------------
// Overlay (router, `--enable-overlay`): tunnel names, the vxlan devices, and which devices'
// FDB and neighbour entries are ours.

/** The vxlan overlay device of each family (one device per family, not one link per peer). */
export const KUBE_VXLAN = "kube-vxlan";
export const KUBE_VXLAN6 = "kube-vxlan6";
/** The route extender's vxlan device (reference/route-extender.md §3.6). */
export const EXTENDER_VXLAN = "routervxlan0";
/** The route extender's IPIP tunnel (§3.7). */
export const EXTENDER_IPIP = "routertun0";
/** The route extender's own filter chain (its UDP accept rule, C8 [fix]), jumped to from INPUT. */
export const EXTENDER_CHAIN = "KUBE-ROUTER-EXTENDER";
/** Comment of the INPUT jump to EXTENDER_CHAIN. */
export const EXTENDER_JUMP_COMMENT = "kube-router route extender";
/**
 * Devices whose FDB and neighbour entries we own: every entry on them is ours, none elsewhere.
 * The route extender's device is not one of them: it learns (learning on), so only its
 * permanent FDB entries are ours (ownsFdbEntry) and its neighbours are the kernel's.
 */
export const OVERLAY_ENTRY_DEVICES: ReadonlySet<string> = new Set([KUBE_VXLAN, KUBE_VXLAN6]);
/** True when FDB / neighbour entries on `dev` are ours. */
export const ownsOverlayEntries = (dev: string): boolean => OVERLAY_ENTRY_DEVICES.has(dev);
/**
 * True when an FDB entry is ours: any entry on the overlay's devices, and the permanent ones
 * on EXTENDER_VXLAN (the entries it learned from the device's traffic stay the kernel's).
 */
export const ownsFdbEntry = (dev: string, state: string): boolean => ownsOverlayEntries(dev) || (dev === EXTENDER_VXLAN && state === "permanent");

/** The priority the kernel gives upstream's priority-less `ip rule add from <pod CIDR> lookup 77`. */
export const OVERLAY_RULE_PRIORITY = 32765;
/** Default UDP ports: FoU (upstream's `--overlay-encap-port`) and vxlan (IANA). */
export const FOU_DEFAULT_PORT = 5555;
export const VXLAN_IANA_PORT = 4789;
/** Default VNI of the vxlan overlay. */
export const OVERLAY_DEFAULT_VNI = 1;
/** Upstream's TTL on FoU tunnels (`ttl 225`). */
export const FOU_TUNNEL_TTL = 225;

/**
 * Upstream's tunnel name for a peer: `tun-` + the first 11 hex digits of SHA-256 of the peer
 * IP text with `.` and `:` removed (`10.0.0.1` → `tun-e443169117a`). Always 15 characters,
 * within IFNAMSIZ. Callers pass the canonical IP text so one peer has one name.
 */
export function tunnelName(peerIp: string): string {
  return `${TUNNEL_LINK_PREFIX}${createHash("sha256").update(peerIp.replace(/[.:]/g, "")).digest("hex").slice(0, 11)}`;
}
