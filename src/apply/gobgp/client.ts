/**
 * GobgpClient: a typed, thin wrapper over GoBGP v4.8's `api.GoBgpService` (our subset, loaded by
 * ./schema.ts) on one grpc-js channel.
 *
 * Guarantees:
 * - every unary rpc returns a promise; every server-streaming `List*` rpc is collected into an
 *   array; `AddPathStream` takes an array and sends it in batches; `WatchEvent` is a callback
 *   stream with a cancel handle;
 * - every call has a deadline (default 10 s, per client and per call) and never waits for a
 *   gobgpd that is not there (no wait-for-ready): an absent daemon fails the call at once;
 * - a failure is a {@link GobgpError} whose message is one line: `gobgp <Rpc>: <detail>`
 *   (GoBGP reports its own errors as status UNKNOWN with free text, kept in `detail`);
 * - every call is counted per rpc and as mutating or read ({@link GobgpCallCounts}), so a test
 *   can assert that a no-op sync made no mutating call.
 *
 * The channel reconnects quickly (20–200 ms backoff) so a restarted gobgpd is reachable again
 * without the ~1 s default grpc-js backoff. `close()` releases the channel; calls after it fail.
 *
 * @category apply
 */
import * as grpc from "@grpc/grpc-js";
import { loadGobgpService } from "./schema.ts";
import type {
  LogLevel, PolicyDirection, TableType, WDefinedSet, WDestination, WFamily, WGlobal, WPath, WPeer, WPolicy,
  WPolicyAssignment, WStatement, WWatchEventRequest, WWatchEventResponse,
} from "./wire.ts";

/** The rpcs that change gobgpd's state (everything else only reads). */
export const MUTATING_RPCS: ReadonlySet<string> = new Set([
  "StartBgp", "StopBgp", "AddPeer", "DeletePeer", "UpdatePeer", "ResetPeer", "AddPath", "DeletePath", "AddPathStream",
  "AddPolicy", "DeletePolicy", "AddDefinedSet", "DeleteDefinedSet", "AddStatement", "DeleteStatement",
  "AddPolicyAssignment", "DeletePolicyAssignment", "SetPolicyAssignment", "SetLogLevel",
]);

/** A failed GoBGP call; `message` is one line naming the rpc. */
export class GobgpError extends Error {
  constructor(
    readonly rpc: string,
    /** gRPC status code (2 = UNKNOWN is what GoBGP uses for its own errors; 14 = UNAVAILABLE: daemon not there). */
    readonly code: number,
    readonly detail: string,
  ) {
    super(`gobgp ${rpc}: ${detail}`);
    this.name = "GobgpError";
  }
}

/** Calls made so far: per rpc, and totals split into mutating and read. */
export interface GobgpCallCounts {
  readonly byRpc: Readonly<Record<string, number>>;
  readonly mutating: number;
  readonly read: number;
}

export interface GobgpClientOptions {
  /** Deadline of each call in ms unless the call says otherwise (default 10 000). */
  readonly deadlineMs?: number;
}

export interface CallOptions {
  readonly deadlineMs?: number;
}

/** A running WatchEvent stream. `done` settles when the stream ends: resolves on cancel, rejects when gobgpd goes away. */
export interface GobgpWatch {
  cancel(): void;
  readonly done: Promise<void>;
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;
type ServerStream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;
type ClientStream = (md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientWritableStream<unknown>;

function oneLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.trim();
}

function toError(rpc: string, e: unknown): GobgpError {
  const se = e as Partial<grpc.ServiceError>;
  const code = typeof se.code === "number" ? se.code : 2;
  const detail = oneLine(se.details ?? (e instanceof Error ? e.message : String(e))) || grpc.status[code] || "failed";
  return new GobgpError(rpc, code, code === 2 ? detail : `${grpc.status[code] ?? code}: ${detail}`);
}

/** Unix socket path → grpc-js target. TCP targets (`host:port`) pass through. */
export function gobgpTarget(socketOrHost: string): string {
  return socketOrHost.startsWith("/") ? `unix://${socketOrHost}` : socketOrHost;
}

export class GobgpClient {
  private readonly raw: grpc.Client & Record<string, unknown>;
  private readonly deadlineMs: number;
  private readonly counts = new Map<string, number>();

