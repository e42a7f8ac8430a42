/**
 * The gobgp driver (family "gobgp"): the six BGP tables (model/bgp.ts) in the agent's own
 * gobgpd, over gRPC. The gobgpd instance is ours entirely (one child per agent, its API on a
 * unix socket in the node's state directory), so everything observed in it is ours: nothing
 * foreign is ever there to protect.
 *
 * - `start()` starts gobgpd under the supervisor (daemon.ts), unless plan-only (dry-run). It
 *   never rejects: a failure (no gobgpd binary, API not up) is recorded as one line, and
 *   `observe` tries once more and rejects with that line, so only the lanes owning BGP tables
 *   fail (the router, proxy and firewall keep syncing).
 * - `observe` reads GetBgp / ListPeer / ListPath (own paths: neighbour "") / ListDefinedSet /
 *   ListPolicy / ListPolicyAssignment into the model, normalised as the renderer renders
 *   (convert.ts), so a converged node diffs empty and a no-op sync makes no mutating call.
 *   Plan-only: reads a gobgpd already serving on the socket (the running agent's), else
 *   reports empty tables (the plan shows everything to create).
 * - `scripts(plan)`: ONE script, `gobgp (gRPC)`, whose text is the changes in `gobgp` CLI
 *   syntax (render/bgp/gobgp-text.ts) and whose run applies them in a safe order: StartBgp
 *   (once per gobgpd life), defined sets, policies, assignments, paths (one AddPathStream
 *   for all adds, one for all withdrawals), peers (UpdatePeer in place: unchanged sessions
 *   never reset); then deletes in reverse. A changed global config (ASN, router ID, listen
 *   port or addresses) cannot be changed on a running gobgpd: the script restarts gobgpd and
 *   replays the whole state. Every step runs; the script fails with the first error (and a
 *   count) when any failed, so the next sync observes again.
 * - `wantsFullSync()`: after gobgpd restarted on its own (onRestart) until the next observe;
 *   `subscribe` wakes the runtime at once (a full sync: replay within ~1 s of the restart), and
 *   again (partial) when GoBGP's best paths change (WatchEvent), so learned routes follow
 *   peers without waiting for a period.
 * - `hostFacts()`: the learned best paths (for render/bgp/learned.ts: the table the event
 *   stream keeps, learned-events.ts; a ListPath read until the stream has spoken) and the
 *   `--peer-router-passwords-file` content, read before render so render stays pure.
 * - `stop()`: stops gobgpd (SIGTERM: Cease to peers), or kills it when graceful restart is on
 *   (peers keep our routes as stale), as upstream.
 *
 * @category apply
 */
import { readFileSync } from "node:fs";
import {
  BGP_TABLE_NAMES, type BgpDefinedSet, type BgpGlobal, type BgpPath, type BgpPeer, type BgpPolicy, type BgpPolicyAssignment,
  type BgpState, type BgpTableName, type LearnedPath, bgpAssignmentKey, bgpDefinedSetKey, bgpPathKey, bgpPeerKey, bgpPolicyKey,
  emptyBgpState,
} from "../../model/bgp.ts";
import type { HostFacts } from "../../model/host.ts";
import { canonicalCidr, canonicalIp } from "../../model/ip.ts";
import { LearnedRib, learnedTable } from "../../model/learned-rib.ts";
import type { NodePlan } from "../../model/plan.ts";
import type { NodeState } from "../../model/state.ts";
import { type Change, type Table, deepEqual, patchTable, sortedTable } from "../../model/table.ts";
import { bgpChangeText } from "../../model/bgp-text.ts";
import { type Driver, ORDER, type Script, type SyncNotice } from "../driver.ts";
import type { CallOptions, GobgpCallCounts, GobgpWatch } from "./client.ts";
import { GobgpClient } from "./client.ts";
import {
  assignmentFromWire, assignmentToWire, definedSetFromWire, definedSetToWire, globalFromWire, globalToWire, pathModelFromWire,
  pathModelToWire, peerModelFromWire, peerModelToWire, policyFromWire, policyToWire, setMembers,
} from "./convert.ts";
import { GobgpDaemon, type GobgpRestart } from "./daemon.ts";
import { applyBestPaths } from "./learned-events.ts";
import { FAMILY_IPV4, FAMILY_IPV6, parseDestinations } from "./paths.ts";
import type {
  PolicyDirection, TableType, WDefinedSet, WStatement, WDestination, WFamily, WGlobal, WPath, WPeer, WPolicy, WPolicyAssignment,
  WWatchEventRequest, WWatchEventResponse,
} from "./wire.ts";

