/**
 * HostFacts: what the shell reads from the machine before render, so render stays pure:
 * the node's interfaces (for the node interface, its MTU and directly connected subnets),
 * and the current CNI config text (render preserves fields it does not own).
 *
 * @category models
 */
import type { BgpHostFacts } from "./bgp.ts";

export interface HostInterface {
  readonly name: string;
  readonly mtu: number;
  /** `ip/prefixlen`, both families, as `ip addr` shows them. */
  readonly addrs: readonly string[];
}

/** Also the BGP facts (learned paths, the passwords file), gathered by the gobgp driver. */
export interface HostFacts extends BgpHostFacts {
  readonly interfaces: readonly HostInterface[];
  /** Path and current content of the CNI config; content undefined when the file is missing. */
  readonly cniConf: { readonly path: string; readonly content?: string };
  /**
   * Whether the kernel offers IPVS (and the dummy link kube-dummy-if needs). Absent means
   * "not probed" (treated as available). When unavailable, `reason` says what to load.
   */
  readonly ipvs?: { readonly available: boolean; readonly reason?: string };
  /**
   * Current `net/ipv4/conf/<name>/rp_filter` per name (`all`, `kube-bridge`, `kube-dummy-if`,
   * each interface) where it exists; absent = not read. The proxy turns 1 (strict) into 2
   * (loose) as upstream does, and leaves 0 and 2 alone.
   */
  readonly rpFilter?: Readonly<Record<string, string>>;
}
