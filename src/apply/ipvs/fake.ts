/**
 * FakeIpvsadm: an in-memory IPVS table that interprets ipvsadm command lines and
 * `ipvsadm --restore` text with the real tool's semantics (ipvsadm 1.31 on Debian's 6.1
 * kernel, checked in the qemu VM; test/vm-guest/ipvs-driver.test.ts cross-checks the fake
 * against the kernel on the same texts):
 *
 * - restore runs line by line and is NOT atomic. A line the tool itself rejects (bad address,
 *   `-p 0`, a negative weight, a zero port on a non-persistent service, a scheduler flag of
 *   another scheduler, a real of the other family that is not tunnelled) ends the restore
 *   with exit 2 and its message; an unknown option (a `#` comment too) ends it with exit 255.
 *   A line the KERNEL refuses (service exists / no such service / service not defined /
 *   destination exists / no such destination / unknown scheduler) prints its message on
 *   stderr and the restore goes on; the exit status is the LAST line's (0 or 255).
 * - defaults: scheduler `wlc`; bare `-p` = 360 s; real server forwarding `-g` (route),
 *   weight 1, port = the service's port; `-E`/`-e` reset whatever they are not given.
 *   A route (`-g`) or tunnel (`-i`) real of a service with a port gets the service's port
 *   whatever port it was given (the kernel cannot rewrite ports without NAT).
 * - `-Sn` prints services in creation order (the kernel prints hash order: never sorted),
 *   reals in creation order, scheduler flags under ipvsadm's names (`sh-port`, …), tunnel
 *   reals with `--tun-type ipip`; `-Ln` prints the list format with connection counts
 *   (`setConns` seeds them).
 * - `--set TCP TCPFIN UDP` (0 keeps a value), `-L --timeout`, `-C`.
 *
 * FakeConntrack interprets the conntrack batch the driver runs (`sh -c 'cat | conntrack -R -'`,
 * see compile.ts CONNTRACK_BATCH) of `-D` lines: it records them and deletes matching seeded
 * UDP entries.
 *
 * @category apply
 */
import { canonicalIp, ipFamily } from "../../model/ip.ts";
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import { CONNTRACK_BATCH } from "./compile.ts";

type Proto = "tcp" | "udp" | "sctp" | "fwmark";
interface FSvc {
  proto: Proto;
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
  fwmark: number;
  scheduler: string;
  flags: number; // bit 0 = flag-1, …
  persistent?: number;
  reals: Map<string, FReal>;
}
interface FReal {
  address: string;
  port: number;
  forward: "masq" | "tunnel" | "route";
  weight: number;
  active: number;
  inactive: number;
}

const SCHEDULERS: ReadonlySet<string> = new Set(["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]);
const FLAG_BITS: Readonly<Record<string, { bit: number; sched?: string }>> = {
  "flag-1": { bit: 0 }, "flag-2": { bit: 1 }, "flag-3": { bit: 2 },
  "sh-fallback": { bit: 0, sched: "sh" }, "sh-port": { bit: 1, sched: "sh" },
  "mh-fallback": { bit: 0, sched: "mh" }, "mh-port": { bit: 1, sched: "mh" },
};
const FORWARD_NAME = { masq: "Masq", tunnel: "Tunnel", route: "Route" } as const;
const FORWARD_FLAG = { masq: "-m", tunnel: "-i", route: "-g" } as const;

const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
/** Ends the run (userspace error): nothing of this line happened. */
class Abort {
  constructor(readonly code: number, readonly message: string) {}
}

const hp = (a: string, p: number): string => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);

function flagNames(sched: string, bits: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 3; b++) {
    if (!(bits & (1 << b))) continue;
    // ipvsadm 1.31 names only sh's and mh's own flags for those schedulers (flag-3 is not printed)
    if (sched === "sh") { if (b < 2) out.push(b === 0 ? "sh-fallback" : "sh-port"); }
    else if (sched === "mh") { if (b < 2) out.push(b === 0 ? "mh-fallback" : "mh-port"); }
    else out.push(`flag-${b + 1}`);
  }
  return out;
}

interface ParsedLine {
  cmd: "-A" | "-E" | "-D" | "-a" | "-e" | "-d";
  svc: { proto: Proto; family: "ipv4" | "ipv6"; address: string; port: number; fwmark: number };
  scheduler?: string;
  flagNames?: string[];
  persistent?: number;
  real?: { address: string; port?: number; family: "ipv4" | "ipv6" };
  forward?: FReal["forward"];
  weight?: number;
}

