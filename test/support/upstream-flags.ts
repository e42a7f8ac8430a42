/**
 * Upstream kube-router's flags and their defaults (reference/kube-router-features.md §1.1–1.5),
 * written as upstream's help prints them; shared by the config and flags tests.
 */
export const UPSTREAM_DEFAULTS: Readonly<Record<string, boolean | string | number | readonly (string | number)[]>> = {
  // §1.1
  "run-router": true, "run-service-proxy": true, "run-firewall": true, "run-loadbalancer": false,
  kubeconfig: "", master: "", "hostname-override": "", "cache-sync-timeout": "1m0s", "cleanup-config": false,
  "enable-ipv4": true, "enable-ipv6": false, "health-addr": "", "health-port": 20244, "metrics-addr": "",
  "metrics-port": 0, "metrics-path": "/metrics", "enable-pprof": false, v: "0", help: false, version: false,
  "service-cluster-ip-range": ["10.96.0.0/12"], "service-external-ip-range": [], "loadbalancer-ip-range": [],
  "strict-external-ip-validation": true, "service-node-port-range": "30000-32767",
  // §1.2
  "ipvs-sync-period": "5m0s", "ipvs-permit-all": true, "ipvs-graceful-termination": false, "ipvs-graceful-period": "30s",
  "masquerade-all": false, "nodeport-bindon-all-ip": false, "hairpin-mode": false, "excluded-cidrs": [],
  "runtime-endpoint": "", "service-tcp-timeout": "0s", "service-tcpfin-timeout": "0s", "service-udp-timeout": "0s",
  // §1.3
  "iptables-sync-period": "5m0s", "netpol-default-deny": false, "use-nftables-for-netpol": false,
  // §1.4
  "routes-sync-period": "5m0s", "injected-routes-sync-period": "1m0s", "cluster-asn": 0, "nodes-full-mesh": true,
  "enable-ibgp": true, "peer-router-ips": [], "peer-router-asns": [], "peer-router-ports": [], "peer-router-passwords": [],
  "peer-router-passwords-file": "", "peer-router-multihop-ttl": 0, "bgp-port": 179, "bgp-holdtime": "1m30s",
  "bgp-graceful-restart": false, "bgp-graceful-restart-time": "1m30s", "bgp-graceful-restart-deferral-time": "6m0s",
  "enable-bfd": false, "bfd-port": 3784, "bfd-detection-multiplier": 3, "bfd-desired-min-tx-interval": 1000,
  "bfd-required-min-rx-interval": 1000, "router-id": "", "override-nexthop": false, "advertise-cluster-ip": false,
  "advertise-external-ip": false, "advertise-loadbalancer-ip": false, "advertise-pod-cidr": true,
  "gobgp-admin-address": "127.0.0.1", "gobgp-admin-port": 50051, "enable-overlay": true, "overlay-type": "subnet",
  "overlay-encap": "ipip", "overlay-encap-port": 5555, "enable-cni": true, "auto-mtu": true, "enable-pod-egress": true,
  "disable-source-dest-check": true,
  // §1.5
  "loadbalancer-default-class": true, "loadbalancer-sync-period": "1m0s",
};

/** Upstream flags of Go type time.Duration. */
export const DURATION_FLAGS: ReadonlySet<string> = new Set([
  "cache-sync-timeout", "ipvs-sync-period", "ipvs-graceful-period", "service-tcp-timeout", "service-tcpfin-timeout",
  "service-udp-timeout", "iptables-sync-period", "routes-sync-period", "injected-routes-sync-period", "bgp-holdtime",
  "bgp-graceful-restart-time", "bgp-graceful-restart-deferral-time", "loadbalancer-sync-period",
]);

/** The NodeConfig field-name rule: camelCase of the flag with every word capitalised. */
export function fieldOf(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
