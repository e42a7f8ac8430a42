/**
 * Upstream's BGP metric names (kube-router-features.md §6.3), plus per-peer session state and
 * prefix counts, read from our gobgpd at scrape time (one ListPeer per scrape) and from the
 * plans the agent applied:
 *
 * - `kube_router_bgp_peer_info{address,type,asn,state}` gauge 1 per peer; `type` internal
 *   (iBGP / route-reflector peers) or external, `state` GoBGP's session state name;
 * - `kube_router_bgp_peer_session_state{address}` the BGP FSM state as a number (1 idle,
 *   2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established; 0 unknown);
 * - `kube_router_bgp_peer_prefixes_received{address,family}` / `_accepted` / `_sent`;
 * - `kube_router_controller_bgp_advertisements_sent{type}` counter: paths added (`pod-route`
 *   for pod CIDRs, `advertise-vip` for /32 and /128 VIPs) and VIPs withdrawn (`withdraw-vip`),
 *   counted from each applied plan;
 * - `kube_router_controller_bgp_advertisements_received` counter: best-path updates from peers
 *   (GoBGP's event stream, as the gobgp driver counts them);
 * - `kube_router_controller_bgp_internal_peers_sync_time` histogram: duration of each bgp
 *   controller sync that changed iBGP peers (upstream: the internal-peer sync).
 *
 * A scrape while gobgpd is down reports no peer (and never fails the scrape).
 *
 * @category agent
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Driver } from "../../apply/driver.ts";
import type { GobgpApi } from "../../apply/gobgp/driver.ts";
import { peerFromWire } from "../../apply/gobgp/peers.ts";
import type { NodePlan } from "../../model/plan.ts";

const P = "kube_router_";
const STATE_NUMBER: Readonly<Record<string, number>> = { idle: 1, connect: 2, active: 3, opensent: 4, openconfirm: 5, established: 6 };

/** The gobgp driver's parts the metrics read (driver.ts `gobgpDriver`). */
interface GobgpDriverView {
  readonly api: GobgpApi;
  readonly receivedUpdates?: () => number;
  /** How long the last apply took (ms). */
  readonly lastApplyMs?: () => number | undefined;
}

/** The gobgp driver among `drivers`, when one talks to a gobgpd. */
export function gobgpView(drivers: readonly Driver[]): GobgpDriverView | undefined {
  const d = drivers.find((x) => x.name === "gobgp") as (Driver & Partial<GobgpDriverView>) | undefined;
  return d?.api !== undefined ? (d as Driver & GobgpDriverView) : undefined;
}

export interface BgpMetrics {
  register(registry: Registry, drivers: readonly Driver[]): void;
  /** Counts what an applied sync advertised and withdrew, and times iBGP peer changes. */
  sawSync(outcome: { readonly plan: NodePlan; readonly ran: number }): void;
}

export function bgpMetrics(): BgpMetrics {
  let sent: Counter<"type"> | undefined;
  let peerSync: Histogram | undefined;
  let view: GobgpDriverView | undefined;
  return {
    register(registry, drivers) {
      view = gobgpView(drivers);
      const registers = [registry];
      // one ListPeer per scrape: the gauges collected together share it (kept 500 ms)
      let cached: { at: number; peers: Promise<{ p: ReturnType<typeof peerFromWire>; kind: string }[]> } | undefined;
      const peersOnce = () => {
        if (cached === undefined || Date.now() - cached.at > 500) {
          const peers = view ? view.api.listPeer().then((ps) => ps.map((w) => ({ p: peerFromWire(w), kind: w.conf?.description ?? "" }))).catch(() => []) : Promise.resolve([]);
          cached = { at: Date.now(), peers };
        }
        return cached.peers;
      };
      new Gauge({
        name: `${P}bgp_peer_info`, help: "BGP peers of this node's gobgpd (value 1), with their type, ASN and session state.", labelNames: ["address", "type", "asn", "state"], registers,
        async collect() {
          this.reset();
          for (const { p, kind } of await peersOnce()) {
            this.set({ address: p.spec.address, type: kind === "ibgp" || kind === "rr" ? "internal" : "external", asn: String(p.spec.asn), state: p.state }, 1);
          }
        },
      });
      new Gauge({
        name: `${P}bgp_peer_session_state`, help: "BGP session state per peer: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established (0 unknown).", labelNames: ["address"], registers,
        async collect() {
          this.reset();
          for (const { p } of await peersOnce()) this.set({ address: p.spec.address }, STATE_NUMBER[p.state] ?? 0);
        },
      });
      for (const [what, field, help] of [
        ["received", "received", "Prefixes received from the peer, per family."],
        ["accepted", "accepted", "Prefixes received from the peer and accepted by the import policy, per family."],
        ["sent", "advertised", "Prefixes advertised to the peer, per family."],
      ] as const) {
        new Gauge({
          name: `${P}bgp_peer_prefixes_${what}`, help, labelNames: ["address", "family"], registers,
          async collect() {
            this.reset();
            for (const { p } of await peersOnce()) for (const f of p.families) this.set({ address: p.spec.address, family: f.family }, f[field]);
          },
        });
      }
      new Counter({
        name: `${P}controller_bgp_advertisements_received`, help: "BGP best-path updates received from peers.", registers,
        collect() {
          this.reset();
          this.inc(view?.receivedUpdates?.() ?? 0);
        },
      });
      sent = new Counter({ name: `${P}controller_bgp_advertisements_sent`, help: "Paths advertised (pod-route, advertise-vip) and VIPs withdrawn (withdraw-vip) by this node.", labelNames: ["type"], registers });
      peerSync = new Histogram({ name: `${P}controller_bgp_internal_peers_sync_time`, help: "Duration of bgp controller syncs that changed iBGP or route-reflector peers, in seconds.", buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10], registers });
    },
    sawSync(outcome) {
      if (outcome.ran === 0) return;
      for (const c of outcome.plan.bgpPaths) {
        const prefix = c.op === "delete" ? c.before.prefix : c.after.prefix;
        const host = prefix.endsWith("/32") || prefix.endsWith("/128");
        if (c.op === "delete") { if (host) sent?.inc({ type: "withdraw-vip" }); } else sent?.inc({ type: host ? "advertise-vip" : "pod-route" });
      }
      const internal = outcome.plan.bgpPeers.some((c) => (c.op === "delete" ? c.before.kind : c.after.kind) !== "external");
      const ms = view?.lastApplyMs?.();
      if (internal && ms !== undefined) peerSync?.observe(ms / 1000);
    },
  };
}
