/**
 * FakeIp: a semantic fake of the `ip` command over FakeIpKernel (fake-kernel.ts). It answers
 * the dumps the driver runs with JSON shaped like iproute2 6.1's `-j` output (fake-dump.ts),
 * and interprets `ip [-6] [-force] -batch -` with the syntax compile.ts emits, plus the usual
 * aliases (`addr`, `delete`, `pref`, `table`, `dev NAME`). Like the real tool, a batch is not
 * atomic: lines before a failed one stay applied; it stops at the first failure (exit 1)
 * unless `-force`, which runs every line and still exits 1 if any failed. stderr carries
 * `ip`'s message and `Command failed -:N` for each failed line.
 *
 * Unsupported command lines exit 1 with `fake ip: unsupported …` so a driver change that the
 * fake does not model fails loudly instead of passing.
 *
 * @category apply
 */
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import type { Family } from "../../model/state.ts";
import { type Cidr, type IpAddress, formatIp, parseIp, parsePrefix } from "../../model/ip.ts";
import { FakeIpKernel, IpError, type LinkSpec } from "./fake-kernel.ts";
import { PROTO_NAMES, addrJson, routeJson, ruleJson } from "./fake-dump.ts";
import { formatSelector, parseSelector } from "./selector.ts";
import { FakeNeighTable } from "./fake-neigh.ts";

const PROTO_NUMBERS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(PROTO_NAMES).map(([n, s]) => [s, n]));
const TABLE_NAMES: Readonly<Record<string, string>> = { "253": "default", "254": "main", "255": "local" };

function parseProto(t: string): string {
  const n = PROTO_NUMBERS[t] ?? t;
  if (!/^\d{1,3}$/.test(n) || Number(n) > 255) throw new IpError(`Error: argument "${t}" is wrong: "protocol" value is invalid`);
  return String(Number(n));
}
function parseTable(t: string): string {
  if (t === "main" || t === "local" || t === "default") return t;
  if (!/^\d{1,10}$/.test(t)) throw new IpError(`Error: argument "${t}" is wrong: "table" value is invalid`);
  return TABLE_NAMES[String(Number(t))] ?? String(Number(t));
}
function inet(t: string, what: string): IpAddress {
  const a = parseIp(t);
  if (a === undefined) throw new IpError(`Error: any valid ${what} is expected rather than "${t}".`);
  return a;
}
function prefix(t: string): Cidr {
  const p = parsePrefix(t);
  if (p === undefined) throw new IpError(`Error: any valid prefix is expected rather than "${t}".`);
  return p;
}
/** A MAC as `ip link` takes it (lower-cased); IpError otherwise. */
function mac(t: string): string {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(t)) throw new IpError(`Error: argument "${t}" is wrong: "address" value is invalid`);
  return t.toLowerCase();
}
function int(t: string | undefined, what: string): number {
  if (t === undefined || !/^\d+$/.test(t)) throw new IpError(`Error: argument "${t ?? ""}" is wrong: invalid ${what}`);
  return Number(t);
}

/** A cursor over one command's words. */
class Words {
  private i = 0;
  constructor(private readonly w: readonly string[]) {}
  peek(): string | undefined { return this.w[this.i]; }
  done(): boolean { return this.i >= this.w.length; }
  next(): string | undefined { return this.w[this.i++]; }
  /** The next word, which must exist (an option's argument). */
  arg(): string {
    const v = this.next();
    if (v === undefined) throw new IpError(`Command line is not complete. Try option "help"`);
    return v;
  }
  /** The words not consumed yet. */
  rest(): string[] {
    const r = this.w.slice(this.i);
    this.i = this.w.length;
    return r;
  }
}

interface Opts {
  family?: Family;
  json: boolean;
  force: boolean;
  batch?: string;
}

/** The fake `ip` tool. */
export class FakeIp implements FakeTool {
  readonly kernel = new FakeIpKernel();
  /** Overlay: the namespace's neighbour table (fake-neigh.ts). */
  readonly neigh = new FakeNeighTable(this.kernel);
  /** Overlay: FoU receive ports, `family/port` → GUE (true) or direct (false). */
  readonly fou = new Map<string, boolean>();