  /** @param target `unix:///abs/path`, an absolute socket path, or `host:port`. */
  constructor(target: string, opts: GobgpClientOptions = {}) {
    const Service = loadGobgpService();
    this.raw = new Service(gobgpTarget(target), grpc.credentials.createInsecure(), {
      "grpc.initial_reconnect_backoff_ms": 20,
      "grpc.min_reconnect_backoff_ms": 20,
      "grpc.max_reconnect_backoff_ms": 200,
      "grpc.max_receive_message_length": 256 << 20,
      "grpc.max_send_message_length": 256 << 20,
    }) as grpc.Client & Record<string, unknown>;
    this.deadlineMs = opts.deadlineMs ?? 10_000;
  }

  close(): void {
    this.raw.close();
  }

  /** Counts of calls made so far. */
  callCounts(): GobgpCallCounts {
    const byRpc = Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
    let mutating = 0;
    let read = 0;
    for (const [rpc, n] of this.counts) (MUTATING_RPCS.has(rpc) ? (mutating += n) : (read += n));
    return { byRpc, mutating, read };
  }

  resetCallCounts(): void {
    this.counts.clear();
  }

  private count(rpc: string): void {
    this.counts.set(rpc, (this.counts.get(rpc) ?? 0) + 1);
  }

  private options(o?: CallOptions): grpc.CallOptions {
    return { deadline: Date.now() + (o?.deadlineMs ?? this.deadlineMs) };
  }

  /** One unary call. */
  unary<Res>(rpc: string, req: object, o?: CallOptions): Promise<Res> {
    this.count(rpc);
    const fn = this.raw[rpc] as Unary | undefined;
    if (fn === undefined) return Promise.reject(new GobgpError(rpc, 12, "rpc not in our GoBGP API subset"));
    return new Promise((resolve, reject) => {
      fn.call(this.raw, req, new grpc.Metadata(), this.options(o), (err, res) => (err ? reject(toError(rpc, err)) : resolve(res as Res)));
    });
  }

  /** One server-streaming call, collected into an array (one element per message). */
  list<Res>(rpc: string, req: object, o?: CallOptions): Promise<Res[]> {
    this.count(rpc);
    const fn = this.raw[rpc] as ServerStream | undefined;
    if (fn === undefined) return Promise.reject(new GobgpError(rpc, 12, "rpc not in our GoBGP API subset"));
    return new Promise((resolve, reject) => {
      const out: Res[] = [];
      const call = fn.call(this.raw, req, new grpc.Metadata(), this.options(o));
      call.on("data", (m: Res) => out.push(m));
      call.on("error", (e) => reject(toError(rpc, e)));
      call.on("end", () => resolve(out));
    });
  }

  // ---- global ----
  startBgp(global: WGlobal, o?: CallOptions): Promise<void> {
    return this.unary("StartBgp", { global }, o).then(() => undefined);
  }
  stopBgp(allowGracefulRestart = false, o?: CallOptions): Promise<void> {
    return this.unary("StopBgp", { allowGracefulRestart }, o).then(() => undefined);
  }
  /** The global config; `asn` is 0 while BGP is not started (the reliable "started?" test). */
  getBgp(o?: CallOptions): Promise<WGlobal> {
    return this.unary<{ global: WGlobal | null }>("GetBgp", {}, o).then((r) => r.global ?? { asn: 0, routerId: "" });
  }
  setLogLevel(level: LogLevel, o?: CallOptions): Promise<void> {
    return this.unary("SetLogLevel", { level }, o).then(() => undefined);
  }

