/**
 * NodePlan → ONE `ipvsadm --restore` text per sync (plus, for removed UDP real servers, ONE
 * `conntrack -R -` batch). Pure and deterministic: no I/O, no clock; every group sorted by key.
 *
 * Restore text, in this order (each group by key):
 * 1. `-d` real servers deleted from a service that stays (a real of a deleted service is not
 *    deleted on its own: `-D` takes its reals with it), and the `-d` half of a real whose
 *    forwarding method changes (the kernel cannot edit the method in place reliably);
 *    with graceful termination a deletion becomes `-e … -w 0` instead (see graceful.ts);
 * 2. `-D` deleted services;
 * 3. `-E` updated services (scheduler, flags, persistence; every attribute is written, since
 *    `-E` resets what it is not given);
 * 4. `-A` created services (before their reals);
 * 5. `-e` real servers whose weight changed; `-a` created real servers (and the `-a` half of
 *    a forwarding-method change).
 *
 * A partial sync plans only changed keys, so the text holds only changed entries.
 *
 * conntrack: for every real server of a UDP service that is removed for good (`-d`, or its
 * service `-D`), one line `-D [-f ipv6] -p udp --orig-dst VIP --orig-port-dst PORT
 * --reply-src REAL` in one `conntrack -R -` (conntrack-tools ≥ 1.4.6 batch mode; a line
 * that matches nothing is not an error there; run as CONNTRACK_BATCH), so a UDP client's flow is not kept pinned to
 * a backend that is gone. fwmark services have no VIP:port to match and are skipped.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import type { IpvsReal, IpvsService } from "../../model/state.ts";
import type { Change } from "../../model/table.ts";
import { FORWARD_FLAG, realSpec, serviceAttrs, serviceSpec } from "./syntax.ts";

/**
 * How the conntrack batch runs: `conntrack -R -` opens /dev/stdin, which fails when stdin is a
 * socket (node's child-process pipes are socketpairs), so a shell pipe feeds it.
 */
export const CONNTRACK_BATCH = { cmd: "sh", args: ["-c", "cat | conntrack -R -"] } as const;

/** Where the IPVS scripts run: after links and addresses (ORDER.ipAdd 30), before ipsets (40). */
export const IPVS_ORDER = { restore: 35, conntrack: 36 } as const;

export interface IpvsCompileOptions {
  /**
   * Graceful termination (`--ipvs-graceful-termination`): a deletion of a real server whose
   * service stays becomes weight 0, unless its key is in `idle` (observed with no connection
   * in this sync) or it is already at weight 0 (observe only reports such a real once it has
   * drained or its grace period ended).
   */
  readonly graceful?: boolean;
  /** Real keys observed without connections in this sync (deleted at once even when graceful). */
  readonly idle?: ReadonlySet<string>;
  /**
   * Real keys still in the kernel at weight 0 (draining) though absent from the state the
   * plan was made against (a partial sync): a create of one becomes `-e` (`-a` would fail).
   */
  readonly draining?: ReadonlySet<string>;
}

export interface IpvsCompiled {
  /** `ipvsadm --restore` stdin; "" when IPVS does not change. */
  readonly restore: string;
  /** `conntrack -R -` stdin; "" when no UDP real server is removed. */
  readonly conntrack: string;
  /** Real keys this text sets to weight 0 instead of deleting (graceful). */
  readonly drained: readonly string[];
}

const realLine = (cmd: "-a" | "-e", svc: string, r: IpvsReal, weight = r.weight): string =>
  `${cmd} ${svc} ${realSpec(r)} ${FORWARD_FLAG[r.forward]} -w ${weight}`;

