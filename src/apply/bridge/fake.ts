/**
 * FakeBridge: a semantic fake of the `bridge` tool's FDB part, over the links of a
 * FakeIpKernel (../ip/fake-kernel.ts), so one fake namespace has one set of devices. It
 * answers `bridge -j fdb show [dev X]` like iproute2 6.1 and replays `bridge [-force] -batch -`
 * with the kernel semantics checked on 6.18 (see compile.ts):
 *
 * - entries live on a device (by ifindex: a deleted or re-created device has none);
 *   a missing device is `Cannot find device "X"`;
 * - vxlan devices hold one entry per MAC with a list of remotes (dsts); a dst must be of the
 *   device's underlay family (its `local`, IPv4 when unset), else "Address family not
 *   supported by protocol";
 * - `add` of an existing MAC: "File exists"; `append` to a group/zero MAC adds the dst (a
 *   duplicate is a no-op), to a unicast MAC that exists it is silently ignored;
 *   `replace` of a unicast MAC sets its one dst;
 * - `del` of a missing MAC: "No such file or directory"; with a dst the MAC does not have:
 *   a silent no-op; the last dst removed removes the MAC.
 * A batch stops at the first failed line unless `-force`; lines before stay applied; exit 1
 * with `<message>` and `Command failed -:N` per failed line on stderr.
 *
 * Unsupported syntax (other objects, `replace` of a group MAC, `fdb` on a non-vxlan device
 * outside seeds) exits 1 with `fake bridge: unsupported …`, so a compile change the fake
 * does not model fails loudly.
 *
 * @category apply
 */
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import { formatIp, parseIp } from "../../model/ip.ts";
import type { FakeIpKernel } from "../ip/fake-kernel.ts";
import { isGroupMac } from "./compile.ts";

class BridgeError extends Error {}

interface Remote {
  readonly dst?: string;
  readonly self: boolean;
  readonly state: string;
}
interface KFdb {
  readonly ifindex: number;
  readonly mac: string;
  remotes: Remote[];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const STATES: ReadonlySet<string> = new Set(["permanent", "static", "dynamic"]);

/** The fake `bridge` tool. */
export class FakeBridge implements FakeTool {
  /** Entries in insertion order; the dump prints newest first, as the kernel does. */
  entries: KFdb[] = [];

  constructor(readonly kernel: FakeIpKernel) {}

  handles(cmd: string): boolean {
    return cmd === "bridge";
  }

  /** Adds a foreign entry (any device, dst optional) as the kernel or another tool would. */
  seedFdb(dev: string, mac: string, dst?: string): this {
    const link = this.link(dev);
    this.entries.push({ ifindex: link.ifindex, mac, remotes: [{ ...(dst !== undefined ? { dst } : {}), self: true, state: "permanent" }] });
    return this;
  }

  run(_cmd: string, args: readonly string[], stdin: string): ExecResult {
    let json = false;
    let force = false;
    let i = 0;
    for (; i < args.length && (args[i] ?? "").startsWith("-"); i++) {
      const a = args[i];
      if (a === "-j" || a === "-json") json = true;
      else if (a === "-force") force = true;
      else if (a === "-batch") {
        if (args[i + 1] !== "-" || i + 2 !== args.length) return fail("fake bridge: unsupported: batch only from stdin (-batch -)");
        return this.batch(stdin, force);
      } else return fail(`Option "${a ?? ""}" is unknown, try "bridge help".`);
    }
    const rest = args.slice(i);
    if (rest[0] === "fdb" && rest[1] === "show" && json) {
      if (rest.length === 2) return ok(this.dump(undefined));
      if (rest.length === 4 && rest[2] === "dev") {
        try { return ok(this.dump(rest[3] as string)); } catch (e) { if (e instanceof BridgeError) return fail(e.message); throw e; }
      }
    }
    return fail(`fake bridge: unsupported: ${args.join(" ")}`);
  }

  private batch(stdin: string, force: boolean): ExecResult {
    let stderr = "";
    let failed = false;
    const lines = stdin.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const words = (lines[n] ?? "").trim().split(/\s+/).filter((w) => w !== "");
      if (words.length === 0 || words[0]?.startsWith("#")) continue;
      try {
        this.line(words);
      } catch (e) {
        if (!(e instanceof BridgeError)) throw e;
        stderr += `${e.message}\nCommand failed -:${n + 1}\n`;
        failed = true;
        if (!force) break;
      }
    }
    return { code: failed ? 1 : 0, stdout: "", stderr };
  }

