/**
 * Native-format text of a node state, one block per tool, sorted: what golden files hold as
 * "desired state per table" and what an operator compares with `iptables-save`, `ipset save`,
 * `ip route`. Pure.
 *
 * @category agent
 */
import { fdbAddLine } from "../apply/bridge/compile.ts";
import { dsrTunnelText } from "../apply/dsr-pod/driver.ts";
import { healthCheckLine } from "../apply/healthcheck/driver.ts";
import { BGP_TABLE_NAMES } from "../model/bgp.ts";
import { lbStatusLine } from "../apply/kube-status/driver.ts";
import { configMapKeyLine } from "../apply/kube-configmap/driver.ts";
import type { TableName } from "../model/registry.ts";
import { bgpChangeText } from "../model/bgp-text.ts";
import type { NodeState } from "../model/state.ts";
import { ipvsText } from "../render/proxy/ipvsadm-text.ts";

/** iptables-save-like text of owned chains and builtin-chain jumps, per family and table. */
export function iptablesText(s: NodeState): string {
  const groups = new Map<string, string[]>();
  const push = (fam: string, table: string, line: string) => {
    const k = `${fam} ${table}`;
    groups.set(k, [...(groups.get(k) ?? []), line]);
  };
  for (const c of s.chains.values()) {
    push(c.family, c.table, `:${c.name} - [0:0]`);
    for (const r of c.rules) push(c.family, c.table, `-A ${c.name} ${r}`);
  }
  for (const j of [...s.jumps.values()].sort((a, b) => a.position - b.position)) push(j.family, j.table, `-I ${j.chain} ${j.position} ${j.rule}`);
  return [...groups.keys()].sort().map((k) => {
    const [fam, table] = k.split(" ");
    const lines = groups.get(k)!;
    const heads = lines.filter((l) => l.startsWith(":"));
    return `# ${fam}\n*${table}\n${[...heads, ...lines.filter((l) => !l.startsWith(":"))].join("\n")}\nCOMMIT\n`;
  }).join("");
}

/** ipset save-like text: create lines then sorted members. */
export function ipsetText(s: NodeState): string {
  return [...s.ipsets.values()].map((set) => {
    const head = `create ${set.name} ${set.type} family ${set.family}${set.timeout !== undefined ? ` timeout ${set.timeout}` : ""}`;
    return [head, ...[...set.members].sort().map((m) => `add ${set.name} ${m}`)].join("\n") + "\n";
  }).join("");
}

