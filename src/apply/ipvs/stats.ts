/**
 * Per-virtual-service IPVS counters and rates, as ipvsadm prints them:
 * - `ipvsadm -Ln --stats --exact`: Conns InPkts OutPkts InBytes OutBytes (totals since the
 *   service was created);
 * - `ipvsadm -Ln --rate --exact`: CPS InPPS OutPPS InBPS OutBPS (the kernel's rate estimator).
 *
 * `parseIpvsStats` is pure: both texts in, one record per virtual service out, keyed as the
 * model keys IPVS services (`tcp/10.96.0.10/53`, `tcp/[fd00::10]/80`, `fwmark/ipv4/4660`).
 * Real-server lines (`  -> …`) are read over. A line it cannot model fails the parse with
 * `Error("ipvsadm --stats line N: …")`. `readIpvsStats` runs the two reads (two processes per
 * call, whatever the number of services) through the Exec.
 *
 * @category apply
 */
import type { Exec } from "../exec.ts";
import type { IpvsService } from "../../model/state.ts";
import { ipvsServiceKey } from "../../model/state.ts";
import { splitHostPort } from "./parse.ts";

export interface IpvsServiceStats {
  /** The model's IPVS service key. */
  readonly key: string;
  readonly service: Pick<IpvsService, "family" | "protocol" | "address" | "port" | "fwmark">;
  readonly conns: number;
  readonly inPkts: number;
  readonly outPkts: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly cps: number;
  readonly inPps: number;
  readonly outPps: number;
  readonly inBps: number;
  readonly outBps: number;
}

type Five = readonly [number, number, number, number, number];
const PROTOCOLS: Readonly<Record<string, "tcp" | "udp" | "sctp">> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** One virtual-service line → its model identity and five numbers; undefined for other lines. */
function serviceLine(line: string, n: number, what: string): { service: IpvsServiceStats["service"]; values: Five } | undefined {
  if (line === "" || line.startsWith(" ") || line.startsWith("IP Virtual Server") || line.startsWith("Prot ")) return undefined;
  const bad = (why: string) => new Error(`ipvsadm ${what} line ${n}: ${why}: ${line}`);
  const t = line.trim().split(/\s+/);
  let service: IpvsServiceStats["service"];
  let rest: string[];
  if (t[0] === "FWM") {
    const mark = Number(t[1]);
    if (!Number.isInteger(mark) || mark <= 0) throw bad("bad fwmark");
    const v6 = t[2] === "IPv6";
    service = { family: v6 ? "ipv6" : "ipv4", protocol: "fwmark", address: "", port: 0, fwmark: mark };
    rest = t.slice(v6 ? 3 : 2);
  } else {
    const protocol = PROTOCOLS[t[0] ?? ""];
    if (protocol === undefined) throw bad("unknown protocol");
    const hp = splitHostPort(t[1] ?? "");
    if (hp === undefined) throw bad("bad address:port");
    service = { family: hp.family, protocol, address: hp.address, port: hp.port };
    rest = t.slice(2);
  }
  if (rest.length !== 5 || !rest.every((x) => /^\d+$/.test(x))) throw bad("want five exact counts (run with --exact)");
  return { service, values: rest.map(Number) as unknown as Five };
}

function table(text: string, what: string): Map<string, { service: IpvsServiceStats["service"]; values: Five }> {
  const out = new Map<string, { service: IpvsServiceStats["service"]; values: Five }>();
  text.split("\n").forEach((line, i) => {
    const s = serviceLine(line, i + 1, what);
    if (s) out.set(ipvsServiceKey(s.service), s);
  });
  return out;
}

/**
 * Joins a `--stats --exact` and a `--rate --exact` listing into one record per virtual
 * service (a service in only one listing — created between the two reads — gets zeros for
 * the other). Ordered as the stats listing.
 */
export function parseIpvsStats(statsText: string, rateText: string): IpvsServiceStats[] {
  const stats = table(statsText, "--stats");
  const rates = table(rateText, "--rate");
  const zero: Five = [0, 0, 0, 0, 0];
  const keys = [...stats.keys(), ...[...rates.keys()].filter((k) => !stats.has(k))];
  return keys.map((key) => {
    const s = stats.get(key);
    const r = rates.get(key);
    const [conns, inPkts, outPkts, inBytes, outBytes] = s?.values ?? zero;
    const [cps, inPps, outPps, inBps, outBps] = r?.values ?? zero;
    return { key, service: (s ?? r)!.service, conns, inPkts, outPkts, inBytes, outBytes, cps, inPps, outPps, inBps, outBps };
  });
}

/** Reads both listings (two ipvsadm processes, run together) and parses them. */
export async function readIpvsStats(exec: Exec): Promise<IpvsServiceStats[]> {
  const [stats, rate] = await Promise.all([
    exec.run("ipvsadm", ["-Ln", "--stats", "--exact"]),
    exec.run("ipvsadm", ["-Ln", "--rate", "--exact"]),
  ]);
  return parseIpvsStats(stats.stdout, rate.stdout);
}
