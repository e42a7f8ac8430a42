/**
 * An in-memory GoBGP: the calls the gobgp driver makes (driver.ts `GobgpApi`), with GoBGP's
 * semantics where the driver relies on them — StartBgp twice fails, peers and paths need a
 * started BGP, a duplicate peer or statement fails, a policy may only name existing sets and
 * an assignment existing policies, a set or policy in use cannot be deleted, AddPolicy on an
 * existing policy appends statements, DeletePolicy without `all` removes the statements given,
 * StopBgp drops peers and paths, ListPeer reports GoBGP's defaults (hold 90, keepalive 30,
 * connect-retry 120, port 179, BFD port 3784). Every call is counted, mutating or read, as the
 * real client counts them. Used by test/support/fake-node.ts through `fakeGobgpBackend`.
 *
 * Test hooks: `learn(path)` / `learnMany(paths)` / `unlearn(prefix)` (a peer's paths, emitted to
 * watchers; a watch with `init` first gets every current best path, as GoBGP sends),
 * `crash()` on the backend (a new, empty gobgpd, then onRestart).
 *
 * @category apply
 */
import { MUTATING_RPCS, type GobgpCallCounts, GobgpError, type GobgpWatch } from "./client.ts";
import type { GobgpApi, GobgpBackend } from "./driver.ts";
import type { GobgpRestart } from "./daemon.ts";
import { parsePrefix } from "./paths.ts";
import type {
  PolicyDirection, RouteAction, WDefinedSet, WDestination, WFamily, WGlobal, WPath, WPeer, WPolicy, WPolicyAssignment, WStatement,
  WWatchEventRequest, WWatchEventResponse,
} from "./wire.ts";

const clone = <T>(v: T): T => structuredClone(v);
const fam = (f: WFamily | null | undefined): string => (f?.afi === "AFI_IP6" ? "ipv6" : "ipv4");
const prefixOf = (p: WPath): string => `${p.nlri?.prefix?.prefix ?? ""}/${p.nlri?.prefix?.prefixLen ?? ""}`;

export class FakeGobgp implements GobgpApi {
  private global: WGlobal | undefined;
  private peers = new Map<string, WPeer>();
  /** family/prefix → own path */
  private paths = new Map<string, WPath>();
  /** family/prefix/neighbour → learned path */
  private learned = new Map<string, WPath>();
  private sets = new Map<string, WDefinedSet>();
  private statements = new Map<string, WStatement>();
  /** policy → statement names, in order */
  private policies = new Map<string, string[]>();
  private assignments = new Map<PolicyDirection, { policies: string[]; defaultAction: RouteAction }>();
  private counts = new Map<string, number>();
  private watchers = new Set<(ev: WWatchEventResponse) => void>();
  closed = false;

  private call(rpc: string): void {
    this.counts.set(rpc, (this.counts.get(rpc) ?? 0) + 1);
    if (this.closed) throw new GobgpError(rpc, 14, "UNAVAILABLE: gobgpd is not running");
  }
  private fail(rpc: string, detail: string): never {
    throw new GobgpError(rpc, 2, detail);
  }
  private needStarted(rpc: string): void {
    if (this.global === undefined) this.fail(rpc, "gobgp server hasn't started yet");
  }

  /** A new, empty gobgpd (what a restart gives). */
  reset(): void {
    this.global = undefined;
    this.peers.clear();
    this.paths.clear();
    this.learned.clear();
    this.sets.clear();
    this.statements.clear();
    this.policies.clear();
    this.assignments.clear();
  }

  callCounts(): GobgpCallCounts {
    const byRpc = Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
    let mutating = 0;
    let read = 0;
    for (const [rpc, n] of this.counts) (MUTATING_RPCS.has(rpc) ? (mutating += n) : (read += n));
    return { byRpc, mutating, read };
  }
  close(): void { /* the channel; the fake stays readable */ }

  // ---- global ----
  async getBgp(): Promise<WGlobal> {
    this.call("GetBgp");
    return this.global ? clone(this.global) : { asn: 0, routerId: "" };
  }
  async startBgp(g: WGlobal): Promise<void> {
    this.call("StartBgp");
    if (this.global !== undefined) this.fail("StartBgp", "gobgp is already started");
    if (!g.asn) this.fail("StartBgp", "invalid as number 0");
    this.global = { listenPort: 179, listenAddresses: [], ...clone(g) };
  }
  async stopBgp(): Promise<void> {
    this.call("StopBgp");
    this.needStarted("StopBgp");
    this.global = undefined;
    this.peers.clear();
    this.paths.clear();
    this.learned.clear();
  }

