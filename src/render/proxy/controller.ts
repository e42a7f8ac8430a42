/**
 * The service-proxy controller (`--run-service-proxy`). What it owns is declared in the
 * registry (model/ownership.ts `proxy*`; the engine keeps it as observed when the proxy does
 * not render — flag off, or failed, e.g. no IPVS in the kernel): kube-dummy-if and its addresses, the local-table routes
 * on kube-dummy-if and table 78's, the fwmark rules to tables 78/79, the proxy's chains, sets
 * and builtin-chain jumps (`-m ipvs` or a jump to a proxy chain), its sysctls, and every
 * observed IPVS service, real server, healthCheckNodePort listener and DSR tunnel. The IPVS part is safe because the IPVS driver observes only
 * services for which `ownsIpvsService` (model/names.ts) holds — VIP in a service range, on
 * kube-dummy-if, a local address with a NodePort-range port, or a DSR fwmark — so foreign IPVS
 * services never reach the engine and are never touched; ownership by VIP is decided from
 * kernel state and flags alone, so it also holds for `--cleanup-config` and for stale services
 * whose Kubernetes object is gone.
 *
 * @category render
 */
import type { Controller } from "../controller.ts";
import { renderProxy } from "./render.ts";

export const proxyController: Controller = {
  name: "proxy",
  enabled: (cfg) => cfg.runServiceProxy,
  render: renderProxy,
};
