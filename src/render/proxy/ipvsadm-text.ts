/**
 * `ipvsadm -Sn`-style text of the IPVS tables (golden files, dry-run reading): each virtual
 * service (`-A`) followed by its real servers (`-a`), services in key order, reals in key
 * order. Scheduler flags are written as the model keeps them (`flag-1`, which ipvsadm accepts;
 * it prints them as `mh-fallback`-style names). Same line syntax as the IPVS driver's restore
 * text (src/apply/ipvs/syntax.ts; a test checks they agree). Pure.
 *
 * @category render
 */
import type { IpvsReal, IpvsService, NodeState } from "../../model/state.ts";

const PROTO_FLAG: Record<string, string> = { tcp: "-t", udp: "-u", sctp: "--sctp-service" };
const FORWARD_FLAG: Record<IpvsReal["forward"], string> = { masq: "-m", tunnel: "-i", route: "-g" };
const hostPort = (addr: string, port: number) => (addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`);

/** `-t 10.96.0.10:80`, `-f 4660`: how ipvsadm names a service. */
export function ipvsServiceName(s: IpvsService): string {
  return s.protocol === "fwmark" ? `-f ${s.fwmark ?? 0}${s.family === "ipv6" ? " -6" : ""}` : `${PROTO_FLAG[s.protocol]} ${hostPort(s.address, s.port)}`;
}

/** The `-A` line of a service. */
export function ipvsServiceLine(s: IpvsService): string {
  return `-A ${ipvsServiceName(s)} -s ${s.scheduler}${s.flags.length > 0 ? ` -b ${s.flags.join(",")}` : ""}${s.persistent !== undefined ? ` -p ${s.persistent}` : ""}`;
}

/** The `-a` line of a real server of `s`. */
export function ipvsRealLine(s: IpvsService, r: IpvsReal): string {
  return `-a ${ipvsServiceName(s)} -r ${hostPort(r.address, r.port)} ${FORWARD_FLAG[r.forward]} -w ${r.weight}`;
}

/** The whole IPVS part of a state as `ipvsadm -Sn` prints it ("" when empty). */
export function ipvsText(state: Pick<NodeState, "ipvsServices" | "ipvsReals"> & Partial<Pick<NodeState, "ipvsTimeouts">>): string {
  const reals = new Map<string, IpvsReal[]>();
  for (const [k, r] of [...state.ipvsReals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    void k;
    (reals.get(r.service) ?? reals.set(r.service, []).get(r.service)!).push(r);
  }
  const lines: string[] = [];
  for (const [key, s] of [...state.ipvsServices].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(ipvsServiceLine(s));
    for (const r of reals.get(key) ?? []) lines.push(ipvsRealLine(s, r));
  }
  for (const t of state.ipvsTimeouts?.values() ?? []) lines.push(`# --set ${t.tcp} ${t.tcpfin} ${t.udp} (tcp tcpfin udp; 0 = kernel value kept)`);
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