  // ---- peers ----
  private withDefaults(p: WPeer): WPeer {
    const hold = p.timers?.config?.holdTime || 90;
    return {
      ...clone(p),
      timers: { config: { holdTime: hold, keepaliveInterval: p.timers?.config?.keepaliveInterval || Math.floor(hold / 3), connectRetry: p.timers?.config?.connectRetry || 120 } },
      transport: { ...(p.transport ?? {}), remotePort: p.transport?.remotePort || 179 },
      ...(p.bfd?.enabled ? { bfd: { ...p.bfd, port: p.bfd.port || 3784 } } : {}),
      state: { sessionState: "SESSION_STATE_ACTIVE" } as unknown as NonNullable<WPeer["state"]>,
    };
  }
  async listPeer(address = ""): Promise<WPeer[]> {
    this.call("ListPeer");
    return [...this.peers.values()].filter((p) => address === "" || p.conf?.neighborAddress === address).map(clone);
  }
  async addPeer(peer: WPeer): Promise<void> {
    this.call("AddPeer");
    this.needStarted("AddPeer");
    const a = peer.conf?.neighborAddress ?? "";
    if (this.peers.has(a)) this.fail("AddPeer", `can't overwrite the existing peer: ${a}`);
    this.peers.set(a, this.withDefaults(peer));
  }
  async deletePeer(address: string): Promise<void> {
    this.call("DeletePeer");
    if (!this.peers.delete(address)) this.fail("DeletePeer", `can't find the neighbor ${address}`);
    for (const [k, p] of this.learned) if (p.neighborIp === address) this.learned.delete(k);
  }
  async updatePeer(peer: WPeer): Promise<boolean> {
    this.call("UpdatePeer");
    const a = peer.conf?.neighborAddress ?? "";
    if (!this.peers.has(a)) this.fail("UpdatePeer", `can't find the neighbor ${a}`);
    this.peers.set(a, this.withDefaults(peer));
    return false;
  }
  async resetPeer(address: string): Promise<void> {
    this.call("ResetPeer");
    if (!this.peers.has(address)) this.fail("ResetPeer", `can't find the neighbor ${address}`);
  }

  // ---- paths ----
  async listPath(family: WFamily): Promise<WDestination[]> {
    this.call("ListPath");
    this.needStarted("ListPath");
    const f = fam(family);
    const byPrefix = new Map<string, WPath[]>();
    for (const p of [...this.paths.values(), ...this.learned.values()]) {
      if (fam(p.family) !== f) continue;
      const k = prefixOf(p);
      const list = byPrefix.get(k) ?? [];
      list.push({ ...p, best: list.length === 0 });
      byPrefix.set(k, list);
    }
    return [...byPrefix].sort(([a], [b]) => a.localeCompare(b)).map(([prefix, paths]) => ({ prefix, paths }));
  }
  async addPathStream(paths: readonly WPath[]): Promise<void> {
    this.call("AddPathStream");
    this.needStarted("AddPathStream");
    for (const p of paths) {
      try { parsePrefix(prefixOf(p)); } catch (e) { this.fail("AddPathStream", (e as Error).message); }
      const k = `${fam(p.family)}/${prefixOf(p)}`;
      if (p.isWithdraw) this.paths.delete(k);
      else this.paths.set(k, { ...clone(p), isWithdraw: false, neighborIp: "<nil>" });
    }
  }

  /** Test hook: a path learned from `neighbor` (emitted to watchers as a best path). */
  learn(path: WPath, neighbor: string): void {
    const p = { ...clone(path), neighborIp: neighbor };
    this.learned.set(`${fam(p.family)}/${prefixOf(p)}/${neighbor}`, p);
    for (const w of this.watchers) w({ event: "table", table: { paths: [p] } });
  }
  /** Test hook: many paths learned from `neighbor` at once, told in one best-path event (as GoBGP batches an UPDATE's prefixes), unless `tell: false` (then `tell(returned)`). */
  learnMany(paths: readonly WPath[], neighbor: string, o: { tell?: boolean } = {}): WPath[] {
    const told: WPath[] = [];
    for (const path of paths) {
      const p = { ...path, neighborIp: neighbor };
      this.learned.set(`${fam(p.family)}/${prefixOf(p)}/${neighbor}`, p);
      told.push(p);
    }
    if (o.tell !== false) this.tell(told);
    return told;
  }
  /** Test hook: tells watchers these best paths (what `learnMany` does unless `tell: false`). */
  tell(paths: WPath[]): void {
    for (const w of this.watchers) w({ event: "table", table: { paths } });
  }
  /** Test hook: the peer withdrew it. */
  unlearn(path: WPath, neighbor: string): void {
    const p = { ...clone(path), neighborIp: neighbor, isWithdraw: true };
    this.learned.delete(`${fam(p.family)}/${prefixOf(p)}/${neighbor}`);
    for (const w of this.watchers) w({ event: "table", table: { paths: [p] } });
  }

