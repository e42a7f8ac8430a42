/**
 * The controllers in the order their builtin-chain jumps are placed (firewall jumps first,
 * so policy sees traffic before the router's FORWARD accepts; the LoadBalancer allocator,
 * cluster-wide, has none). The firewall lives in ./firewall/, the service proxy in ./proxy/,
 * BGP in ./bgp/ (its own lane, enabled with the router), the allocator in ./lballoc/, the route
 * extender in ./extender/ (always enabled: it removes its objects when turned off).
 *
 * @category render
 */
import type { Controller } from "./controller.ts";
import { firewallController } from "./firewall/index.ts";
import { extenderController } from "./extender/index.ts";
import { lballocController } from "./lballoc/index.ts";
import { proxyController } from "./proxy/index.ts";
import { routerController } from "./router.ts";
import { bgpController } from "./bgp/controller.ts";

export { firewallController };

/** Every controller, in jump-placement order. */
export const CONTROLLERS: readonly Controller[] = [firewallController, proxyController, routerController, bgpController, lballocController, extenderController];