  // ---- peers ----
  addPeer(peer: WPeer, o?: CallOptions): Promise<void> {
    return this.unary("AddPeer", { peer }, o).then(() => undefined);
  }
  deletePeer(address: string, o?: CallOptions): Promise<void> {
    return this.unary("DeletePeer", { address }, o).then(() => undefined);
  }
  /** Updates a peer in place; resolves to whether a soft reset in is still needed. */
  updatePeer(peer: WPeer, doSoftResetIn = false, o?: CallOptions): Promise<boolean> {
    return this.unary<{ needsSoftResetIn: boolean }>("UpdatePeer", { peer, doSoftResetIn }, o).then((r) => r.needsSoftResetIn);
  }
  resetPeer(address: string, soft: boolean, direction: "DIRECTION_IN" | "DIRECTION_OUT" | "DIRECTION_BOTH" = "DIRECTION_BOTH", o?: CallOptions): Promise<void> {
    return this.unary("ResetPeer", { address, soft, direction }, o).then(() => undefined);
  }
  /** All peers, or the one at `address` (empty when absent). */
  listPeer(address = "", o?: CallOptions): Promise<WPeer[]> {
    return this.list<{ peer: WPeer | null }>("ListPeer", { address }, o).then((rs) => rs.flatMap((r) => (r.peer ? [r.peer] : [])));
  }

  // ---- paths ----
  /** Adds (or replaces) a path; resolves to its uuid. */
  addPath(path: WPath, tableType: TableType = "TABLE_TYPE_GLOBAL", o?: CallOptions): Promise<Buffer> {
    return this.unary<{ uuid: Buffer }>("AddPath", { tableType, path }, o).then((r) => r.uuid);
  }
  /** Withdraws a path given as added (family + NLRI + attributes). */
  deletePath(path: WPath, tableType: TableType = "TABLE_TYPE_GLOBAL", o?: CallOptions): Promise<void> {
    return this.unary("DeletePath", { tableType, family: path.family, path }, o).then(() => undefined);
  }
  /**
   * Adds many paths over one client stream (`AddPathStream`), `batch` paths per message.
   * GoBGP answers only at the end, so a bad path fails the whole call (paths before it may be in).
   */
  addPathStream(paths: readonly WPath[], batch = 1000, tableType: TableType = "TABLE_TYPE_GLOBAL", o?: CallOptions): Promise<void> {
    const rpc = "AddPathStream";
    this.count(rpc);
    const fn = this.raw[rpc] as ClientStream;
    return new Promise((resolve, reject) => {
      const call = fn.call(this.raw, new grpc.Metadata(), this.options(o), (err) => (err ? reject(toError(rpc, err)) : resolve()));
      for (let i = 0; i < paths.length; i += batch) call.write({ tableType, paths: paths.slice(i, i + batch) });
      call.end();
    });
  }
  /** Destinations of a table (`name` = neighbour address for ADJ_IN/ADJ_OUT). */
  listPath(family: WFamily, tableType: TableType = "TABLE_TYPE_GLOBAL", name = "", o?: CallOptions & { prefixes?: string[] }): Promise<WDestination[]> {
    const prefixes = (o?.prefixes ?? []).map((prefix) => ({ prefix, type: "TYPE_EXACT" }));
    return this.list<{ destination: WDestination | null }>("ListPath", { tableType, name, family, prefixes }, o).then((rs) => rs.flatMap((r) => (r.destination ? [r.destination] : [])));
  }
  /** Destination and path counts of a table, without the paths. */
  getTable(family: WFamily, tableType: TableType = "TABLE_TYPE_GLOBAL", name = "", o?: CallOptions): Promise<{ numDestination: number; numPath: number; numAccepted: number }> {
    return this.unary("GetTable", { tableType, family, name }, o);
  }