/** Compiles the IPVS part of a plan (see the module comment). */
export function compileIpvs(plan: NodePlan, opts: IpvsCompileOptions = {}): IpvsCompiled {
  // The service spec of every service the plan mentions, and of services real changes refer to.
  const specs = new Map<string, IpvsService>();
  for (const c of plan.ipvsServices) specs.set(c.key, c.op === "delete" ? c.before : c.after);
  const deletedServices = new Map<string, IpvsService>();
  for (const c of plan.ipvsServices) if (c.op === "delete") deletedServices.set(c.key, c.before);

  const specOf = (key: string, fallback: IpvsReal): string => {
    const s = specs.get(key);
    return s !== undefined ? serviceSpec(s) : serviceSpecFromKey(key, fallback);
  };

  const realDels: string[] = [];
  const realEdits: string[] = [];
  const realAdds: string[] = [];
  const drained: string[] = [];
  const gone: { svc: IpvsService | string; real: IpvsReal }[] = [];
  for (const c of sortByKey(plan.ipvsReals)) {
    if (c.op === "delete") {
      const r = c.before;
      const svcDeleted = deletedServices.get(r.service);
      if (svcDeleted !== undefined) { gone.push({ svc: svcDeleted, real: r }); continue; }
      const spec = specOf(r.service, r);
      if (opts.graceful && r.weight > 0 && !opts.idle?.has(c.key)) {
        realDels.push(realLine("-e", spec, r, 0));
        drained.push(c.key);
      } else {
        realDels.push(`-d ${spec} ${realSpec(r)}`);
        gone.push({ svc: r.service, real: r });
      }
    } else if (c.op === "update") {
      const spec = specOf(c.after.service, c.after);
      if (c.before.forward !== c.after.forward) {
        realDels.push(`-d ${spec} ${realSpec(c.before)}`);
        realAdds.push(realLine("-a", spec, c.after));
      } else realEdits.push(realLine("-e", spec, c.after));
    } else {
      const spec = specOf(c.after.service, c.after);
      realAdds.push(realLine(opts.draining?.has(c.key) ? "-e" : "-a", spec, c.after));
    }
  }
  const svcDels: string[] = [];
  const svcEdits: string[] = [];
  const svcAdds: string[] = [];
  for (const c of sortByKey(plan.ipvsServices)) {
    if (c.op === "delete") svcDels.push(`-D ${serviceSpec(c.before)}`);
    else if (c.op === "update") svcEdits.push(`-E ${serviceSpec(c.after)} ${serviceAttrs(c.after)}`);
    else svcAdds.push(`-A ${serviceSpec(c.after)} ${serviceAttrs(c.after)}`);
  }
  const lines = [...realDels, ...svcDels, ...svcEdits, ...svcAdds, ...realEdits, ...realAdds];
  return {
    restore: lines.map((l) => `${l}\n`).join(""),
    conntrack: conntrackLines(gone, specs).map((l) => `${l}\n`).join(""),
    drained,
  };
}

function sortByKey<T>(cs: readonly Change<T>[]): Change<T>[] {
  return [...cs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The service spec from a service key alone (a real change whose service is unchanged).
 * Keys: `tcp/10.96.0.10/80`, `udp/[fd00::a]/53`, `sctp/…`, `fwmark/ipv4/4660`.
 */
export function serviceFromKey(key: string): Pick<IpvsService, "family" | "protocol" | "address" | "port" | "fwmark"> | undefined {
  const fw = /^fwmark\/(ipv4|ipv6)\/(\d+)$/.exec(key);
  if (fw) return { family: fw[1] as "ipv4" | "ipv6", protocol: "fwmark", address: "", port: 0, fwmark: Number(fw[2]) };
  const m = /^(tcp|udp|sctp)\/(?:\[([^\]]+)\]|([^/]+))\/(\d+)$/.exec(key);
  if (!m) return undefined;
  return { family: m[2] !== undefined ? "ipv6" : "ipv4", protocol: m[1] as "tcp" | "udp" | "sctp", address: m[2] ?? m[3]!, port: Number(m[4]) };
}

function serviceSpecFromKey(key: string, r: IpvsReal): string {
  const s = serviceFromKey(key);
  if (s === undefined) throw new Error(`ipvs: real server ${r.address}:${r.port} refers to a malformed service key ${key}`);
  return serviceSpec(s);
}

function conntrackLines(gone: readonly { svc: IpvsService | string; real: IpvsReal }[], specs: ReadonlyMap<string, IpvsService>): string[] {
  const out: string[] = [];
  for (const { svc, real } of gone) {
    const s = typeof svc === "string" ? (specs.get(svc) ?? serviceFromKey(svc)) : svc;
    if (s === undefined || s.protocol !== "udp") continue;
    const six = s.family === "ipv6";
    if (six !== real.address.includes(":")) continue; // a tunnel real of the other family: no NAT entry to match
    out.push(`-D${six ? " -f ipv6" : ""} -p udp --orig-dst ${s.address} --orig-port-dst ${s.port} --reply-src ${real.address}`);
  }
  return out;
}