/** The GoBGP calls the driver makes: GobgpClient, or the in-memory fake (fake.ts). */
export interface GobgpApi {
  getBgp(o?: CallOptions): Promise<WGlobal>;
  startBgp(global: WGlobal): Promise<void>;
  stopBgp(allowGracefulRestart?: boolean): Promise<void>;
  listPeer(address?: string): Promise<WPeer[]>;
  addPeer(peer: WPeer): Promise<void>;
  deletePeer(address: string): Promise<void>;
  updatePeer(peer: WPeer, doSoftResetIn?: boolean): Promise<boolean>;
  resetPeer(address: string, soft: boolean, direction?: "DIRECTION_IN" | "DIRECTION_OUT" | "DIRECTION_BOTH"): Promise<void>;
  listPath(family: WFamily, tableType?: TableType): Promise<WDestination[]>;
  addPathStream(paths: readonly WPath[], batch?: number): Promise<void>;
  listDefinedSet(definedType: WDefinedSet["definedType"]): Promise<WDefinedSet[]>;
  addDefinedSet(set: WDefinedSet, replace?: boolean): Promise<void>;
  deleteDefinedSet(set: WDefinedSet, all?: boolean): Promise<void>;
  listPolicy(): Promise<WPolicy[]>;
  addPolicy(policy: WPolicy, referExistingStatements?: boolean): Promise<void>;
  deletePolicy(policy: WPolicy, preserveStatements?: boolean, all?: boolean): Promise<void>;
  deleteStatement(statement: WStatement, all?: boolean): Promise<void>;
  listPolicyAssignment(name?: string, direction?: PolicyDirection): Promise<WPolicyAssignment[]>;
  addPolicyAssignment(a: WPolicyAssignment): Promise<void>;
  setPolicyAssignment(a: WPolicyAssignment): Promise<void>;
  deletePolicyAssignment(a: WPolicyAssignment, all?: boolean): Promise<void>;
  watchEvent?(req: WWatchEventRequest, onEvent: (ev: WWatchEventResponse) => void): GobgpWatch;
  callCounts(): GobgpCallCounts;
  close(): void;
}

/** The gobgpd the driver talks to: start/restart/stop, and its API. */
export interface GobgpBackend {
  readonly api: GobgpApi;
  /** Starts gobgpd; `onRestart` after each automatic restart (a new, empty gobgpd). Rejects with one line. */
  start(onRestart: (r: GobgpRestart) => void): Promise<void>;
  /** Replaces the running gobgpd by a fresh one (no onRestart). */
  restart(): Promise<void>;
  stop(kill: boolean): Promise<void>;
  /** pid of gobgpd, when one runs. */
  pid?(): number | undefined;
}

export interface GobgpDriverOptions {
  /** The node's state directory (gobgpd.sock lives there). */
  readonly stateDir: string;
  readonly netns?: string;
  /** `--gobgp-admin-port` (0: none) and `--gobgp-admin-address`. */
  readonly adminPort?: number;
  readonly adminAddress?: string;
  /** Dry-run: never start gobgpd, never change anything. */
  readonly planOnly: boolean;
  /** With planOnly: do not even read a running gobgpd (BGP off, cleanup): observe is empty. */
  readonly inert?: boolean;
  /** `--bgp-graceful-restart`: stop kills gobgpd (no Cease: peers keep our routes as stale). */
  readonly gracefulRestart?: boolean;
  /** `--peer-router-passwords-file` ("" / undefined: none). */
  readonly passwordsFile?: string;
  /** Families to read learned paths of (default both). */
  readonly families?: readonly ("ipv4" | "ipv6")[];
  /** gobgpd binary (else KRT_GOBGPD, the build cache, PATH). */
  readonly gobgpdPath?: string;
  /** gobgpd's log lines. */
  readonly onLog?: (line: string) => void;
  /** Another backend (tests: the in-memory fake). */
  readonly backend?: GobgpBackend;
  /** Paths per AddPathStream message (default 1000). */
  readonly pathBatch?: number;
}