  private link(name: string) {
    const l = this.kernel.links.get(name);
    if (l === undefined) throw new BridgeError(`Cannot find device "${name}"`);
    return l;
  }

  /** One `fdb add|append|replace|del MAC dev D [dst IP] [self] [STATE]` line. */
  private line(words: readonly string[]): void {
    const [object, verb, macText, ...rest] = words;
    if (object !== "fdb") throw new BridgeError(`fake bridge: unsupported: object "${object ?? ""}"`);
    if (verb !== "add" && verb !== "append" && verb !== "replace" && verb !== "del" && verb !== "delete") {
      throw new BridgeError(`Command "${verb ?? ""}" is unknown, try "bridge fdb help".`);
    }
    const mac = (macText ?? "").toLowerCase();
    if (!MAC.test(mac)) throw new BridgeError(`Invalid mac address ${macText ?? ""}`);
    let dev: string | undefined;
    let dst: string | undefined;
    let self = false;
    let state = "permanent";
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i] as string;
      if (w === "dev") dev = rest[++i];
      else if (w === "dst") {
        const a = parseIp(rest[++i] ?? "");
        if (a === undefined) throw new BridgeError(`Invalid address "${rest[i] ?? ""}"`);
        dst = formatIp(a);
      } else if (w === "self") self = true;
      else if (STATES.has(w)) state = w;
      else throw new BridgeError(`fake bridge: unsupported: fdb argument "${w}"`);
    }
    if (dev === undefined) throw new BridgeError("Device is a compulsory argument.");
    const link = this.link(dev);
    if (link.kind !== "vxlan") throw new BridgeError(`fake bridge: unsupported: fdb on ${link.kind} device ${dev}`);
    const family = link.vxlan?.local?.includes(":") === true ? "ipv6" : "ipv4";
    if (dst !== undefined && parseIp(dst)?.family !== family) throw new BridgeError("RTNETLINK answers: Address family not supported by protocol");
    const at = this.entries.findIndex((e) => e.ifindex === link.ifindex && e.mac === mac);
    const entry = at < 0 ? undefined : this.entries[at];
    const remote: Remote = { ...(dst !== undefined ? { dst } : {}), self, state };
    if (verb === "del" || verb === "delete") {
      if (entry === undefined) throw new BridgeError("RTNETLINK answers: No such file or directory");
      if (dst === undefined) { this.entries.splice(at, 1); return; }
      entry.remotes = entry.remotes.filter((r) => r.dst !== dst);
      if (entry.remotes.length === 0) this.entries.splice(at, 1);
      return;
    }
    if (entry === undefined) { this.entries.push({ ifindex: link.ifindex, mac, remotes: [remote] }); return; }
    if (verb === "add") throw new BridgeError("RTNETLINK answers: File exists");
    if (verb === "append") {
      if (isGroupMac(mac) && !entry.remotes.some((r) => r.dst === dst)) entry.remotes.push(remote);
      return;
    }
    if (isGroupMac(mac)) throw new BridgeError(`fake bridge: unsupported: replace of group MAC ${mac}`);
    entry.remotes = [remote];
  }

  /** `bridge -j fdb show [dev X]`: newest MAC first, remotes newest first (as the kernel lists them). */
  private dump(dev: string | undefined): string {
    const only = dev === undefined ? undefined : this.link(dev).ifindex;
    const byIndex = new Map([...this.kernel.links.values()].map((l) => [l.ifindex, l.name]));
    const out: Record<string, unknown>[] = [];
    for (const e of [...this.entries].reverse()) {
      const name = byIndex.get(e.ifindex);
      if (name === undefined || (only !== undefined && e.ifindex !== only)) continue;
      for (const r of [...e.remotes].reverse()) {
        out.push({
          mac: e.mac,
          ...(dev === undefined ? { ifname: name } : {}),
          ...(r.dst !== undefined ? { dst: r.dst } : {}),
          flags: r.self ? ["self"] : [],
          state: r.state,
        });
      }
    }
    return `${JSON.stringify(out)}\n`;
  }
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (msg: string): ExecResult => ({ code: 1, stdout: "", stderr: `${msg}\n` });
