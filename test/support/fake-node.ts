/**
 * Test support: a whole node over semantic fakes — iptables, ipset, ip, bridge, ipvsadm, sysctl, a
 * memory file system, healthCheckNodePort listeners, pod namespaces, a gobgpd and an API server's Services — with the real drivers
 * on top (one per driver family of the registry: a family without a fake is a compile error) (IPVS ownership as the default flags give), so the engine runs exactly as in production
 * but in memory. Foreign state is seeded in each tool's own dump format.
 */
import { bridgeDriver } from "../../src/apply/bridge/driver.ts";
import { FakeBridge } from "../../src/apply/bridge/fake.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { filesDriver } from "../../src/apply/files/driver.ts";
import { MemoryFileSystem } from "../../src/apply/files/fake.ts";
import { ipDriver } from "../../src/apply/ip/driver.ts";
import { FakeIp } from "../../src/apply/ip/fake.ts";
import { ipsetDriver } from "../../src/apply/ipset/driver.ts";
import { FakeIpset } from "../../src/apply/ipset/fake.ts";
import { iptablesBackend } from "../../src/apply/iptables/backend.ts";
import { iptablesDriver } from "../../src/apply/iptables/driver.ts";
import { FakeIptables } from "../../src/apply/iptables/fake.ts";
import { ipvsDriver, ipvsDriverOptions } from "../../src/apply/ipvs/driver.ts";
import { FakeIpvsadm } from "../../src/apply/ipvs/fake.ts";
import { sysctlDriver } from "../../src/apply/sysctl/driver.ts";
import { FakeSysctl } from "../../src/apply/sysctl/fake.ts";
import type { EngineDeps } from "../../src/agent/engine.ts";
import type { Driver } from "../../src/apply/driver.ts";
import { dsrDriver } from "../../src/apply/dsr-pod/driver.ts";
import { FakeNsenter, fakeRuntime } from "../../src/apply/dsr-pod/fake.ts";
import { healthCheckDriver } from "../../src/apply/healthcheck/driver.ts";
import { FakeHealthCheckServers } from "../../src/apply/healthcheck/fake.ts";
import { kubeStatusDriver } from "../../src/apply/kube-status/driver.ts";
import { MemoryServiceStatusApi } from "../../src/apply/kube-status/fake.ts";
import { kubeConfigMapDriver } from "../../src/apply/kube-configmap/driver.ts";
import { MemoryConfigMapApi } from "../../src/apply/kube-configmap/memory.ts";
import type { ServiceInfo } from "../../src/model/cluster.ts";
import type { DriverFamily } from "../../src/model/registry.ts";
import { gobgpDriver } from "../../src/apply/gobgp/driver.ts";
import { FakeGobgpBackend } from "../../src/apply/gobgp/fake.ts";
import { handles } from "../../src/render/lballoc/allocate.ts";
import type { HostFacts, HostInterface } from "../../src/model/host.ts";
import { DEFAULT_CONFIG } from "../../src/model/config.ts";

/** Sysctls the router sets, present (as on a fresh node) so the fake knows the keys. */
const FRESH_SYSCTLS: Readonly<Record<string, string>> = {
  "net/ipv4/ip_forward": "0",
  "net/ipv4/conf/all/rp_filter": "1",
  "net/ipv4/conf/default/rp_filter": "1",
  "net/bridge/bridge-nf-call-iptables": "1",
  "net/bridge/bridge-nf-call-ip6tables": "1",
  "net/ipv6/conf/all/disable_ipv6": "0",
  "net/ipv6/conf/all/forwarding": "0",
  // the service proxy's (a kernel with IPVS loaded)
  "net/ipv4/vs/conntrack": "0",
  "net/ipv4/vs/expire_nodest_conn": "0",
  "net/ipv4/vs/expire_quiescent_template": "0",
  "net/ipv4/vs/conn_reuse_mode": "1",
  "net/ipv4/vs/sloppy_tcp": "0",
  "net/ipv4/conf/all/arp_ignore": "0",
  "net/ipv4/conf/all/arp_announce": "0",
};

