/**
 * ipvsadm's line syntax, shared by the parser, the compiler and the fake: how a virtual
 * service and a real server are written in `ipvsadm -Sn` / `ipvsadm --restore` text, and the
 * canonical model form of scheduler flags.
 *
 * Canonical forms (what observe produces and renderers should produce, so an unchanged
 * service diffs empty):
 * - addresses: canonical IP text (model/ip.ts `canonicalIp`), IPv6 without brackets;
 * - scheduler flags: `flag-1`, `flag-2`, `flag-3` (kube-router's annotation spelling),
 *   unique, ascending. ipvsadm prints some flags under scheduler-specific names
 *   (`sh-fallback` = flag-1, `sh-port` = flag-2 for `sh`; `mh-fallback`, `mh-port` for `mh`)
 *   and never prints flag-3 for `sh`/`mh`; `canonicalSchedFlags` maps them back and drops it;
 * - `persistent`: absent for a non-persistent service, else the timeout in seconds;
 * - a real server forwarded by `route` or `tunnel` of a service with a port has the service's
 *   port (the kernel stores it so whatever it is given: without NAT the port cannot change);
 *   `canonicalReal` applies this.
 *
 * @category apply
 */
import { canonicalIp } from "../../model/ip.ts";
import type { IpvsReal, IpvsService } from "../../model/state.ts";

/** Scheduler-specific names ipvsadm prints for flag-1 / flag-2 (ipvsadm 1.31). */
const FLAG_ALIASES: Readonly<Record<string, string>> = {
  "sh-fallback": "flag-1",
  "sh-port": "flag-2",
  "mh-fallback": "flag-1",
  "mh-port": "flag-2",
};

/**
 * Canonical scheduler flags: `flag-N`, unique, ascending; unknown names kept as given. For
 * `sh` and `mh` flag-3 is dropped: the kernel stores it but ipvsadm 1.31 never prints it for
 * those schedulers (`-Sn` shows `-b ` with nothing), so it could never be observed.
 */
export function canonicalSchedFlags(flags: readonly string[], scheduler?: string): string[] {
  const hidden = scheduler === "sh" || scheduler === "mh" ? "flag-3" : undefined;
  return [...new Set(flags.map((f) => FLAG_ALIASES[f] ?? f))].filter((f) => f !== hidden && f !== "").sort();
}

/** A service in canonical form (flags canonical, IP canonical, `persistent` dropped when absent). */
export function canonicalService(s: IpvsService): IpvsService {
  const { persistent, fwmark, ...rest } = s;
  return {
    ...rest,
    address: s.protocol === "fwmark" ? "" : (canonicalIp(s.address) ?? s.address),
    port: s.protocol === "fwmark" ? 0 : s.port,
    flags: canonicalSchedFlags(s.flags, s.scheduler),
    ...(s.protocol === "fwmark" ? { fwmark: fwmark ?? 0 } : {}),
    ...(persistent !== undefined ? { persistent } : {}),
  };
}

/** A real server in canonical form for its service (see the module comment). */
export function canonicalReal(r: IpvsReal, svc: Pick<IpvsService, "port">): IpvsReal {
  const address = canonicalIp(r.address) ?? r.address;
  const port = r.forward !== "masq" && svc.port !== 0 ? svc.port : r.port;
  return address === r.address && port === r.port ? r : { ...r, address, port };
}

const hostPort = (addr: string, port: number): string => (addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`);

/** The service part of an ipvsadm line: `-t 10.96.0.10:80`, `-u [fd00::a]:53`, `-f 4660 -6`. */
export function serviceSpec(s: Pick<IpvsService, "family" | "protocol" | "address" | "port" | "fwmark">): string {
  switch (s.protocol) {
    case "tcp": return `-t ${hostPort(s.address, s.port)}`;
    case "udp": return `-u ${hostPort(s.address, s.port)}`;
    case "sctp": return `--sctp-service ${hostPort(s.address, s.port)}`;
    case "fwmark": return `-f ${s.fwmark ?? 0}${s.family === "ipv6" ? " -6" : ""}`;
  }
}

/** `-s rr [-b flag-1,flag-2] [-p 300]`: every attribute, so `-E` resets what is not given. */
export function serviceAttrs(s: Pick<IpvsService, "scheduler" | "flags" | "persistent">): string {
  const flags = canonicalSchedFlags(s.flags, s.scheduler);
  return `-s ${s.scheduler}${flags.length > 0 ? ` -b ${flags.join(",")}` : ""}${s.persistent !== undefined ? ` -p ${s.persistent}` : ""}`;
}

export const FORWARD_FLAG: Readonly<Record<IpvsReal["forward"], string>> = { masq: "-m", tunnel: "-i", route: "-g" };

/** `-r 10.244.0.11:8080` */
export function realSpec(r: Pick<IpvsReal, "address" | "port">): string {
  return `-r ${hostPort(r.address, r.port)}`;
}

/** `10.96.0.10` / `[fd00::a]`: an address as it appears in keys. */
export const keyAddr = (a: string): string => (a.includes(":") ? `[${a}]` : a);
