/**
 * Parsers of ipvsadm's dumps (pure):
 * - `ipvsadm -Sn` (the restore format, numeric) → every virtual service and real server in
 *   the model's canonical form (syntax.ts). Ownership is decided elsewhere (owned.ts);
 * - `ipvsadm -Ln` (the list format, numeric) → ActiveConn + InActConn per real server key,
 *   which graceful termination needs.
 *
 * Attributes the model does not carry (`-M` netmask, `--pe`, `-o`, `--tun-type`, `-x`/`-y`
 * thresholds) are read over and dropped. A line the parser cannot model fails the whole
 * parse with `Error("ipvsadm -Sn line N: …")`, like the other drivers' parsers.
 *
 * @category apply
 */
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import type { Family, IpvsProtocol, IpvsReal, IpvsService } from "../../model/state.ts";
import { ipvsRealKey, ipvsServiceKey } from "../../model/state.ts";
import type { Table } from "../../model/table.ts";
import { sortedTable } from "../../model/table.ts";
import { canonicalSchedFlags } from "./syntax.ts";

export interface IpvsDump {
  readonly services: Table<IpvsService>;
  readonly reals: Table<IpvsReal>;
}

const PROTO_OPT: Readonly<Record<string, IpvsProtocol | "fwmark">> = {
  "-t": "tcp", "--tcp-service": "tcp",
  "-u": "udp", "--udp-service": "udp",
  "--sctp-service": "sctp",
  "-f": "fwmark", "--fwmark-service": "fwmark",
};
/** Options whose value the parser skips (not modelled). */
const SKIP_VALUE: ReadonlySet<string> = new Set(["-M", "--netmask", "--pe", "--tun-type", "--tun-port", "--tun-nocsum", "--tun-csum", "--tun-remcsum", "-x", "--u-threshold", "-y", "--l-threshold"]);
const SKIP_FLAG: ReadonlySet<string> = new Set(["-o", "--ops"]);

/** Splits `addr:port` / `[v6]:port`; undefined when malformed. */
export function splitHostPort(text: string): { address: string; port: number; family: Family } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\[\]]+):(\d+)$/.exec(text);
  if (!m) return undefined;
  const address = canonicalIp(m[1]!);
  const family = ipFamily(m[1]!);
  const port = Number(m[2]);
  if (address === undefined || family === undefined || port > 65535) return undefined;
  return { address, port, family };
}

interface ServiceRef {
  family: Family;
  protocol: IpvsProtocol | "fwmark";
  address: string;
  port: number;
  fwmark?: number;
}

/** Throws the one-line error of line `i` (0-based) of an `ipvsadm -Sn` dump. */
function failAt(i: number, line: string, why: string): never {
  throw new Error(`ipvsadm -Sn line ${i + 1}: ${why}: ${line}`);
}

/** The value after option `o` on line `i`, or the error saying it is missing. */
const valueOf = (v: string | undefined, i: number, line: string, o: string): string => v ?? failAt(i, line, `${o} needs a value`);