  // ---- defined sets, statements, policies, assignments ----
  /** Adds items to a set (creating it); with `replace`, the set becomes exactly `set`. */
  addDefinedSet(set: WDefinedSet, replace = false, o?: CallOptions): Promise<void> {
    return this.unary("AddDefinedSet", { definedSet: set, replace }, o).then(() => undefined);
  }
  /** Removes the given items, or the whole set with `all`. */
  deleteDefinedSet(set: WDefinedSet, all = false, o?: CallOptions): Promise<void> {
    return this.unary("DeleteDefinedSet", { definedSet: set, all }, o).then(() => undefined);
  }
  listDefinedSet(definedType: WDefinedSet["definedType"], name = "", o?: CallOptions): Promise<WDefinedSet[]> {
    return this.list<{ definedSet: WDefinedSet | null }>("ListDefinedSet", { definedType, name }, o).then((rs) => rs.flatMap((r) => (r.definedSet ? [r.definedSet] : [])));
  }
  addStatement(statement: WStatement, o?: CallOptions): Promise<void> {
    return this.unary("AddStatement", { statement }, o).then(() => undefined);
  }
  deleteStatement(statement: WStatement, all = true, o?: CallOptions): Promise<void> {
    return this.unary("DeleteStatement", { statement, all }, o).then(() => undefined);
  }
  listStatement(name = "", o?: CallOptions): Promise<WStatement[]> {
    return this.list<{ statement: WStatement | null }>("ListStatement", { name }, o).then((rs) => rs.flatMap((r) => (r.statement ? [r.statement] : [])));
  }
  /** Adds a policy; with `referExistingStatements`, statements are named, not defined. */
  addPolicy(policy: WPolicy, referExistingStatements = false, o?: CallOptions): Promise<void> {
    return this.unary("AddPolicy", { policy, referExistingStatements }, o).then(() => undefined);
  }
  deletePolicy(policy: WPolicy, preserveStatements = false, all = true, o?: CallOptions): Promise<void> {
    return this.unary("DeletePolicy", { policy, preserveStatements, all }, o).then(() => undefined);
  }
  listPolicy(name = "", o?: CallOptions): Promise<WPolicy[]> {
    return this.list<{ policy: WPolicy | null }>("ListPolicy", { name }, o).then((rs) => rs.flatMap((r) => (r.policy ? [r.policy] : [])));
  }
  addPolicyAssignment(assignment: WPolicyAssignment, o?: CallOptions): Promise<void> {
    return this.unary("AddPolicyAssignment", { assignment }, o).then(() => undefined);
  }
  deletePolicyAssignment(assignment: WPolicyAssignment, all = false, o?: CallOptions): Promise<void> {
    return this.unary("DeletePolicyAssignment", { assignment, all }, o).then(() => undefined);
  }
  /** Replaces the assignment's policy list and default action in one call. */
  setPolicyAssignment(assignment: WPolicyAssignment, o?: CallOptions): Promise<void> {
    return this.unary("SetPolicyAssignment", { assignment }, o).then(() => undefined);
  }
  listPolicyAssignment(name = "global", direction: PolicyDirection | "POLICY_DIRECTION_UNSPECIFIED" = "POLICY_DIRECTION_UNSPECIFIED", o?: CallOptions): Promise<WPolicyAssignment[]> {
    return this.list<{ assignment: WPolicyAssignment | null }>("ListPolicyAssignment", { name, direction }, o).then((rs) => rs.flatMap((r) => (r.assignment ? [r.assignment] : [])));
  }

  // ---- events ----
  /**
   * Opens a WatchEvent stream (no deadline: it lives until cancelled or gobgpd goes away).
   * `onEvent` is called for each message in order; an exception from it cancels the stream and
   * rejects `done`.
   */
  watchEvent(req: WWatchEventRequest, onEvent: (ev: WWatchEventResponse) => void): GobgpWatch {
    const rpc = "WatchEvent";
    this.count(rpc);
    const fn = this.raw[rpc] as ServerStream;
    const call = fn.call(this.raw, req, new grpc.Metadata(), {});
    let cancelled = false;
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: WWatchEventResponse) => {
        try {
          onEvent(m);
        } catch (e) {
          cancelled = true;
          call.cancel();
          reject(new GobgpError(rpc, 2, `event handler failed: ${oneLine(String(e instanceof Error ? e.message : e))}`));
        }
      });
      call.on("error", (e: grpc.ServiceError) => (cancelled && e.code === grpc.status.CANCELLED ? resolve() : reject(toError(rpc, e))));
      call.on("end", () => resolve());
    });
    return {
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
      done,
    };
  }
}
