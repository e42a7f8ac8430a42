/**
 * The controllers in the order their builtin-chain jumps are placed (firewall jumps first,
 * so policy sees traffic before the router's FORWARD accepts). Firewall and service proxy
 * are not built yet: their objects are claimed (kept as observed, never pruned) but nothing
 * is rendered for them.
 *
 * @category render
 */
import { IPSET, KUBE_DUMMY_IF, ipsetName } from "../model/names.ts";
import type { Chain, Ipset, Jump, Link, PolicyRule } from "../model/state.ts";
import type { Controller } from "./controller.ts";
import { routerController } from "./router.ts";

const baseName = (n: string) => (n.startsWith("inet6:") ? n.slice(6) : n);
const FIREWALL_TOP = new Set(["KUBE-ROUTER-INPUT", "KUBE-ROUTER-FORWARD", "KUBE-ROUTER-OUTPUT"]);
const isFirewallChain = (n: string) => FIREWALL_TOP.has(n) || n.startsWith("KUBE-NWPLCY-") || n.startsWith("KUBE-POD-FW-");
const PROXY_CHAINS = new Set(["KUBE-ROUTER-SERVICES", "KUBE-ROUTER-HAIRPIN"]);
const PROXY_SETS = new Set([IPSET.localIps, IPSET.serviceVips, IPSET.serviceVipPorts].flatMap((n) => [n, ipsetName(n, "ipv6")]));
const jumpTarget = (j: Jump) => / -j (\S+)/.exec(` ${j.rule}`)?.[1] ?? "";

/** NetworkPolicy firewall (`--run-firewall`): not built yet; its objects are preserved. */
export const firewallController: Controller = {
  name: "firewall",
  enabled: (cfg) => cfg.runFirewall,
  claims(table, obj) {
    switch (table) {
      case "chains": return isFirewallChain((obj as Chain).name);
      case "jumps": return isFirewallChain(jumpTarget(obj as Jump)) || (obj as Jump).comment.startsWith("kube-router netpol");
      case "ipsets": {
        const n = baseName((obj as Ipset).name);
        return n.startsWith("KUBE-SRC-") || n.startsWith("KUBE-DST-") || n === IPSET.localPods;
      }
      default: return false;
    }
  },
};

/** IPVS service proxy (`--run-service-proxy`): not built yet; its objects are preserved. */
export const proxyController: Controller = {
  name: "proxy",
  enabled: (cfg) => cfg.runServiceProxy,
  claims(table, obj) {
    switch (table) {
      case "chains": return PROXY_CHAINS.has((obj as Chain).name);
      case "jumps": return PROXY_CHAINS.has(jumpTarget(obj as Jump)) || (obj as Jump).rule.includes("-m ipvs");
      case "ipsets": return PROXY_SETS.has((obj as Ipset).name);
      case "links": return (obj as Link).name === KUBE_DUMMY_IF;
      case "addresses": return true; // only kube-dummy-if addresses are observed
      case "rules": return (obj as PolicyRule).table === "78" || (obj as PolicyRule).table === "79";
      default: return false;
    }
  },
};

/** Every controller, in jump-placement order. */
export const CONTROLLERS: readonly Controller[] = [firewallController, proxyController, routerController];
