/**
 * The service-proxy controller (`--run-service-proxy`): its render and what it claims.
 *
 * Claims (what the engine keeps as observed when the proxy does not render — flag off, or
 * failed, e.g. no IPVS in the kernel): kube-dummy-if and its addresses, the local-table routes
 * on kube-dummy-if and table 78's, the fwmark rules to tables 78/79, the proxy's chains, sets
 * and builtin-chain jumps (`-m ipvs` or a jump to a proxy chain), its sysctls, and every
 * observed IPVS service and real server. The last is safe because the IPVS driver observes only
 * services for which `ownsIpvsService` (model/names.ts) holds — VIP in a service range, on
 * kube-dummy-if, a local address with a NodePort-range port, or a DSR fwmark — so foreign IPVS
 * services never reach the engine and are never touched; ownership by VIP is decided from
 * kernel state and flags alone, so it also holds for `--cleanup-config` and for stale services
 * whose Kubernetes object is gone.
 *
 * @category render
 */
import { IPSET, KUBE_DUMMY_IF, PROXY_CHAIN, ipsetName } from "../../model/names.ts";
import type { Chain, Ipset, Jump, Link, PolicyRule, Route, Sysctl } from "../../model/state.ts";
import type { Controller } from "../controller.ts";
import { renderProxy } from "./render.ts";

const CHAINS: ReadonlySet<string> = new Set(Object.values(PROXY_CHAIN));
const SETS: ReadonlySet<string> = new Set([IPSET.localIps, IPSET.serviceVips, IPSET.serviceVipPorts].flatMap((n) => [n, ipsetName(n, "ipv6")]));
const jumpTarget = (j: Jump) => / -j (\S+)/.exec(` ${j.rule}`)?.[1] ?? "";

export const proxyController: Controller = {
  name: "proxy",
  enabled: (cfg) => cfg.runServiceProxy,
  claims(table, obj) {
    switch (table) {
      case "chains": return CHAINS.has((obj as Chain).name);
      case "jumps": return CHAINS.has(jumpTarget(obj as Jump)) || (obj as Jump).rule.includes("-m ipvs");
      case "ipsets": return SETS.has((obj as Ipset).name);
      case "links": return (obj as Link).name === KUBE_DUMMY_IF;
      case "addresses": return true; // only kube-dummy-if addresses are observed
      case "routes": return (obj as Route).dev === KUBE_DUMMY_IF || (obj as Route).table === "78";
      case "rules": return (obj as PolicyRule).table === "78" || (obj as PolicyRule).table === "79";
      case "sysctls": return (obj as Sysctl).path.startsWith("net/ipv4/vs/") || /^net\/ipv4\/conf\/all\/arp_(ignore|announce)$/.test((obj as Sysctl).path);
      case "ipvsServices": case "ipvsReals": return true; // the IPVS driver observes owned ones only
      default: return false;
    }
  },
  render: renderProxy,
};
