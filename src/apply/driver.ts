/**
 * The driver contract (v2). A driver owns the tables of one family of the registry
 * (model/registry.ts `driver`): it observes them (parsing the tool's dump, the peer's List*
 * answer or its own record into the model, owned objects only), compiles a plan into the
 * tool's own text (pure), and the engine runs the resulting scripts in `order`. Dry-run
 * prints the same scripts, so it shows exactly what apply would run.
 *
 * Capabilities are plain factories: a driver is built with what it holds for its lifetime
 * (a gRPC channel, a Kubernetes client, in-process servers, a container runtime); the process
 * runner (`Exec`) is passed per call because it is per sync (tests swap in recorders, fakes
 * and network namespaces; the CLI a `-v 2` tracer) and costs nothing to hold. A driver may
 * keep state, may `start`/`stop` (the runtime calls them once around its life), and says
 * when its tables need a full sync (`wantsFullSync`: link re-created, peer restarted, drain
 * pending) — the runtime never knows driver or controller names.
 *
 * @category apply
 */
import type { HostFacts } from "../model/host.ts";
import type { NodePlan } from "../model/plan.ts";
import type { DriverFamily } from "../model/registry.ts";
import type { NodeState, TableName } from "../model/state.ts";
import type { Exec } from "./exec.ts";

/**
 * Global execution order of scripts within one sync. Links and addresses come before routes;
 * ipsets are created and filled before iptables rules reference them and destroyed after
 * rules stop referencing them; files (CNI config) last, once the bridge exists.
 */
export const ORDER = {
  sysctls: 10,
  ipRemove: 20, // ip -batch: deletes of neighbours, rules, routes, addresses (before links change)
  ipAdd: 30, // ip -batch: links, addresses, routes, rules, neighbours (creates and updates), then link deletes
  bridge: 35, // bridge -batch: FDB deletes then adds, once the vxlan devices exist
  ipsetFill: 40, // ipset restore: create, swap, add, del
  iptables: 50, // iptables-restore --noflush, per family and table
  ipsetDestroy: 60, // ipset restore: destroy
  files: 70,
  gobgp: 75, // GoBGP over gRPC (one script), once routes, rules and the bridge exist
  inProcess: 80, // healthCheckNodePort listeners, once the VIPs and rules exist
  inPod: 90, // DSR tunnels inside pods, once IPVS sends to them
  api: 100, // Kubernetes API objects (Service status), once the node serves what they announce
} as const;

/** One native script: the exact command and stdin a real apply runs, or a file write. */
export interface Script {
  readonly order: number;
  /** The table(s) this script changes, as a heading for dry-run output. */
  readonly title: string;
  /** What an operator would type: the command line and its stdin, or a description of a write. */
  readonly text: string;
  readonly run: (exec: Exec) => Promise<void>;
  /**
   * A cleanup of flows or caches that changes no table (e.g. the UDP conntrack flush): its
   * failure is a warning and a counted event, never a failed sync or a non-zero exit.
   */
  readonly bestEffort?: boolean;
}

export interface Driver {
  /** The registry's driver family whose tables this driver applies. */
  readonly name: DriverFamily;
  /** The NodeState tables this driver observes and applies. */
  readonly tables: readonly TableName[];
  /**
   * Reads owned state of `tables` from the kernel. `desired` scopes reads that cannot list
   * everything (sysctls and files are read by path). Fails with ExecError if a dump fails.
   */
  observe(exec: Exec, desired: NodeState): Promise<Partial<NodeState>>;
  /** Pure: the scripts that carry out this driver's part of the plan; [] when nothing changes. */
  scripts(plan: NodePlan): Script[];
  /** Called once before the first observe (e.g. start a daemon, open a channel). Rejects with a one-line Error. */
  start?(): Promise<void>;
  /** Called once at shutdown; never rejects (stops children, closes listeners). */
  stop?(): Promise<void>;
  /**
   * Why the next sync of this driver's tables should be full soon (observe, not trust the
   * state last applied), or undefined. Polled after every sync.
   */
  wantsFullSync?(): string | undefined;
  /** A line for /healthz about the driver's role, informational (never unhealthy): e.g. `lballoc: standby …`. */
  note?(): string | undefined;
  /**
   * Registers the runtime's callback, called between syncs when something only this driver
   * sees changed (a daemon restarted or the allocator's Lease taken: full; a peer's routes changed: partial), so the lanes
   * owning its tables sync now rather than at their next period.
   */
  subscribe?(notify: (n: SyncNotice) => void): void;
  /**
   * Facts this driver reads for render (e.g. BGP-learned paths), merged into HostFacts before
   * each render so render stays pure. Never rejects: what it cannot read is left out.
   */
  hostFacts?(): Promise<Partial<HostFacts>>;
  /**
   * Which changes of `plan` put back an owned object another writer moved (today: a jump a
   * foreign rule was inserted above), each naming the foreign object as the driver last
   * observed it. Pure over the last observe; [] when none. The engine counts and reports them.
   */
  displaced?(plan: NodePlan): Displacement[];
}

/** An owned object found moved by another writer (see Driver.displaced). */
export interface Displacement {
  /** Where, for a metric label: the builtin chain (`INPUT`). */
  readonly chain: string;
  /** One line naming our object and the foreign one above it. */
  readonly line: string;
}

/** What a driver tells the runtime between syncs (see Driver.subscribe). */
export interface SyncNotice {
  /** True: the tables' real state is unknown (a daemon restarted): sync fully. False: something read before render changed: sync soon. */
  readonly full: boolean;
  readonly reason: string;
}

/** A script as the engine runs it: tagged with the driver family that compiled it. */
export interface PlannedScript extends Script {
  readonly driver: DriverFamily;
}