export class FakeIpvsadm implements FakeTool {
  private readonly services = new Map<string, FSvc>();
  private timeouts = { tcp: 900, tcpfin: 120, udp: 300 };
  /** Restore texts received, in order (tests inspect them). */
  readonly restores: string[] = [];

  handles(cmd: string): boolean {
    return cmd === "ipvsadm";
  }

  run(_cmd: string, args: readonly string[], stdin: string): ExecResult {
    const a = args.join(" ");
    if (a === "-Sn" || a === "-S -n" || a === "--save -n") return ok(this.dump());
    if (a === "-Ln" || a === "-L -n") return ok(this.list());
    if (a === "-R" || a === "--restore") { this.restores.push(stdin); return this.restore(stdin); }
    if (a === "-C" || a === "--clear") { this.services.clear(); return ok(); }
    if (a === "-L --timeout" || a === "-Ln --timeout") return ok(`Timeout (tcp tcpfin udp): ${this.timeouts.tcp} ${this.timeouts.tcpfin} ${this.timeouts.udp}\n`);
    if (args[0] === "--set" && args.length === 4) {
      const [t, f, u] = args.slice(1).map(Number) as [number, number, number];
      if (![t, f, u].every((n) => Number.isInteger(n) && n >= 0)) return { code: 2, stdout: "", stderr: "invalid timeout value\n" };
      this.timeouts = { tcp: t || this.timeouts.tcp, tcpfin: f || this.timeouts.tcpfin, udp: u || this.timeouts.udp };
      return ok();
    }
    // a single command line (`ipvsadm -A -t …`): same rules as one restore line
    return this.restore(`${args.join(" ")}\n`);
  }

  /** `ipvsadm -Sn` text. */
  dump(): string {
    // one flat string, as a tool's output read from a pipe is (a `+=`-built rope would charge
    // its flattening to whoever reads it first)
    const lines: string[] = [];
    for (const s of this.services.values()) {
      const spec = this.spec(s);
      const flags = flagNames(s.scheduler, s.flags);
      lines.push(`-A ${spec} -s ${s.scheduler}${s.persistent !== undefined ? ` -p ${s.persistent}` : ""}${s.flags ? ` -b ${flags.join(",")}` : ""}\n`);
      for (const r of s.reals.values()) {
        lines.push(`-a ${spec} -r ${hp(r.address, r.port)} ${FORWARD_FLAG[r.forward]} -w ${r.weight}${r.forward === "tunnel" ? " --tun-type ipip" : ""}\n`);
      }
    }
    return lines.join("");
  }

  /** `ipvsadm -Ln` text. */
  list(): string {
    let out = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
    for (const s of this.services.values()) {
      const flags = flagNames(s.scheduler, s.flags);
      const head = s.proto === "fwmark" ? `FWM  ${s.fwmark}${s.family === "ipv6" ? " IPv6" : ""}` : `${s.proto.toUpperCase().padEnd(4)} ${hp(s.address, s.port)}`;
      out += `${head} ${s.scheduler}${s.flags ? ` (${flags.join(",")})` : ""}${s.persistent !== undefined ? ` persistent ${s.persistent}` : ""}\n`;
      for (const r of s.reals.values()) {
        out += `  -> ${hp(r.address, r.port).padEnd(28)}${FORWARD_NAME[r.forward].padEnd(8)}${String(r.weight).padEnd(7)}${String(r.active).padEnd(11)}${String(r.inactive).padEnd(10)}\n`;
      }
    }
    return out;
  }

  /** Seeds connection counts of a real server (`tcp/10.96.0.10/80`, `10.244.0.11`, 8080). */
  setConns(serviceKey: string, address: string, port: number, active: number, inactive = 0): void {
    const s = [...this.services.values()].find((x) => this.key(x) === serviceKey);
    const r = s?.reals.get(hp(address, port));
    if (r === undefined) throw new Error(`FakeIpvsadm.setConns: no real ${address}:${port} in ${serviceKey}`);
    r.active = active;
    r.inactive = inactive;
  }

  getTimeouts(): { tcp: number; tcpfin: number; udp: number } {
    return { ...this.timeouts };
  }

  private key(s: Pick<FSvc, "proto" | "family" | "address" | "port" | "fwmark">): string {
    return s.proto === "fwmark" ? `fwmark/${s.family}/${s.fwmark}` : `${s.proto}/${s.family === "ipv6" ? `[${s.address}]` : s.address}/${s.port}`;
  }