/** ip-command-like text of links, addresses, routes, policy rules, neighbour entries and FoU ports. */
export function ipText(s: NodeState): string {
  const lines: string[] = [];
  for (const l of s.links.values()) {
    const t = l.tunnel;
    const tunnel = t ? ` remote ${t.remote}${t.local ? ` local ${t.local}` : ""}${t.ttl !== undefined ? ` ttl ${t.ttl}` : ""}${t.encap ? ` encap ${t.encap.type} encap-dport ${t.encap.dport}` : ""}` : "";
    const extra = l.vxlan ? ` id ${l.vxlan.id}${l.vxlan.local ? ` local ${l.vxlan.local}` : ""}${l.vxlan.dev ? ` dev ${l.vxlan.dev}` : ""}${l.vxlan.port ? ` dstport ${l.vxlan.port}` : ""}${l.vxlan.learning === false ? " nolearning" : ""}` : tunnel;
    lines.push(`link ${l.name} type ${l.kind}${extra}${l.address !== undefined ? ` address ${l.address}` : ""}${l.mtu !== undefined ? ` mtu ${l.mtu}` : ""} ${l.up ? "up" : "down"}`);
  }
  for (const a of s.addresses.values()) lines.push(`addr ${a.cidr} dev ${a.dev}${a.scope ? ` scope ${a.scope}` : ""}`);
  for (const r of s.routes.values()) {
    lines.push(`route ${r.type && r.type !== "unicast" ? `${r.type} ` : ""}${r.dst}${r.via ? ` via ${r.via}` : ""}${r.dev ? ` dev ${r.dev}` : ""}${r.onlink ? " onlink" : ""}${r.src ? ` src ${r.src}` : ""} proto ${r.proto}${r.table !== "main" ? ` table ${r.table}` : ""}`);
  }
  for (const r of s.rules.values()) lines.push(`rule ${r.family === "ipv6" ? "-6 " : ""}priority ${r.priority} ${r.selector} lookup ${r.table}`);
  for (const n of s.neighbors.values()) lines.push(`neigh ${n.ip} lladdr ${n.lladdr} dev ${n.dev} nud ${n.state}`);
  for (const p of s.fouPorts.values()) lines.push(`fou ${p.family === "ipv6" ? "-6 " : ""}port ${p.port} gue`);
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** `bridge fdb` text of the overlay's FDB entries (the batch lines that create them). */
export function fdbText(s: NodeState): string {
  return [...s.fdb.values()].map((f) => `${fdbAddLine(f)}\n`).join("");
}

/** `sysctl` output form. */
export function sysctlText(s: NodeState): string {
  return [...s.sysctls.values()].map((x) => `${x.path.replace(/\//g, ".")} = ${x.value}\n`).join("");
}

/** Each managed file: a header line then its content. */
export function filesText(s: NodeState): string {
  return [...s.files.values()].map((f) => `# ${f.path} (mode ${f.mode.toString(8).padStart(4, "0")})\n${f.content}`).join("");
}

/** healthCheckNodePort listeners, one line each: port, what it answers, the Service. */
export function healthChecksText(s: NodeState): string {
  return [...s.healthChecks.values()].map((h) => `${healthCheckLine(h)}\n`).join("");
}

/** DSR tunnels inside pods: what runs in each pod's network namespace. */
export function dsrTunnelsText(s: NodeState): string {
  return [...s.dsrTunnels.values()].map((t) => `${dsrTunnelText(t)}\n`).join("");
}

/** The BGP tables as the `gobgp` commands that create them, in apply order (passwords never shown). */
export function bgpText(s: NodeState): string {
  const lines = BGP_TABLE_NAMES.flatMap((t) => [...(s[t] as ReadonlyMap<string, unknown>)].flatMap(([key, after]) => bgpChangeText(t, { op: "create", key, after })));
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** LoadBalancer Services' wanted status, one line each (cluster-wide; written by the Lease holder). */
export function lbStatusText(s: NodeState): string {
  return [...s.lbStatus.values()].map((r) => `${lbStatusLine(r)}\n`).join("");
}

/** The route extender's ConfigMap keys, one line each (cluster-wide; the Lease holder writes all but the node's own Mac- key). */
export function configMapKeysText(s: NodeState): string {
  return [...s.configMapKeys.values()].map((r) => `${configMapKeyLine(r)}\n`).join("");
}

/** One golden file of the desired state: its name, the tables it holds, its text. */
export interface StateText {
  readonly file: string;
  readonly tables: readonly TableName[];
  readonly text: (s: NodeState) => string;
  /** Written only when non-empty (or already present): tables most cases leave empty. */
  readonly optional?: boolean;
}

/** Every table's golden printer (test/registry.test.ts: each table in exactly one). */
export const STATE_TEXTS: readonly StateText[] = [
  { file: "desired.iptables.txt", tables: ["chains", "jumps"], text: iptablesText },
  { file: "desired.ipset.txt", tables: ["ipsets"], text: ipsetText },
  { file: "desired.ip.txt", tables: ["links", "addresses", "routes", "rules", "neighbors", "fouPorts"], text: ipText },
  { file: "desired.fdb.txt", tables: ["fdb"], text: fdbText, optional: true },
  { file: "desired.sysctl.txt", tables: ["sysctls"], text: sysctlText },
  { file: "desired.files.txt", tables: ["files"], text: filesText },
  { file: "desired.ipvs.txt", tables: ["ipvsServices", "ipvsReals", "ipvsTimeouts"], text: ipvsText, optional: true },
  { file: "desired.healthchecks.txt", tables: ["healthChecks"], text: healthChecksText, optional: true },
  { file: "desired.dsr-tunnels.txt", tables: ["dsrTunnels"], text: dsrTunnelsText, optional: true },
  { file: "desired.bgp.txt", tables: [...BGP_TABLE_NAMES], text: bgpText, optional: true },
  { file: "desired.lb-status.txt", tables: ["lbStatus"], text: lbStatusText, optional: true },
  { file: "desired.configmap.txt", tables: ["configMapKeys"], text: configMapKeysText, optional: true },
];
