/**
 * The route extender's address plan (reference/route-extender.md §3.2, C2 [fix]) over IPv4
 * as 32-bit numbers. Pure.
 *
 * For NETWORK `a.b.c.d/p` (host bits ignored): network = the masked address, broadcast = the
 * last address, EndpointIP = broadcast − 1 (the device's address inside NETWORK), and the
 * node pool = network+1 … broadcast−1 without EndpointIP, lowest first. `/24` gives
 * EndpointIP `.254` (upstream's value); `/16` gives `x.y.255.254` (upstream: x.y.254.254).
 *
 * @category render
 */

/** A validated IPv4 network. */
export interface ExtenderNetwork {
  /** network address as a uint32 */
  readonly network: number;
  readonly prefix: number;
}

/** `a.b.c.d` → uint32, or undefined when not a dotted IPv4 of four decimal octets 0–255. */
export function ipv4ToNumber(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

/** uint32 → `a.b.c.d`. */
export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** `ip/prefix` → network (host bits masked), or undefined when not an IPv4 CIDR. Prefix bounds are the caller's. */
export function parseNetwork(text: string): ExtenderNetwork | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (m === null) return undefined;
  const ip = ipv4ToNumber(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { network: (ip & maskOf(prefix)) >>> 0, prefix };
}

export const broadcastOf = (n: ExtenderNetwork): number => (n.network | (~maskOf(n.prefix) >>> 0)) >>> 0;
/** The device's address: broadcast − 1 (C2 [fix]). */
export const endpointIpOf = (n: ExtenderNetwork): number => broadcastOf(n) - 1;
/** Upstream's "Base": the network address; the first node gets base + 1. */
export const baseOf = (n: ExtenderNetwork): number => n.network;

/** True when `ip` may be given to a node: inside the network, not network, broadcast or EndpointIP. */
export function inPool(n: ExtenderNetwork, ip: number): boolean {
  return ip > n.network && ip < endpointIpOf(n);
}

/** The CIDR text of the network (`192.168.254.0/24`). */
export const networkText = (n: ExtenderNetwork): string => `${numberToIpv4(n.network)}/${n.prefix}`;