export interface FakeNodeSeed {
  readonly interfaces: readonly HostInterface[];
  readonly cniConf: { readonly path: string; readonly content?: string };
  readonly iptablesSave?: { readonly ipv4?: string; readonly ipv6?: string };
  readonly ipsetSave?: string;
  readonly routes?: readonly { dst: string; via?: string; dev?: string; proto?: string; table?: string }[];
  readonly links?: readonly { name: string; kind: string; mtu?: number; up?: boolean }[];
  readonly sysctls?: Readonly<Record<string, string>>;
  /** HostFacts.ipvs as the host probe would report it (e.g. `{available: false}`). */
  readonly ipvs?: HostFacts["ipvs"];
  /** Services the fake API server holds (the LoadBalancer status driver reads and writes them). */
  readonly services?: Iterable<ServiceInfo>;
  /** ConfigMaps the fake API server holds, by `ns/name` (the route extender's driver reads and writes them). */
  readonly configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface FakeNode {
  readonly deps: EngineDeps;
  readonly exec: ReturnType<typeof fakeExec>;
  readonly fs: MemoryFileSystem;
  readonly iptables: FakeIptables;
  readonly ipset: FakeIpset;
  readonly ip: FakeIp;
  /** `bridge` over the same fake kernel (links) as `ip`. */
  readonly bridge: FakeBridge;
  readonly ipvs: FakeIpvsadm;
  readonly healthChecks: FakeHealthCheckServers;
  readonly pods: FakeNsenter;
  /** The in-memory gobgpd (its `api` counts calls; `crash()` restarts it empty). */
  readonly gobgp: FakeGobgpBackend;
  /** The fake API server's Services (status writes land here). */
  readonly services: MemoryServiceStatusApi;
  /** The fake API server's ConfigMaps (the route extender's writes land here). */
  readonly configMaps: MemoryConfigMapApi;
}

/** Builds a fake node from a seed; throws if the seed is something the kernel would refuse. */
export function fakeNode(seed: FakeNodeSeed): FakeNode {
  const iptables = new FakeIptables();
  if (seed.iptablesSave?.ipv4) iptables.seed("ipv4", seed.iptablesSave.ipv4);
  if (seed.iptablesSave?.ipv6) iptables.seed("ipv6", seed.iptablesSave.ipv6);
  const ipset = new FakeIpset();
  if (seed.ipsetSave) ipset.seed(seed.ipsetSave);
  const ip = new FakeIp();
  for (const i of seed.interfaces) {
    if (i.name === "lo") continue; // the fake kernel has lo with 127.0.0.1/8 and ::1 already
    ip.seedLink({ name: i.name, kind: "veth", up: true, mtu: i.mtu });
    for (const a of i.addrs) ip.seedAddress(i.name, a);
  }
  for (const l of seed.links ?? []) ip.seedLink(l);
  for (const r of seed.routes ?? []) ip.seedRoute(r);
  const sysctl = new FakeSysctl({ ...FRESH_SYSCTLS, ...seed.sysctls });
  const fs = new MemoryFileSystem(seed.cniConf.content !== undefined ? { [seed.cniConf.path]: { content: seed.cniConf.content, mode: 0o644 } } : {});
  const ipvs = new FakeIpvsadm();
  const pods = new FakeNsenter();
  const bridge = new FakeBridge(ip.kernel);
  const exec = fakeExec(iptables, ipset, ip, bridge, sysctl, ipvs, pods);
  const healthChecks = new FakeHealthCheckServers();
  const gobgp = new FakeGobgpBackend();
  const services = new MemoryServiceStatusApi().seed(seed.services ?? []);
  const configMaps = new MemoryConfigMapApi(seed.configMaps ?? {});
  const readHost = async (): Promise<HostFacts> => {
    const file = fs.read(seed.cniConf.path);
    return { interfaces: seed.interfaces, cniConf: { path: seed.cniConf.path, ...(file ? { content: file.content } : {}) }, ...(seed.ipvs ? { ipvs: seed.ipvs } : {}) };
  };
  const fakes: { readonly [F in DriverFamily]: () => Driver } = {
    sysctl: () => sysctlDriver(),
    files: () => filesDriver(fs),
    ip: () => ipDriver(),
    bridge: () => bridgeDriver(),
    ipset: () => ipsetDriver(),
    iptables: () => iptablesDriver(iptablesBackend("nft")),
    ipvs: () => ipvsDriver(ipvsDriverOptions(DEFAULT_CONFIG)),
    healthcheck: () => healthCheckDriver(healthChecks),
    dsr: () => dsrDriver(() => fakeRuntime()),
    gobgp: () => gobgpDriver({ stateDir: "/run/fake-node", planOnly: false, backend: gobgp }),
    "kube-status": () => kubeStatusDriver({ api: services, handles: (s) => handles({ type: s.type as "LoadBalancer", ...(s.loadBalancerClass ? { loadBalancerClass: s.loadBalancerClass } : {}) }, DEFAULT_CONFIG) }),
    "kube-configmap": () => kubeConfigMapDriver({ api: configMaps }),
  };
  const drivers = Object.values(fakes).map((make) => make());
  return { deps: { exec, drivers, readHost }, exec, fs, iptables, ipset, ip, bridge, ipvs, healthChecks, pods, gobgp, services, configMaps };
}
