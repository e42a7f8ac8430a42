/**
 * The address plan of the synthetic clusters, shared by the generator and the kernel fixture:
 * every node on one connected IPv4 subnet (10.0.0.0/16), one /24 pod CIDR per node from
 * 10.128.0.0/9, Service IPs from the default 10.96.0.0/12, LoadBalancer IPs from 172.31.0.0/16.
 * A few nodes are dual-stack (IPv6 second, IPv4 stays primary).
 */

/** Dotted IPv4 text of a 32-bit number. */
export function v4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

const BASE_NODE = (10 << 24) >>> 0; // 10.0.0.0
const BASE_POD = ((10 << 24) | (128 << 16)) >>> 0; // 10.128.0.0
const BASE_SVC = ((10 << 24) | (96 << 16)) >>> 0; // 10.96.0.0
const BASE_LB = ((172 << 24) | (31 << 16)) >>> 0; // 172.31.0.0

/** Prefix length of the node subnet (every node IP is on it, so every pod route is direct). */
export const NODE_PREFIX = 16;
/** Most nodes one /16 holds here (node IPs start at .11, the peer sits at 10.0.255.254). */
export const MAX_NODES = 65_000;
/** The address of the fixture's far end of the node link (not a node). */
export const PEER_IP = "10.0.255.254";

/** Name of node `i` (node-0000 is the benchmarked node). */
export const nodeName = (i: number): string => `node-${String(i).padStart(4, "0")}`;
/** InternalIP of node `i`. */
export const nodeIp = (i: number): string => v4(BASE_NODE + 11 + i);
/** IPv4 pod CIDR of node `i` (a /24 of 10.128.0.0/9). */
export const podCidr = (i: number): string => `${v4(BASE_POD + i * 256)}/24`;
/** IPv4 address of the pod in `slot` (0-based) of node `i`'s pod CIDR (.2 upwards; .1 is the gateway). */
export const podIp = (i: number, slot: number): string => v4(BASE_POD + i * 256 + 2 + slot);
/** Pods one /24 holds here (.2 to .254). */
export const PODS_PER_NODE = 253;

/** True for the dual-stack nodes (every 25th). */
export const isDualStack = (i: number): boolean => i % 25 === 24;
/** IPv6 InternalIP of a dual-stack node. */
export const nodeIp6 = (i: number): string => `fd00:0:0:1::${(11 + i).toString(16)}`;
/** IPv6 pod CIDR of a dual-stack node. */
export const podCidr6 = (i: number): string => `fd00:10:244:${i.toString(16)}::/64`;
/** IPv6 address of a pod on a dual-stack node. */
export const podIp6 = (i: number, slot: number): string => `fd00:10:244:${i.toString(16)}::${(2 + slot).toString(16)}`;

/** ClusterIP of Service `i`. */
export const serviceIp = (i: number): string => v4(BASE_SVC + 10 + i);
/** LoadBalancer ingress IP of Service `i`. */
export const loadBalancerIp = (i: number): string => v4(BASE_LB + 1 + i);