  // ---- defined sets ----
  private setKey = (s: Pick<WDefinedSet, "definedType" | "name">): string => `${s.definedType}/${s.name}`;
  async listDefinedSet(definedType: WDefinedSet["definedType"]): Promise<WDefinedSet[]> {
    this.call("ListDefinedSet");
    return [...this.sets.values()].filter((s) => s.definedType === definedType).map(clone);
  }
  async addDefinedSet(set: WDefinedSet, replace = false): Promise<void> {
    this.call("AddDefinedSet");
    const k = this.setKey(set);
    const old = replace ? undefined : this.sets.get(k);
    const list = [...new Set([...(old?.list ?? []), ...(set.list ?? [])])];
    const prefixes = [...(old?.prefixes ?? [])];
    for (const p of set.prefixes ?? []) if (!prefixes.some((q) => q.ipPrefix === p.ipPrefix && q.maskLengthMin === p.maskLengthMin && q.maskLengthMax === p.maskLengthMax)) prefixes.push(clone(p));
    this.sets.set(k, { definedType: set.definedType, name: set.name, list, prefixes });
  }
  private setInUse(name: string): boolean {
    for (const st of this.statements.values()) {
      if (st.conditions?.prefixSet?.name === name || st.conditions?.neighborSet?.name === name) return true;
    }
    return false;
  }
  async deleteDefinedSet(set: WDefinedSet, all = false): Promise<void> {
    this.call("DeleteDefinedSet");
    const k = this.setKey(set);
    const old = this.sets.get(k);
    if (old === undefined) this.fail("DeleteDefinedSet", `not found defined-set: ${set.name}`);
    if (all) {
      if (this.setInUse(set.name)) this.fail("DeleteDefinedSet", `can't delete. defined-set ${set.name} is in use`);
      this.sets.delete(k);
      return;
    }
    const gone = new Set(set.list ?? []);
    const gonePfx = (set.prefixes ?? []).map((p) => `${p.ipPrefix} ${p.maskLengthMin} ${p.maskLengthMax}`);
    this.sets.set(k, {
      ...old,
      list: (old.list ?? []).filter((i) => !gone.has(i)),
      prefixes: (old.prefixes ?? []).filter((p) => !gonePfx.includes(`${p.ipPrefix} ${p.maskLengthMin} ${p.maskLengthMax}`)),
    });
  }

  // ---- policies ----
  private checkSets(rpc: string, st: WStatement): void {
    for (const m of [st.conditions?.prefixSet, st.conditions?.neighborSet]) {
      if (m && m.name !== "" && ![...this.sets.values()].some((s) => s.name === m.name)) this.fail(rpc, `not found defined-set ${m.name}`);
    }
  }
  async listPolicy(): Promise<WPolicy[]> {
    this.call("ListPolicy");
    return [...this.policies].map(([name, sts]) => ({ name, statements: sts.map((s) => clone(this.statements.get(s)!)) }));
  }
  async addPolicy(policy: WPolicy): Promise<void> {
    this.call("AddPolicy");
    for (const st of policy.statements ?? []) {
      if (this.statements.has(st.name)) this.fail("AddPolicy", `statement ${st.name} already defined`);
      this.checkSets("AddPolicy", st);
    }
    for (const st of policy.statements ?? []) this.statements.set(st.name, clone(st));
    this.policies.set(policy.name, [...(this.policies.get(policy.name) ?? []), ...(policy.statements ?? []).map((s) => s.name)]);
  }
  async deletePolicy(policy: WPolicy, preserveStatements = false, all = true): Promise<void> {
    this.call("DeletePolicy");
    const sts = this.policies.get(policy.name);
    if (sts === undefined) this.fail("DeletePolicy", `not found policy: ${policy.name}`);
    if (all) {
      for (const a of this.assignments.values()) if (a.policies.includes(policy.name)) this.fail("DeletePolicy", `can't delete. policy ${policy.name} is in use`);
      this.policies.delete(policy.name);
      if (!preserveStatements) for (const s of sts) this.statements.delete(s);
      return;
    }
    const gone = new Set((policy.statements ?? []).map((s) => s.name));
    this.policies.set(policy.name, sts.filter((s) => !gone.has(s)));
    // as GoBGP 4.8: the removed statements stay defined (it sweeps only the remaining ones)
  }
  async deleteStatement(statement: WStatement, all = true): Promise<void> {
    this.call("DeleteStatement");
    if (!this.statements.has(statement.name)) this.fail("DeleteStatement", `not found statement: ${statement.name}`);
    if (all && [...this.policies.values()].some((sts) => sts.includes(statement.name))) this.fail("DeleteStatement", `can't delete. statement ${statement.name} is in use`);
    this.statements.delete(statement.name);
  }