  handles(cmd: string): boolean {
    return cmd === "ip";
  }

  // ----- seeding foreign (or owned) state; each throws Error when the kernel would refuse -----

  /** Adds a link of any kind (`veth`, `bridge`, …), optionally up and with an MTU. */
  seedLink(spec: LinkSpec): this {
    this.kernel.addLink(spec, true);
    return this;
  }
  /** Adds `cidr` on `dev`. */
  seedAddress(dev: string, cidr: string, scope?: string): this {
    this.kernel.addAddr(dev, prefix(cidr), scope);
    return this;
  }
  /** Adds a route with `ip route add` semantics; `proto` defaults to `static`. */
  seedRoute(r: { dst: string; via?: string; dev?: string; table?: string; proto?: string; src?: string }): this {
    this.batchLine(
      ["route", "add", r.dst, ...(r.via ? ["via", r.via] : []), ...(r.dev ? ["dev", r.dev] : []), ...(r.src ? ["src", r.src] : []),
        "proto", r.proto ?? "static", "table", r.table ?? "main"],
      undefined,
    );
    return this;
  }
  /** Adds a policy rule. */
  seedRule(r: { family: Family; priority: number; selector: string; table: string }): this {
    this.batchLine(["rule", "add", "priority", String(r.priority), ...r.selector.split(/\s+/), "lookup", r.table], r.family === "ipv6" ? "ipv6" : undefined);
    return this;
  }

  // ----- FakeTool -----------------------------------------------------------------------

  run(_cmd: string, args: readonly string[], stdin: string): ExecResult {
    try {
      const w = new Words(args);
      const o: Opts = { json: false, force: false };
      for (let t = w.peek(); t !== undefined && t.startsWith("-"); t = w.peek()) {
        w.next();
        if (t === "-4") o.family = "ipv4";
        else if (t === "-6") o.family = "ipv6";
        else if (t === "-j" || t === "-json") o.json = true;
        else if (t === "-d" || t === "-details") continue;
        else if (t === "-force") o.force = true;
        else if (t === "-batch") o.batch = w.arg();
        else return fail(255, `Option "${t}" is unknown, try "ip -help".`);
      }
      if (o.batch !== undefined) {
        if (o.batch !== "-" || !w.done()) return fail(1, "fake ip: unsupported: batch only from stdin (-batch -)");
        return this.batch(stdin, o);
      }
      return this.show(w.rest(), o);
    } catch (e) {
      if (e instanceof IpError) return fail(1, e.message);
      throw e;
    }
  }