/** Parses `ipvsadm -Sn` text. Services and reals sorted by key. */
export function parseIpvsSave(text: string): IpvsDump {
  const services = new Map<string, IpvsService>();
  const reals = new Map<string, IpvsReal>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const tok = line.split(/\s+/);
    const cmd = tok[0];
    if (cmd !== "-A" && cmd !== "-a") failAt(i, line, "expected -A or -a");
    let ref: ServiceRef | undefined;
    let scheduler = "wlc";
    let flags: string[] = [];
    let persistent: number | undefined;
    let six = false;
    let real: { address: string; port: number; family: Family } | undefined;
    let forward: IpvsReal["forward"] = "route";
    let weight = 1;
    for (let j = 1; j < tok.length; j++) {
      const o = tok[j]!;
      const proto = PROTO_OPT[o];
      if (proto === "fwmark") {
        const v = valueOf(tok[++j], i, line, o);
        if (!/^\d+$/.test(v)) failAt(i, line, `bad fwmark ${v}`);
        ref = { family: "ipv4", protocol: "fwmark", address: "", port: 0, fwmark: Number(v) };
      } else if (proto !== undefined) {
        const hp = splitHostPort(valueOf(tok[++j], i, line, o)) ?? failAt(i, line, "bad service address");
        ref = { family: hp.family, protocol: proto, address: hp.address, port: hp.port };
      } else if (o === "-6" || o === "--ipv6") six = true;
      else if (o === "-s" || o === "--scheduler") scheduler = valueOf(tok[++j], i, line, o);
      else if (o === "-b" || o === "--sched-flags") {
        // ipvsadm prints `-b ` with no value when only flags it cannot name are set (flag-3 of sh/mh)
        const next = tok[j + 1];
        flags = next !== undefined && !next.startsWith("-") ? tok[++j]!.split(",") : [];
      }
      else if (o === "-p" || o === "--persistent") {
        // -Sn always prints the timeout; a bare -p means the default 360 s
        const next = tok[j + 1];
        if (next !== undefined && /^\d+$/.test(next)) persistent = Number(tok[++j]);
        else persistent = 360;
      } else if (o === "-r" || o === "--real-server") real = splitHostPort(valueOf(tok[++j], i, line, o)) ?? failAt(i, line, "bad real server address");
      else if (o === "-m" || o === "--masquerading") forward = "masq";
      else if (o === "-i" || o === "--ipip") forward = "tunnel";
      else if (o === "-g" || o === "--gatewaying") forward = "route";
      else if (o === "-w" || o === "--weight") {
        const v = valueOf(tok[++j], i, line, o);
        if (!/^\d+$/.test(v)) failAt(i, line, `bad weight ${v}`);
        weight = Number(v);
      } else if (SKIP_VALUE.has(o)) j++;
      else if (SKIP_FLAG.has(o)) continue;
      else failAt(i, line, `unknown option ${o}`);
    }
    if (ref === undefined) failAt(i, line, "no service");
    const r = ref!;
    if (r.protocol === "fwmark" && six) r.family = "ipv6";
    const key = ipvsServiceKey(r);
    if (cmd === "-A") {
      services.set(key, {
        family: r.family, protocol: r.protocol, address: r.address, port: r.port,
        ...(r.fwmark !== undefined ? { fwmark: r.fwmark } : {}),
        scheduler, flags: canonicalSchedFlags(flags, scheduler), ...(persistent !== undefined ? { persistent } : {}),
      });
    } else {
      if (real === undefined) failAt(i, line, "-a without -r");
      const rr = { service: key, address: real!.address, port: real!.port, weight, forward };
      reals.set(ipvsRealKey(rr), rr);
    }
  }
  return { services: sortedTable(services), reals: sortedTable(reals) };
}

/**
 * Parses `ipvsadm -Ln` (numeric list format): ActiveConn + InActConn per real server key.
 * Services are headed by `TCP  10.96.0.10:80 rr …`, `UDP  [fd00::a]:53 …`,
 * `SCTP …`, `FWM  4660 [IPv6] …`; reals by `  -> 10.244.0.11:8080  Masq  1  0  0`.
 */
export function parseIpvsConns(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let service: string | undefined;
  for (const raw of text.split("\n")) {
    const tok = raw.trim().split(/\s+/);
    if (tok[0] === "->") {
      if (service === undefined || tok[1] === "RemoteAddress:Port") continue;
      const hp = splitHostPort(tok[1] ?? "");
      const active = Number(tok[4]);
      const inactive = Number(tok[5]);
      if (hp === undefined || !Number.isFinite(active) || !Number.isFinite(inactive)) continue;
      out.set(ipvsRealKey({ service, address: hp.address, port: hp.port }), active + inactive);
      continue;
    }
    const proto = ({ TCP: "tcp", UDP: "udp", SCTP: "sctp" } as const)[tok[0] as "TCP" | "UDP" | "SCTP"];
    if (proto !== undefined) {
      const hp = splitHostPort(tok[1] ?? "");
      service = hp ? ipvsServiceKey({ family: hp.family, protocol: proto, address: hp.address, port: hp.port }) : undefined;
    } else if (tok[0] === "FWM" && /^\d+$/.test(tok[1] ?? "")) {
      service = ipvsServiceKey({ family: tok[2] === "IPv6" ? "ipv6" : "ipv4", protocol: "fwmark", address: "", port: 0, fwmark: Number(tok[1]) });
    } else service = undefined;
  }
  return out;
}