  private spec(s: FSvc): string {
    switch (s.proto) {
      case "tcp": return `-t ${hp(s.address, s.port)}`;
      case "udp": return `-u ${hp(s.address, s.port)}`;
      case "sctp": return `--sctp-service ${hp(s.address, s.port)}`;
      case "fwmark": return `-f ${s.fwmark}${s.family === "ipv6" ? " -6" : ""}`;
    }
  }

  private restore(stdin: string): ExecResult {
    let stderr = "";
    let result = 0;
    for (const raw of stdin.split("\n")) {
      const tok = raw.trim().split(/\s+/).filter((t) => t !== "");
      if (tok.length === 0) continue;
      let p: ParsedLine;
      try {
        p = parseLine(tok);
      } catch (e) {
        if (e instanceof Abort) return { code: e.code, stdout: "", stderr: `${stderr}${e.message}\n` };
        throw e;
      }
      const err = this.apply(p);
      if (err !== undefined) { stderr += `${err}\n`; result = 255; } else result = 0;
    }
    return { code: result, stdout: "", stderr };
  }

  /** The kernel part of one line: an error message or undefined. */
  private apply(p: ParsedLine): string | undefined {
    const key = this.key(p.svc);
    const have = this.services.get(key);
    switch (p.cmd) {
      case "-A":
      case "-E": {
        const sched = p.scheduler ?? "wlc";
        if (!SCHEDULERS.has(sched)) return "Scheduler or persistence engine not found";
        if (p.cmd === "-A" && have) return "Service already exists";
        if (p.cmd === "-E" && !have) return "No such service";
        let flags = 0;
        for (const f of p.flagNames ?? []) flags |= 1 << FLAG_BITS[f]!.bit;
        const next: FSvc = {
          ...p.svc, scheduler: sched, flags, ...(p.persistent !== undefined ? { persistent: p.persistent } : {}),
          reals: have?.reals ?? new Map(),
        };
        this.services.set(key, next); // -E keeps the position (Map.set on an existing key)
        return undefined;
      }
      case "-D":
        if (!have) return "No such service";
        this.services.delete(key);
        return undefined;
      default: {
        if (!have) return "Service not defined";
        const real = p.real!;
        // the kernel gives direct-routing and tunnelled reals the service's port (none for fwmark)
        const port = p.cmd !== "-d" && (p.forward ?? "route") !== "masq" && p.svc.port !== 0 ? p.svc.port : (real.port ?? p.svc.port);
        const rk = hp(real.address, port);
        const r = have.reals.get(rk);
        if (p.cmd === "-d") {
          if (!r) return "No such destination";
          have.reals.delete(rk);
          return undefined;
        }
        if (p.cmd === "-a" && r) return "Destination already exists";
        if (p.cmd === "-e" && !r) return "No such destination";
        have.reals.set(rk, { address: real.address, port, forward: p.forward ?? "route", weight: p.weight ?? 1, active: r?.active ?? 0, inactive: r?.inactive ?? 0 });
        return undefined;
      }
    }
  }
}

function parseAddrPort(text: string, what: string): { address: string; port?: number; family: "ipv4" | "ipv6" } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:\[\]]+)(?::(\d+))?$/.exec(text);
  const address = m ? canonicalIp(m[1]!) : undefined;
  const family = m ? ipFamily(m[1]!) : undefined;
  if (!m || address === undefined || family === undefined || (m[2] !== undefined && Number(m[2]) > 65535)) {
    throw new Abort(2, `illegal ${what} address[:port] specified`);
  }
  return { address, family, ...(m[2] !== undefined ? { port: Number(m[2]) } : {}) };
}