/** The real backend: a supervised gobgpd and a client on its socket. */
export function daemonBackend(o: GobgpDriverOptions): GobgpBackend {
  let onRestart: (r: GobgpRestart) => void = () => undefined;
  const daemon = new GobgpDaemon({
    stateDir: o.stateDir,
    ...(o.netns !== undefined ? { netns: o.netns } : {}),
    ...(o.gobgpdPath !== undefined ? { gobgpdPath: o.gobgpdPath } : {}),
    ...(o.adminPort ? { adminPort: o.adminPort, adminAddress: o.adminAddress ?? "127.0.0.1" } : {}),
    ...(o.onLog ? { onLog: o.onLog } : {}),
    onRestart: (r) => onRestart(r),
  });
  const api = new GobgpClient(daemon.target());
  return {
    api,
    async start(cb) {
      onRestart = cb;
      await daemon.start();
    },
    async restart() {
      await daemon.stop();
      await daemon.start();
    },
    stop: (kill) => daemon.stop({ kill }),
    pid: () => daemon.pid(),
  };
}

const TEXT_TITLE = "gobgp (gRPC)";
const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split("\n")[0] ?? "failed";

/** The BGP tables of a node state. */
function bgpPart(s: NodeState): BgpState {
  return { bgpGlobal: s.bgpGlobal, bgpPeers: s.bgpPeers, bgpPaths: s.bgpPaths, bgpDefinedSets: s.bgpDefinedSets, bgpPolicies: s.bgpPolicies, bgpAssignments: s.bgpAssignments };
}

/** The plan's BGP changes as `gobgp` CLI lines, in the order the script applies them. */
export function gobgpPlanText(plan: NodePlan): string[] {
  const lines: string[] = [];
  const global = plan.bgpGlobal[0];
  if (global && global.op !== "create") lines.push(...bgpChangeText("bgpGlobal", global));
  if (global && global.op === "create") lines.push(...bgpChangeText("bgpGlobal", global));
  for (const t of BGP_TABLE_NAMES) {
    if (t === "bgpGlobal") continue;
    for (const c of plan[t] as readonly Change<unknown>[]) if (c.op !== "delete") lines.push(...bgpChangeText(t, c));
  }
  for (const t of [...BGP_TABLE_NAMES].reverse()) {
    if (t === "bgpGlobal") continue;
    for (const c of plan[t] as readonly Change<unknown>[]) if (c.op === "delete") lines.push(...bgpChangeText(t, c));
  }
  return lines;
}

const hasBgpChanges = (plan: NodePlan): boolean => BGP_TABLE_NAMES.some((t) => plan[t].length > 0);

