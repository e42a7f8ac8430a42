/**
 * What a benchmarked node runs with: upstream's default flags for the generated cluster's
 * node 0, the CNI config in a scratch directory, and (for the pure rows) the host facts the
 * kernel fixture gives that node: `lo` and `eth0` carrying the node IP on the node subnet.
 */
import type { Driver } from "../src/apply/driver.ts";
import { filesDriver } from "../src/apply/files/driver.ts";
import { MemoryFileSystem } from "../src/apply/files/fake.ts";
import { ipDriver } from "../src/apply/ip/driver.ts";
import { ipsetDriver } from "../src/apply/ipset/driver.ts";
import { iptablesBackend } from "../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../src/apply/iptables/driver.ts";
import { sysctlDriver } from "../src/apply/sysctl/driver.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../src/model/config.ts";
import type { HostFacts } from "../src/model/host.ts";
import type { GeneratedCluster } from "./gen.ts";

/** Name of the node's uplink in the kernel fixture (and in the synthetic host facts). */
export const NODE_IFACE = "eth0";
export const NODE_MTU = 1500;

/** Upstream defaults, as node 0, with the CNI config at `cniConfFile`. */
export function benchConfig(g: GeneratedCluster, cniConfFile: string): NodeConfig {
  return { ...DEFAULT_CONFIG, hostnameOverride: g.selfNode, cniConfFile };
}

/** The host facts of node 0 in the kernel fixture (no CNI config yet). */
export function benchHost(g: GeneratedCluster, cniConfFile: string): HostFacts {
  return {
    interfaces: [
      { name: "lo", mtu: 65536, addrs: ["127.0.0.1/8", "::1/128"] },
      { name: NODE_IFACE, mtu: NODE_MTU, addrs: [`${g.selfIp}/${g.nodePrefix}`] },
    ],
    cniConf: { path: cniConfFile },
  };
}

/** Drivers for pure compiles (nft backend; the file system is in memory and never touched). */
export function pureDrivers(): Driver[] {
  return [sysctlDriver(), ipDriver(), ipsetDriver(), iptablesDriver(iptablesBackend("nft")), filesDriver(new MemoryFileSystem())];
}