/** The userspace part of one line (throws Abort like ipvsadm's fail()). */
function parseLine(tok: readonly string[]): ParsedLine {
  const cmd = tok[0];
  if (cmd !== "-A" && cmd !== "-E" && cmd !== "-D" && cmd !== "-a" && cmd !== "-e" && cmd !== "-d") {
    throw new Abort(255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
  }
  const p: Partial<ParsedLine> & { cmd: ParsedLine["cmd"] } = { cmd };
  let six = false;
  for (let j = 1; j < tok.length; j++) {
    const o = tok[j]!;
    const val = (): string => {
      const v = tok[++j];
      if (v === undefined) throw new Abort(255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
      return v;
    };
    if (o === "-t" || o === "-u" || o === "--sctp-service" || o === "--tcp-service" || o === "--udp-service") {
      const a = parseAddrPort(val(), "virtual server");
      p.svc = { proto: o === "-t" || o === "--tcp-service" ? "tcp" : o === "-u" || o === "--udp-service" ? "udp" : "sctp", family: a.family, address: a.address, port: a.port ?? 0, fwmark: 0 };
    } else if (o === "-f" || o === "--fwmark-service") {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) === 0) throw new Abort(2, "illegal fwmark specified");
      p.svc = { proto: "fwmark", family: "ipv4", address: "", port: 0, fwmark: Number(v) };
    } else if (o === "-6") six = true;
    else if (o === "-s") p.scheduler = val();
    else if (o === "-b") {
      const names = val().split(",");
      for (const n of names) if (FLAG_BITS[n] === undefined) throw new Abort(2, `invalid scheduler flag \`${n}'`);
      p.flagNames = names;
    } else if (o === "-p") {
      const next = tok[j + 1];
      if (next !== undefined && !next.startsWith("-")) {
        j++;
        if (!/^\d+$/.test(next) || Number(next) === 0) throw new Abort(2, `invalid timeout value \`${next}' specified`);
        p.persistent = Number(next);
      } else p.persistent = 360;
    } else if (o === "-r") p.real = parseAddrPort(val(), "real server");
    else if (o === "-m") p.forward = "masq";
    else if (o === "-i") p.forward = "tunnel";
    else if (o === "-g") p.forward = "route";
    else if (o === "-w") {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) > 2147483647) throw new Abort(2, "illegal weight specified");
      p.weight = Number(v);
    } else if (o === "--tun-type") val();
    else throw new Abort(255, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
  }
  if (p.svc === undefined) throw new Abort(2, "You need to supply the 'service-address' option for the '" + cmd + "' command");
  if (p.svc.proto === "fwmark" && six) p.svc.family = "ipv6";
  const isSvcCmd = cmd === "-A" || cmd === "-E" || cmd === "-D";
  if (isSvcCmd && cmd !== "-D") {
    if (p.svc.proto !== "fwmark" && p.svc.port === 0 && p.persistent === undefined) throw new Abort(2, "Zero port specified for non-persistent service");
    const sched = p.scheduler ?? "wlc";
    for (const n of p.flagNames ?? []) {
      const want = FLAG_BITS[n]!.sched;
      if (want !== undefined && want !== sched) throw new Abort(2, `incompatible scheduler flag \`${n}'`);
    }
  }
  if (!isSvcCmd) {
    if (p.real === undefined) throw new Abort(2, "You need to supply the 'real-server' option for the '" + cmd + "' command");
    if (cmd !== "-d" && p.real.family !== p.svc.family && p.forward !== "tunnel") throw new Abort(2, "Different address family is allowed only for tunneling servers");
  }
  return p as ParsedLine;
}

/** One seeded conntrack entry (UDP, NATed by IPVS to `replySrc`). */
export interface FakeFlow {
  readonly origDst: string;
  readonly origPortDst: number;
  readonly replySrc: string;
}

/** FakeConntrack: `conntrack -R -` with `-D -p udp --orig-dst … --orig-port-dst … --reply-src …` lines. */
export class FakeConntrack implements FakeTool {
  readonly flows: FakeFlow[] = [];
  /** Every `-D` line received. */
  readonly deletes: string[] = [];

  handles(cmd: string, args: readonly string[]): boolean {
    return (cmd === "conntrack" && args.join(" ") === "-R -") || (cmd === CONNTRACK_BATCH.cmd && args.join("\0") === CONNTRACK_BATCH.args.join("\0"));
  }

  run(_cmd: string, _args: readonly string[], stdin: string): ExecResult {
    for (const raw of stdin.split("\n")) {
      const line = raw.trim();
      if (line === "") continue;
      const tok = line.split(/\s+/);
      const opt = (k: string): string | undefined => {
        const i = tok.indexOf(k);
        return i >= 0 ? tok[i + 1] : undefined;
      };
      const dst = opt("--orig-dst");
      const port = opt("--orig-port-dst");
      const src = opt("--reply-src");
      const six = opt("-f") === "ipv6";
      if (tok[0] !== "-D" || opt("-p") !== "udp" || dst === undefined || port === undefined || src === undefined) {
        return { code: 2, stdout: "", stderr: `conntrack v1.4.7 (conntrack-tools): fake cannot parse: ${line}\n` };
      }
      if ((ipFamily(dst) === "ipv6") !== six || (ipFamily(src) === "ipv6") !== six) {
        return { code: 2, stdout: "", stderr: "conntrack v1.4.7 (conntrack-tools): mismatched address family\n" };
      }
      this.deletes.push(line);
      for (let i = this.flows.length - 1; i >= 0; i--) {
        const f = this.flows[i]!;
        if (f.origDst === dst && String(f.origPortDst) === port && f.replySrc === src) this.flows.splice(i, 1);
      }
    }
    return ok();
  }
}