/** Builds the driver (see the module comment). */
export function gobgpDriver(o: GobgpDriverOptions): Driver & {
  /** The API in use (tests read callCounts). */
  readonly api: GobgpApi;
  readonly backend: GobgpBackend | undefined;
  /** Best-path updates from peers seen on GoBGP's event stream (metrics). */
  receivedUpdates(): number;
  /** How long the last apply took, ms (metrics). */
  lastApplyMs(): number | undefined;
} {
  const backend = o.backend ?? (o.planOnly ? undefined : daemonBackend(o));
  // plan-only: read the running agent's gobgpd if there is one (never started here)
  const reader: GobgpApi = backend?.api ?? new GobgpClient(`unix://${o.stateDir}/gobgpd.sock`, { deadlineMs: 2000 });
  let started = false;
  let startError: string | undefined;
  let restartReason: string | undefined;
  let notify: ((n: SyncNotice) => void) | undefined;
  let watch: GobgpWatch | undefined;
  /** BGP started on the current gobgpd (StartBgp done). */
  let bgpUp = false;
  /** The global config StartBgp got on the current gobgpd (GetBgp omits graceful restart). */
  let startedWith: BgpGlobal | undefined;
  /** Desired policy statement order (observe normalises GoBGP's order to it). */
  let statementOrder = new Map<string, readonly string[]>();
  const families = o.families ?? ["ipv4", "ipv6"];
  let received = 0;
  let applyMs: number | undefined;
  /**
   * The learned best paths, kept by GoBGP's best-path event stream (learned-events.ts): valid
   * (`ribLive`) once the stream has delivered its first message, until it ends. A sync then
   * reads no RIB at all and hands the render a table whose unchanged chunks keep their identity.
   */
  const rib = new LearnedRib();
  let ribLive = false;
  /** The global RIB as hostFacts last read it, reused by the observe of the same sync (no apply in between). */
  let ribCache: { at: number; dests: WDestination[] } | undefined;

  const openWatch = (): void => {
    watch?.cancel();
    watch = undefined;
    if (backend?.api.watchEvent === undefined) return;
    try {
      rib.clear();
      ribLive = false;
      const w = backend.api.watchEvent({ table: { filters: [{ type: "TYPE_BEST", init: true }] } }, (ev) => {
        if (watch !== w || ev.table == null) return;
        const paths = ev.table.paths ?? [];
        ribLive = true;
        const r = applyBestPaths(rib, paths);
        received += r.fromPeers;
        if (r.changed > 0) notify?.({ full: false, reason: "GoBGP best paths from peers changed" });
      });
      // a stream that ends (gobgpd gone) leaves the table unusable until a new one is open
      w.done.then(() => undefined, () => undefined).then(() => { if (watch === w) { watch = undefined; ribLive = false; } });
      watch = w;
    } catch { /* no watch: learned routes follow at each sync */ }
  };

  const onRestart = (r: GobgpRestart): void => {
    bgpUp = false;
    ribCache = undefined;
    startedWith = undefined;
    restartReason = `gobgpd restarted (${r.signal ?? `exit ${r.exitCode}`}, down ${r.downMs} ms): replaying the BGP state`;
    openWatch();
    notify?.({ full: true, reason: restartReason });
  };

  const tryStart = async (): Promise<void> => {
    if (backend === undefined || started) return;
    try {
      await backend.start(onRestart);
      started = true;
      startError = undefined;
      openWatch();
    } catch (e) {
      startError = `gobgpd not running: ${firstLine(e)}`;
    }
  };

  const fresh = (c: { at: number } | undefined): boolean => c !== undefined && Date.now() - c.at < 2000;

  async function readState(api: GobgpApi): Promise<BgpState> {
    const state = emptyBgpState();
    const g = globalFromWire(await api.getBgp());
    bgpUp = g !== undefined;
    if (g === undefined) { startedWith = undefined; return state; } // a gobgpd without BGP started holds nothing (its policy tables do not even exist yet)
    const [peers, sets, policies, assignments, paths] = await Promise.all([
      api.listPeer(),
      Promise.all([api.listDefinedSet("DEFINED_TYPE_PREFIX"), api.listDefinedSet("DEFINED_TYPE_NEIGHBOR")]).then((x) => x.flat()),
      api.listPolicy(),
      Promise.all([api.listPolicyAssignment("global", "POLICY_DIRECTION_IMPORT"), api.listPolicyAssignment("global", "POLICY_DIRECTION_EXPORT")]).then((x) => x.flat()),
      fresh(ribCache) ? Promise.resolve(ribCache!.dests) : Promise.all(families.map((f) => api.listPath(f === "ipv6" ? FAMILY_IPV6 : FAMILY_IPV4))).then((x) => x.flat()),
    ]);
    ribCache = undefined;
    // GetBgp does not report the global graceful-restart config: it is what this gobgpd was started with
    const global: BgpGlobal = { ...g, ...(startedWith?.gracefulRestart ? { gracefulRestart: startedWith.gracefulRestart } : {}) };
    const table = <T>(rows: readonly (T | undefined)[], key: (r: T) => string): Table<T> =>
      sortedTable(rows.flatMap((r) => (r === undefined ? [] : [[key(r), r] as const])));
    return {
      bgpGlobal: table<BgpGlobal>([global], () => "global"),
      bgpPeers: table<BgpPeer>(peers.map(peerModelFromWire), bgpPeerKey),
      bgpPaths: table<BgpPath>(paths.flatMap((d) => d.paths.map(pathModelFromWire)), bgpPathKey),
      bgpDefinedSets: table<BgpDefinedSet>(sets.map(definedSetFromWire), bgpDefinedSetKey),
      bgpPolicies: table<BgpPolicy>(policies.map((p) => policyFromWire(p, statementOrder.get(p.name))), bgpPolicyKey),
      bgpAssignments: table<BgpPolicyAssignment>(assignments.map(assignmentFromWire), bgpAssignmentKey),
    } satisfies BgpState as typeof state;
  }

  /** Applies the BGP part of a plan; returns the errors (one line each). */
  async function apply(plan: NodePlan, known: BgpState): Promise<string[]> {
    const api = backend!.api;
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try { await fn(); } catch (e) { errors.push(`${what}: ${firstLine(e)}`); }
    };
    const global = plan.bgpGlobal[0];
    let changes: { [T in BgpTableName]: readonly Change<BgpState[T] extends Table<infer R> ? R : never>[] } = {
      bgpGlobal: plan.bgpGlobal, bgpPeers: plan.bgpPeers, bgpPaths: plan.bgpPaths, bgpDefinedSets: plan.bgpDefinedSets,
      bgpPolicies: plan.bgpPolicies, bgpAssignments: plan.bgpAssignments,
    };
    if (global?.op === "update") {
      // GoBGP cannot change ASN, router ID or listen addresses on a running server: a fresh
      // gobgpd, then the whole desired state as creates
      const want = (t: BgpTableName) => patchTable(known[t] as Table<unknown>, changes[t] as readonly Change<unknown>[]);
      await step("restart gobgpd for the new global config", () => backend!.restart());
      bgpUp = false;
      startedWith = undefined;
      ribCache = undefined;
      openWatch();
      const creates = <T>(t: Table<T>): Change<T>[] => [...t].map(([key, after]) => ({ op: "create", key, after }));
      changes = {
        bgpGlobal: creates(want("bgpGlobal") as Table<BgpGlobal>), bgpPeers: creates(want("bgpPeers") as Table<BgpPeer>),
        bgpPaths: creates(want("bgpPaths") as Table<BgpPath>), bgpDefinedSets: creates(want("bgpDefinedSets") as Table<BgpDefinedSet>),
        bgpPolicies: creates(want("bgpPolicies") as Table<BgpPolicy>), bgpAssignments: creates(want("bgpAssignments") as Table<BgpPolicyAssignment>),
      };
      if (errors.length > 0) return errors;
    }
    const g = changes.bgpGlobal[0];
    if (g?.op === "create" && !bgpUp) {
      await step("StartBgp", async () => { await api.startBgp(globalToWire(g.after)); bgpUp = true; startedWith = g.after; });
      // a stream opened now starts with GoBGP's current best paths (init), so the learned table is live at once
      if (bgpUp) openWatch();
    }

    // creates and updates, in apply order
    for (const c of changes.bgpDefinedSets) {
      if (c.op === "create") await step(`AddDefinedSet ${c.key}`, () => api.addDefinedSet(definedSetToWire(c.after)));
      else if (c.op === "update") {
        const before = setMembers(c.before);
        const added = [...setMembers(c.after)].filter(([k]) => !before.has(k)).map(([, v]) => v);
        if (added.length > 0) {
          await step(`AddDefinedSet ${c.key}`, () => api.addDefinedSet(definedSetToWire(c.after, { list: added.flatMap((a) => a.list ?? []), prefixes: added.flatMap((a) => a.prefix ?? []) })));
        }
      }
    }
    for (const c of changes.bgpPolicies) {
      if (c.op === "create") await step(`AddPolicy ${c.key}`, () => api.addPolicy(policyToWire(c.after)));
      else if (c.op === "update") {
        const old = new Map(c.before.statements.map((s) => [s.name, s]));
        const now = new Set(c.after.statements.map((s) => s.name));
        const changed = c.after.statements.filter((s) => old.has(s.name) && !deepEqual(old.get(s.name), s));
        const off = [...c.before.statements.filter((s) => !now.has(s.name)), ...changed];
        const on = [...changed, ...c.after.statements.filter((s) => !old.has(s.name))];
        if (off.length > 0) {
          // GoBGP 4.8 removes the statements from the policy but keeps them defined (it only
          // sweeps the policy's remaining ones): delete each, or re-adding one fails
          await step(`DeletePolicy ${c.key} (statements)`, () => api.deletePolicy(policyToWire(c.after, off), true, false));
          for (const st of off) await step(`DeleteStatement ${st.name}`, () => api.deleteStatement({ name: st.name }, true));
        }
        if (on.length > 0) await step(`AddPolicy ${c.key} (statements)`, () => api.addPolicy(policyToWire(c.after, on)));
      }
    }
    for (const c of changes.bgpAssignments) {
      if (c.op === "create") await step(`AddPolicyAssignment ${c.key}`, () => api.addPolicyAssignment(assignmentToWire(c.after)));
      else if (c.op === "update") await step(`SetPolicyAssignment ${c.key}`, () => api.setPolicyAssignment(assignmentToWire(c.after)));
    }
    const adds: WPath[] = [];
    for (const c of changes.bgpPaths) {
      if (c.op === "delete") continue;
      try { adds.push(pathModelToWire(c.after)); } catch (e) { errors.push(`path ${c.key}: ${firstLine(e)}`); }
    }
    if (adds.length > 0) await step(`AddPathStream (${adds.length} paths)`, () => api.addPathStream(adds, o.pathBatch));
    for (const c of changes.bgpPeers) {
      if (c.op === "create") await step(`AddPeer ${c.key}`, () => api.addPeer(peerModelToWire(c.after)));
      else if (c.op === "update") {
        await step(`UpdatePeer ${c.key}`, async () => {
          const resetIn = await api.updatePeer(peerModelToWire(c.after), false);
          if (resetIn) await api.resetPeer(c.after.neighborAddress, true, "DIRECTION_IN");
        });
      }
    }

    // deletes, in reverse order
    for (const c of changes.bgpPeers) if (c.op === "delete") await step(`DeletePeer ${c.key}`, () => api.deletePeer(c.before.neighborAddress));
    const withdraws: WPath[] = [];
    for (const c of changes.bgpPaths) {
      if (c.op !== "delete") continue;
      try { withdraws.push({ ...pathModelToWire(c.before), isWithdraw: true }); } catch (e) { errors.push(`path ${c.key}: ${firstLine(e)}`); }
    }
    if (withdraws.length > 0) await step(`AddPathStream (${withdraws.length} withdrawals)`, () => api.addPathStream(withdraws, o.pathBatch));
    for (const c of changes.bgpAssignments) {
      if (c.op === "delete") await step(`DeletePolicyAssignment ${c.key}`, () => api.deletePolicyAssignment(assignmentToWire(c.before), true));
    }
    for (const c of changes.bgpPolicies) if (c.op === "delete") await step(`DeletePolicy ${c.key}`, () => api.deletePolicy(policyToWire(c.before), false, true));
    for (const c of changes.bgpDefinedSets) {
      if (c.op === "delete") await step(`DeleteDefinedSet ${c.key}`, () => api.deleteDefinedSet(definedSetToWire(c.before), true));
      else if (c.op === "update") {
        const after = setMembers(c.after);
        const gone = [...setMembers(c.before)].filter(([k]) => !after.has(k)).map(([, v]) => v);
        if (gone.length > 0) {
          await step(`DeleteDefinedSet ${c.key} (members)`, () => api.deleteDefinedSet(definedSetToWire(c.before, { list: gone.flatMap((a) => a.list ?? []), prefixes: gone.flatMap((a) => a.prefix ?? []) }), false));
        }
      }
    }
    if (g?.op === "delete") await step("StopBgp", async () => { await api.stopBgp(); bgpUp = false; startedWith = undefined; });
    return errors;
  }

  /** What the driver believes gobgpd holds (last observed, patched by each apply). */
  let known: BgpState = emptyBgpState();

  return {
    name: "gobgp",
    tables: [...BGP_TABLE_NAMES],
    api: reader,
    backend,

    async start() {
      await tryStart();
    },

    async observe(_exec, scope): Promise<Partial<NodeState>> {
      statementOrder = new Map([...scope.bgpPolicies.values()].map((p) => [p.name, p.statements.map((s) => s.name)]));
      if (backend === undefined) {
        // plan-only: the running agent's gobgpd if it answers, else nothing (all to create)
        try { known = o.inert ? emptyBgpState() : await readState(reader); } catch { known = emptyBgpState(); }
        return { ...known };
      }
      if (!started) await tryStart();
      if (!started) throw new Error(startError ?? "gobgpd not running");
      const state = await readState(backend.api);
      restartReason = undefined;
      known = state;
      return { ...state };
    },

    scripts(plan: NodePlan): Script[] {
      if (!hasBgpChanges(plan)) return [];
      return [{
        order: ORDER.gobgp,
        title: TEXT_TITLE,
        text: `${gobgpPlanText(plan).join("\n")}\n`,
        run: async () => {
          if (backend === undefined) throw new Error("gobgp: plan-only driver cannot apply");
          if (!started) await tryStart();
          if (!started) throw new Error(startError ?? "gobgpd not running");
          const before = known;
          ribCache = undefined;
          const t0 = Date.now();
          const errors = await apply(plan, before);
          applyMs = Date.now() - t0;
          known = Object.fromEntries(BGP_TABLE_NAMES.map((t) => [t, patchTable(before[t] as Table<unknown>, plan[t] as readonly Change<unknown>[])])) as unknown as BgpState;
          if (errors.length > 0) throw new Error(`gobgp: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`);
        },
      }];
    },

    wantsFullSync: () => restartReason,
    receivedUpdates: () => received,
    lastApplyMs: () => applyMs,

    subscribe(cb) {
      notify = cb;
    },

    async hostFacts(): Promise<Partial<HostFacts>> {
      const out: { learnedPaths?: Table<LearnedPath>; peerRouterPasswordsFile?: { path: string; content?: string } } = {};
      if (o.passwordsFile) {
        let content: string | undefined;
        try { content = readFileSync(o.passwordsFile, "utf8"); } catch { content = undefined; }
        out.peerRouterPasswordsFile = { path: o.passwordsFile, ...(content !== undefined ? { content } : {}) };
      }
      const api = backend?.api ?? reader;
      if ((backend !== undefined && !started) || o.inert) return out;
      if (backend !== undefined && watch === undefined) openWatch();
      if (watch !== undefined && ribLive) { out.learnedPaths = rib.table(); return out; }
      // no event stream yet (or plan-only): read the RIB
      try {
        const g = await api.getBgp({ deadlineMs: 2000 });
        if (!g.asn) { out.learnedPaths = new Map(); return out; }
        const fams = families.map((f) => (f === "ipv6" ? FAMILY_IPV6 : FAMILY_IPV4));
        const at = Date.now();
        const dests = (await Promise.all(fams.map((f) => api.listPath(f)))).flat();
        ribCache = { at, dests };
        out.learnedPaths = learnedFrom(dests);
      } catch { /* unknown: render installs no learned route */ }
      return out;
    },

    async stop() {
      watch?.cancel();
      watch = undefined;
      try { if (backend !== undefined && started) await backend.stop(o.gracefulRestart === true); } catch { /* never rejects */ }
      started = false;
      try { reader.close(); } catch { /* closed */ }
    },
  };
}

/** Best paths learned from peers (neighbour set), canonical, as the learned table (model/learned-rib.ts). */
export function learnedFrom(dests: readonly WDestination[]): Table<LearnedPath> {
  const out: LearnedPath[] = [];
  for (const p of parseDestinations(dests)) {
    if (p.neighbor === "" || !p.best) continue;
    const prefix = canonicalCidr(p.prefix) ?? p.prefix;
    out.push({ family: p.family, prefix, nextHop: canonicalIp(p.nextHop) ?? p.nextHop, peer: canonicalIp(p.neighbor) ?? p.neighbor });
  }
  return learnedTable(out);
}

export { bgpPart };