  // ---- assignments ----
  async listPolicyAssignment(name = "global", direction?: PolicyDirection): Promise<WPolicyAssignment[]> {
    this.call("ListPolicyAssignment");
    const dirs: PolicyDirection[] = direction ? [direction] : ["POLICY_DIRECTION_IMPORT", "POLICY_DIRECTION_EXPORT"];
    return dirs.map((d) => {
      const a = this.assignments.get(d);
      return { name, direction: d, policies: (a?.policies ?? []).map((p) => ({ name: p, statements: (this.policies.get(p) ?? []).map((s) => clone(this.statements.get(s)!)) })), defaultAction: a?.defaultAction ?? "ROUTE_ACTION_ACCEPT" };
    });
  }
  private checkPolicies(rpc: string, a: WPolicyAssignment): string[] {
    const names = (a.policies ?? []).map((p) => p.name);
    for (const n of names) if (!this.policies.has(n)) this.fail(rpc, `not found policy ${n}`);
    return names;
  }
  async addPolicyAssignment(a: WPolicyAssignment): Promise<void> {
    this.call("AddPolicyAssignment");
    const names = this.checkPolicies("AddPolicyAssignment", a);
    const old = this.assignments.get(a.direction);
    this.assignments.set(a.direction, { policies: [...(old?.policies ?? []), ...names.filter((n) => !old?.policies.includes(n))], defaultAction: a.defaultAction ?? "ROUTE_ACTION_ACCEPT" });
  }
  async setPolicyAssignment(a: WPolicyAssignment): Promise<void> {
    this.call("SetPolicyAssignment");
    const names = this.checkPolicies("SetPolicyAssignment", a);
    this.assignments.set(a.direction, { policies: names, defaultAction: a.defaultAction ?? "ROUTE_ACTION_ACCEPT" });
  }
  async deletePolicyAssignment(a: WPolicyAssignment, all = false): Promise<void> {
    this.call("DeletePolicyAssignment");
    if (all) { this.assignments.delete(a.direction); return; }
    const old = this.assignments.get(a.direction);
    const gone = new Set((a.policies ?? []).map((p) => p.name));
    if (old) this.assignments.set(a.direction, { ...old, policies: old.policies.filter((p) => !gone.has(p)) });
  }

  // ---- events ----
  watchEvent(req: WWatchEventRequest, onEvent: (ev: WWatchEventResponse) => void): GobgpWatch {
    this.call("WatchEvent");
    this.watchers.add(onEvent);
    // as GoBGP: with `init` on a started server, the first message holds every current best path
    if (this.global !== undefined && (req.table?.filters ?? []).some((f) => f.type === "TYPE_BEST" && f.init === true)) {
      const best = new Map<string, WPath>();
      for (const p of [...this.paths.values(), ...this.learned.values()]) {
        const k = `${fam(p.family)}/${prefixOf(p)}`;
        if (!best.has(k)) best.set(k, clone(p));
      }
      queueMicrotask(() => { if (this.watchers.has(onEvent)) onEvent({ event: "table", table: { paths: [...best.values()] } }); });
    }
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => { resolve = r; });
    return { cancel: () => { this.watchers.delete(onEvent); resolve(); }, done };
  }
}

/** A backend over a FakeGobgp: `crash()` empties it and reports a restart, as the supervisor does. */
export class FakeGobgpBackend implements GobgpBackend {
  readonly api: FakeGobgp;
  private onRestart: ((r: GobgpRestart) => void) | undefined;
  running = false;
  restarts = 0;
  /** When set, start() rejects with it (no gobgpd binary, …). */
  startError: string | undefined;

  constructor(api = new FakeGobgp()) {
    this.api = api;
  }
  async start(onRestart: (r: GobgpRestart) => void): Promise<void> {
    if (this.startError !== undefined) throw new Error(this.startError);
    this.onRestart = onRestart;
    this.running = true;
    this.api.closed = false;
  }
  async restart(): Promise<void> {
    this.api.reset();
  }
  async stop(_kill: boolean): Promise<void> {
    this.running = false;
    this.api.reset();
    this.api.closed = true;
  }
  pid(): number | undefined {
    return this.running ? 4242 : undefined;
  }
  /** gobgpd died and came back empty. */
  crash(): void {
    this.api.reset();
    this.restarts++;
    this.onRestart?.({ restarts: this.restarts, exitCode: null, signal: "SIGKILL", downMs: 1 });
  }
}