  private batch(stdin: string, o: Opts): ExecResult {
    let stderr = "";
    let failed = false;
    const lines = stdin.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const words = (lines[n] ?? "").trim().split(/\s+/).filter((s) => s !== "");
      if (words.length === 0 || words[0]?.startsWith("#")) continue;
      try {
        this.batchLine(words, o.family);
      } catch (e) {
        if (!(e instanceof IpError)) throw e;
        stderr += `${e.message}\nCommand failed -:${n + 1}\n`;
        failed = true;
        if (!o.force) break;
      }
    }
    return { code: failed ? 1 : 0, stdout: "", stderr };
  }

  /** Runs one batch line; throws IpError with `ip`'s message on failure. */
  private batchLine(words: readonly string[], family: Family | undefined): void {
    const w = new Words(words);
    const object = w.next() as string;
    switch (object) {
      case "link": return this.linkCmd(w);
      case "address": case "addr": return this.addrCmd(w);
      case "route": return this.routeCmd(w, family);
      case "rule": return this.ruleCmd(w, family ?? "ipv4");
      case "neigh": case "neighbor": case "neighbour": return this.neigh.cmd(w.rest()); // overlay
      case "fou": return this.fouCmd(w, family ?? "ipv4"); // overlay
      default: throw new IpError(`Object "${object}" is unknown, try "ip help".`);
    }
  }

  private linkCmd(w: Words): void {
    const verb = w.next();
    if (verb === "add") {
      let name = w.arg();
      if (name === "name") name = w.arg();
      let mtu: number | undefined;
      let up = false;
      let kind: string | undefined;
      let address: string | undefined;
      while (kind === undefined) {
        const t = w.next();
        if (t === undefined) throw new IpError(`Not enough information: "type" argument is required.`);
        if (t === "mtu") mtu = int(w.next(), "mtu");
        else if (t === "up") up = true;
        else if (t === "address") address = mac(w.arg()); // overlay
        else if (t === "type") kind = w.arg();
        else throw new IpError(`Error: either "dev" is duplicate, or "${t}" is a garbage.`);
      }
      const spec: { -readonly [K in keyof LinkSpec]: LinkSpec[K] } = { name, kind, up, ...(mtu !== undefined ? { mtu } : {}), ...(address !== undefined ? { address } : {}) };
      if (kind === "vxlan") {
        const v: { id?: number; local?: string; dev?: string; port?: number; learning?: boolean } = {};
        while (!w.done()) {
          const t = w.next() as string;
          if (t === "id" || t === "vni") v.id = int(w.next(), "id");
          else if (t === "local") v.local = formatIp(inet(w.arg(), "address"));
          else if (t === "dev") v.dev = w.arg();
          else if (t === "dstport") v.port = int(w.next(), "dstport");
          else if (t === "nolearning") v.learning = false;
          else if (t === "learning") v.learning = true;
          else throw new IpError(`vxlan: unknown command "${t}"?`);
        }
        spec.vxlan = v;
      } else if (kind === "ipip" || kind === "ip6tnl") {
        const tun: { local?: string; remote?: string; ttl?: number; encap?: { type: string; dport: number } } = {};
        const fam: Family = kind === "ipip" ? "ipv4" : "ipv6";
        while (!w.done()) {
          const t = w.next() as string;
          if (t === "local" || t === "remote") {
            const v = w.arg();
            if (v === "any") continue;
            const a = inet(v, "address");
            if (a.family !== fam) throw new IpError(`Error: an inet prefix is expected rather than "${v}".`);
            tun[t] = formatIp(a);
          } else if (t === "ttl" || t === "hoplimit") {
            tun.ttl = int(w.next(), "TTL"); // overlay (fou)
          } else if (t === "encap") {
            const type = w.arg(); // overlay: `encap gue encap-sport auto encap-dport P`
            if (type !== "gue" && type !== "fou") throw new IpError(`Error: argument "${type}" is wrong: Invalid encap type.`);
            tun.encap = { type, dport: tun.encap?.dport ?? 0 };
          } else if (t === "encap-sport") {
            if (w.arg() !== "auto") throw new IpError("fake ip: unsupported: encap-sport other than auto");
          } else if (t === "encap-dport") {
            tun.encap = { type: tun.encap?.type ?? "fou", dport: int(w.next(), "encap-dport") };
          } else if (t === "mode" && kind === "ip6tnl") {
            const m = w.arg();
            if (!["ip6ip6", "ipv6/ipv6", "ipip6", "ipv4/ipv6", "any"].includes(m)) throw new IpError(`Error: argument "${m}" is wrong: Cannot guess tunnel mode.`);
          } else throw new IpError(`Error: unknown argument "${t}".`);
        }
        spec.tunnel = tun;
      } else if (!w.done()) {
        throw new IpError(`Error: unknown argument "${w.peek() ?? ""}".`);
      }
      this.kernel.addLink(spec);
      return;
    }
    if (verb === "set") {
      let name = w.arg();
      if (name === "dev") name = w.arg();
      const change: { mtu?: number; up?: boolean; address?: string } = {};
      while (!w.done()) {
        const t = w.next() as string;
        if (t === "mtu") change.mtu = int(w.next(), "mtu");
        else if (t === "address") change.address = mac(w.arg()); // overlay
        else if (t === "up") change.up = true;
        else if (t === "down") change.up = false;
        else throw new IpError(`Error: either "dev" is duplicate, or "${t}" is a garbage.`);
      }
      this.kernel.setLink(name, change);
      return;
    }
    if (verb === "del" || verb === "delete") {
      let name = w.arg();
      if (name === "dev") name = w.arg();
      if (!w.done()) throw new IpError(`Error: either "dev" is duplicate, or "${w.peek() ?? ""}" is a garbage.`);
      this.kernel.delLink(name);
      return;
    }
    throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip link help".`);
  }

  private addrCmd(w: Words): void {
    const verb = w.next();
    if (verb !== "add" && verb !== "del" && verb !== "delete") throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip address help".`);
    let p: Cidr | undefined;
    let dev: string | undefined;
    let scope: string | undefined;
    while (!w.done()) {
      const t = w.next() as string;
      if (t === "dev") dev = w.arg();
      else if (t === "scope") scope = w.arg();
      else if (t === "local") p = prefix(w.arg());
      else if (p === undefined) p = prefix(t);
      else throw new IpError(`Error: either "local" is duplicate, or "${t}" is a garbage.`);
    }
    if (dev === undefined) throw new IpError(`Not enough information: "dev" argument is required.`);
    if (p === undefined) throw new IpError("Error: ip address is expected.");
    if (scope !== undefined && !["global", "link", "host", "site"].includes(scope)) throw new IpError(`Error: argument "${scope}" is wrong: invalid scope value.`);
    if (verb === "add") this.kernel.addAddr(dev, p, scope);
    else this.kernel.delAddr(dev, p);
  }

  private routeCmd(w: Words, batchFamily: Family | undefined): void {
    const verb = w.next();
    if (verb !== "add" && verb !== "replace" && verb !== "del" && verb !== "delete") throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip route help".`);
    let type = "unicast";
    let dst: Cidr | "default" | undefined;
    let via: IpAddress | undefined;
    let dev: string | undefined;
    let src: IpAddress | undefined;
    let scope: string | undefined;
    let proto: string | undefined;
    let table = "main";
    let onlink = false;
    while (!w.done()) {
      const t = w.next() as string;
      if (t === "via") via = inet(w.arg(), "address");
      else if (t === "dev" || t === "oif") dev = w.arg();
      else if (t === "src") src = inet(w.arg(), "address");
      else if (t === "scope") scope = w.arg();
      else if (t === "proto" || t === "protocol") proto = parseProto(w.arg());
      else if (t === "table") table = parseTable(w.arg());
      else if (t === "metric" || t === "preference") int(w.next(), t);
      else if (t === "onlink") onlink = true; // overlay
      else if (dst === undefined && (t === "unicast" || t === "local")) type = t;
      else if (dst === undefined) dst = t === "default" ? "default" : prefix(t);
      else throw new IpError(`Error: either "to" is duplicate, or "${t}" is a garbage.`);
    }
    if (dst === undefined) throw new IpError("Error: destination is required.");
    const family: Family = dst !== "default" ? dst.family : via?.family ?? batchFamily ?? "ipv4";
    if (batchFamily !== undefined && family !== batchFamily) throw new IpError(`Error: ${batchFamily === "ipv6" ? "inet6" : "inet"} prefix is expected rather than "${dst === "default" ? "default" : formatIp(dst)}".`);
    if (scope !== undefined && !["global", "link", "host", "site"].includes(scope)) throw new IpError(`Error: argument "${scope}" is wrong: invalid scope value.`);
    if (verb === "del" || verb === "delete") {
      this.kernel.delRoute({ family, table, dst, ...(proto !== undefined ? { proto } : {}), ...(via !== undefined ? { via } : {}), ...(dev !== undefined ? { dev } : {}) });
      return;
    }
    this.kernel.addRoute({
      family, table, dst, type, proto: proto ?? "3",
      ...(via !== undefined ? { via } : {}), ...(dev !== undefined ? { dev } : {}),
      ...(src !== undefined ? { src } : {}), ...(scope !== undefined ? { scope } : {}),
      ...(onlink ? { onlink } : {}),
    }, verb === "replace");
  }

  private ruleCmd(w: Words, family: Family): void {
    const verb = w.next();
    if (verb !== "add" && verb !== "del" && verb !== "delete") throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip rule help".`);
    let priority: number | undefined;
    let table: string | undefined;
    const selector: string[] = [];
    while (!w.done()) {
      const t = w.next() as string;
      if (t === "priority" || t === "pref" || t === "preference" || t === "order") priority = int(w.next(), "priority");
      else if (t === "lookup" || t === "table") table = parseTable(w.arg());
      else selector.push(t);
    }
    const sel = parseSelector(selector.join(" "), family);
    if ("error" in sel) {
      throw new IpError(/^prefix .* is not/.test(sel.error) ? `Error: Invalid ${selector.includes("to") && !selector.includes("from") ? "destination" : "source"} address.` : `Error: ${sel.error}.`);
    }
    if (verb === "add") {
      this.kernel.addRule({ family, ...(priority !== undefined ? { priority } : {}), sel, table: table ?? "main" });
    } else {
      this.kernel.delRule({ family, ...(priority !== undefined ? { priority } : {}), sel, ...(table !== undefined ? { table } : {}) });
    }
  }

  /** `fou add port P gue|ipproto N` / `fou del port P` (shape of iproute2's ipfou.c). */
  private fouCmd(w: Words, family: Family): void {
    const verb = w.next();
    if (verb !== "add" && verb !== "del") throw new IpError(`Command "${verb ?? ""}" is unknown, try "ip fou help".`);
    let port: number | undefined;
    let gue = false;
    while (!w.done()) {
      const t = w.next();
      if (t === "port") port = int(w.next(), "port");
      else if (t === "gue") gue = true;
      else if (t === "ipproto") int(w.next(), "ipproto");
      else throw new IpError(`fake ip: unsupported: fou ${t ?? ""}`);
    }
    if (port === undefined || port < 1 || port > 65535) throw new IpError("fou: missing port");
    const key = `${family}/${port}`;
    if (verb === "add") {
      if (this.fou.has(key)) throw new IpError("RTNETLINK answers: File exists");
      this.fou.set(key, gue);
    } else if (!this.fou.delete(key)) throw new IpError("RTNETLINK answers: No such file or directory");
  }

  // ----- dumps --------------------------------------------------------------------------

  private show(words: readonly string[], o: Opts): ExecResult {
    const [object, verb, ...filters] = words;
    if (!o.json) return fail(1, "fake ip: unsupported: dumps only with -j");
    if ((object === "addr" || object === "address") && verb === "show" && filters.length === 0) return ok(addrJson(this.kernel));
    if (object === "route" && verb === "show") {
      let table: string | undefined = "main";
      let proto: string | undefined;
      for (let i = 0; i < filters.length; i += 2) {
        const k = filters[i];
        const v = filters[i + 1];
        if (v === undefined) return fail(1, `fake ip: unsupported: route show ${filters.join(" ")}`);
        if (k === "table") table = v === "all" ? undefined : parseTable(v);
        else if (k === "proto") proto = parseProto(v);
        else return fail(1, `fake ip: unsupported: route show ${filters.join(" ")}`);
      }
      return ok(routeJson(this.kernel, o.family, table, proto));
    }
    if (object === "rule" && verb === "show" && filters.length === 0) return ok(ruleJson(this.kernel, o.family ?? "ipv4"));
    if (object === "fou" && verb === "show" && filters.length === 0) {
      const family = o.family ?? "ipv4";
      const out = [...this.fou].flatMap(([k, gue]) => {
        const [f, port] = k.split("/");
        return f === family ? [{ port: Number(port), ...(gue ? { gue: null } : { ipproto: 4 }), family: family === "ipv6" ? "inet6" : "inet" }] : [];
      });
      return ok(`${JSON.stringify(out)}\n`);
    }
    if ((object === "neigh" || object === "neighbor" || object === "neighbour") && verb === "show" && (filters.length === 0 || (filters.length === 2 && filters[0] === "dev"))) {
      return ok(this.neigh.dump(filters[1], o.family)); // overlay
    }
    return fail(1, `fake ip: unsupported: ${words.join(" ")}`);
  }

  /** Canonical selector text of every rule of a family (for test assertions). */
  ruleTexts(family: Family): string[] {
    return this.kernel.rules.filter((r) => r.family === family).map((r) => `${r.priority}: ${formatSelector(r.sel)} lookup ${r.table}`);
  }
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (code: number, msg: string): ExecResult => ({ code, stdout: "", stderr: `${msg}\n` });
