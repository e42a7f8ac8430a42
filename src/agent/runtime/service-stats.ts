/**
 * Upstream's per-Service IPVS metrics (features §6.3), produced at scrape time:
 * counters `kube_router_service_total_connections`, `_packets_in`, `_packets_out`,
 * `_bytes_in`, `_bytes_out`; gauges `kube_router_service_pps_in`, `_pps_out`, `_cps`,
 * `_bps_in`, `_bps_out`; labels `svc_namespace`, `service_name`, `service_vip`, `protocol`,
 * `port`; and the histogram `kube_router_controller_ipvs_metrics_export_time` (seconds per
 * export).
 *
 * Guarantees:
 * - one kernel read per scrape, whatever the number of Services: the ten metrics' collects
 *   share one in-flight `read()` (ipvs/stats.ts: two ipvsadm processes);
 * - an IPVS service is reported only when the proxy renders it for a Service now (the same
 *   render, ownership and VIP logic the sync uses: `renderProxyFull`), as upstream reports
 *   only services it maps to a known Service; labels as upstream: `protocol` lower case,
 *   `port` the Service port (for a NodePort service, the port whose nodePort it is),
 *   `service_vip` the IPVS address (cluster IP, external/LB IP, or node IP for NodePorts);
 *   DSR (fwmark) services carry no address and are not reported, as upstream;
 * - a failed read (no IPVS, no ipvsadm) never fails the scrape: these metrics are then
 *   empty and `onError` hears the one-line reason.
 *
 * @category agent
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { IpvsServiceStats } from "../../apply/ipvs/stats.ts";
import { ChunkedTable } from "../../model/chunked-table.ts";
import type { ClusterSnapshot } from "../../model/cluster.ts";
import type { NodeConfig } from "../../model/config.ts";
import type { HostFacts } from "../../model/host.ts";
import type { IpvsService } from "../../model/state.ts";
import { renderProxyFull } from "../../render/proxy/index.ts";

/** Upstream's label set of the per-Service metrics. */
export interface ServiceLabels {
  readonly svc_namespace: string;
  readonly service_name: string;
  readonly service_vip: string;
  readonly protocol: string;
  readonly port: string;
}

export interface ServiceStatsSources {
  /** One read of every virtual service's counters and rates. */
  readonly read: () => Promise<readonly IpvsServiceStats[]>;
  /** IPVS service key → the Service it serves now. */
  readonly owners: () => ReadonlyMap<string, ServiceLabels>;
  readonly onError?: (line: string) => void;
}

const LABELS = ["svc_namespace", "service_name", "service_vip", "protocol", "port"] as const;
const P = "kube_router_";

/**
 * Maps the proxy's rendered IPVS services (a ChunkedTable with one chunk per Service, keyed
 * `namespace/name`) to upstream's labels. Pure.
 */
export function serviceLabels(snapshot: ClusterSnapshot, ipvs: ReadonlyMap<string, IpvsService>): Map<string, ServiceLabels> {
  const out = new Map<string, ServiceLabels>();
  if (!(ipvs instanceof ChunkedTable)) return out;
  for (const [ref, chunk] of ipvs.chunks) {
    const svc = snapshot.services.get(ref);
    if (svc === undefined) continue; // DSR chunks (`ref\0dsr`) and anything not a Service
    const serviceIps = new Set([...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIngress.flatMap((i) => (i.ip ? [i.ip] : []))]);
    for (const [key, s] of chunk) {
      if (s.protocol === "fwmark") continue;
      const ports = svc.ports.filter((p) => p.protocol.toLowerCase() === s.protocol);
      const port = serviceIps.has(s.address)
        ? ports.find((p) => p.port === s.port)?.port
        : ports.find((p) => p.nodePort === s.port)?.port ?? ports.find((p) => p.port === s.port)?.port;
      out.set(key, { svc_namespace: svc.namespace, service_name: svc.name, service_vip: s.address, protocol: s.protocol, port: String(port ?? s.port) });
    }
  }
  return out;
}

/** `owners` from the proxy's render of the current snapshot with the host facts of the last sync. */
export function proxyOwners(o: { config: NodeConfig; nodeName: string; snapshot: () => ClusterSnapshot; host: () => HostFacts | undefined }): () => ReadonlyMap<string, ServiceLabels> {
  return () => {
    const host = o.host();
    if (host === undefined) return new Map(); // no sync yet: nothing is ours to report
    const r = renderProxyFull({ snapshot: o.snapshot(), config: o.config, host, nodeName: o.nodeName }).result;
    return "ok" in r && r.ok.state.ipvsServices ? serviceLabels(o.snapshot(), r.ok.state.ipvsServices) : new Map();
  };
}

type Field = Exclude<keyof IpvsServiceStats, "key" | "service">;

/** Registers the per-Service metrics and the export-time histogram in `registry`. */
export function registerServiceStats(registry: Registry, src: ServiceStatsSources): void {
  const registers = [registry];
  // Its collect waits for this scrape's export, so a scrape shows its own export time too.
  const exportTime = new Histogram({
    name: `${P}controller_ipvs_metrics_export_time`, help: "Time to export the per-Service IPVS metrics (seconds; upstream name).", buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers,
    async collect() { await rows(); },
  });
  let inFlight: Promise<readonly (readonly [ServiceLabels, IpvsServiceStats])[]> | undefined;
  function rows(): Promise<readonly (readonly [ServiceLabels, IpvsServiceStats])[]> {
    inFlight ??= (async () => {
      const t0 = performance.now();
      try {
        const [stats, owners] = [await src.read(), src.owners()];
        return stats.flatMap((s) => { const l = owners.get(s.key); return l ? [[l, s] as const] : []; });
      } catch (e) {
        src.onError?.(`per-Service IPVS metrics: ${(e as Error).message.split("\n")[0]}`);
        return [];
      } finally {
        exportTime.observe((performance.now() - t0) / 1000);
        inFlight = undefined;
      }
    })();
    return inFlight;
  }
  const metric = (Kind: typeof Counter | typeof Gauge, name: string, help: string, field: Field) =>
    new Kind({
      name: `${P}${name}`, help: `${help} (upstream name).`, labelNames: LABELS, registers,
      async collect() {
        const got = await rows();
        this.reset();
        for (const [labels, s] of got) {
          if (this instanceof Counter) this.inc({ ...labels }, s[field]);
          else (this as Gauge).set({ ...labels }, s[field]);
        }
      },
    });
  metric(Counter, "service_total_connections", "Total incoming connections made", "conns");
  metric(Counter, "service_packets_in", "Total incoming packets", "inPkts");
  metric(Counter, "service_packets_out", "Total outgoing packets", "outPkts");
  metric(Counter, "service_bytes_in", "Total incoming bytes", "inBytes");
  metric(Counter, "service_bytes_out", "Total outgoing bytes", "outBytes");
  metric(Gauge, "service_pps_in", "Incoming packets per second", "inPps");
  metric(Gauge, "service_pps_out", "Outgoing packets per second", "outPps");
  metric(Gauge, "service_cps", "Service connections per second", "cps");
  metric(Gauge, "service_bps_in", "Incoming bytes per second", "inBps");
  metric(Gauge, "service_bps_out", "Outgoing bytes per second", "outBps");
}
