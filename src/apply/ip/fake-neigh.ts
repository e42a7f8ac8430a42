/**
 * The neighbour table of a FakeIpKernel namespace, for FakeIp's `neigh` lines and
 * `ip -j neigh show [dev X]` (kernel semantics checked on 6.18):
 *
 * - entries are bound to a device (by ifindex: a deleted device takes its entries with it);
 *   a missing device is `Cannot find device "X"`;
 * - `add` of an existing address on the device: "File exists"; `replace` creates or
 *   overwrites; `del` of a missing one: "No such file or directory";
 * - the family follows from the address; `nud` must be a known state word.
 * Errors are thrown as IpError carrying the message `ip` prints.
 *
 * @category apply
 */
import { type FakeIpKernel, IpError } from "./fake-kernel.ts";
import { formatIp, parseIp } from "../../model/ip.ts";

export interface KNeigh {
  readonly ifindex: number;
  readonly ip: string;
  lladdr: string;
  state: string;
}

const NUD: ReadonlySet<string> = new Set(["permanent", "noarp", "reachable", "stale", "none", "incomplete", "delay", "probe", "failed"]);
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The neighbour table of one fake namespace. */
export class FakeNeighTable {
  entries: KNeigh[] = [];

  constructor(private readonly kernel: FakeIpKernel) {}

  private ifindex(dev: string): number {
    const l = this.kernel.links.get(dev);
    if (l === undefined) throw new IpError(`Cannot find device "${dev}"`);
    return l.ifindex;
  }

  /** Interprets the words after `neigh` of one batch line. */
  cmd(words: readonly string[]): void {
    const [verb, ...rest] = words;
    if (verb !== "add" && verb !== "replace" && verb !== "change" && verb !== "del" && verb !== "delete") {
      throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip neigh help".`);
    }
    let ip: string | undefined;
    let dev: string | undefined;
    let lladdr: string | undefined;
    let state = "permanent";
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i] as string;
      if (w === "dev") dev = rest[++i];
      else if (w === "lladdr") {
        lladdr = (rest[++i] ?? "").toLowerCase();
        if (!MAC.test(lladdr)) throw new IpError(`"${rest[i] ?? ""}" is invalid lladdr.`);
      } else if (w === "nud") {
        state = rest[++i] ?? "";
        if (!NUD.has(state)) throw new IpError(`Error: argument "${state}" is wrong: nud state is bad`);
      } else if (ip === undefined && w !== "to" && w !== "proxy") {
        const a = parseIp(w);
        if (a === undefined) throw new IpError(`Error: any valid address is expected rather than "${w}".`);
        ip = formatIp(a);
      } else if (w !== "to") throw new IpError(`Error: either "to" is duplicate, or "${w}" is a garbage.`);
    }
    if (ip === undefined || dev === undefined) throw new IpError("Device and destination are required arguments.");
    const ifindex = this.ifindex(dev);
    const at = this.entries.findIndex((e) => e.ifindex === ifindex && e.ip === ip);
    if (verb === "del" || verb === "delete") {
      if (at < 0) throw new IpError("RTNETLINK answers: No such file or directory");
      this.entries.splice(at, 1);
      return;
    }
    if (at >= 0 && verb === "add") throw new IpError("RTNETLINK answers: File exists");
    if (at < 0 && verb === "change") throw new IpError("RTNETLINK answers: No such file or directory");
    const entry: KNeigh = { ifindex, ip, lladdr: lladdr ?? "", state };
    if (at >= 0) this.entries[at] = entry;
    else this.entries.push(entry);
  }

  /** `ip -j neigh show [dev X]` of the given family (both when undefined). */
  dump(dev: string | undefined, family: "ipv4" | "ipv6" | undefined): string {
    const only = dev === undefined ? undefined : this.ifindex(dev);
    const names = new Map([...this.kernel.links.values()].map((l) => [l.ifindex, l.name]));
    const out = this.entries.flatMap((e) => {
      const name = names.get(e.ifindex);
      if (name === undefined || (only !== undefined && e.ifindex !== only)) return [];
      if (family !== undefined && (family === "ipv6") !== e.ip.includes(":")) return [];
      return [{ dst: e.ip, ...(dev === undefined ? { dev: name } : {}), ...(e.lladdr !== "" ? { lladdr: e.lladdr } : {}), state: [e.state.toUpperCase()] }];
    });
    return `${JSON.stringify(out)}\n`;
  }
}
