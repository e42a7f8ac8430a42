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
  ipRemove: 20, // ip -batch: deletes of rules, routes, addresses (before links change)
  ipAdd: 30, // ip -batch: links, addresses, routes, rules (creates and updates), then link deletes
  ipsetFill: 40, // ipset restore: create, swap, add, del
  iptables: 50, // iptables-restore --noflush, per family and table
  ipsetDestroy: 60, // ipset restore: destroy
  files: 70,
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
  /**
   * The runtime hands the driver a callback asking for a full sync of the lanes owning its
   * tables now (not after the next sync): e.g. the LoadBalancer status driver on becoming
   * the Lease holder. Called once (after `start`: a wake before it is not needed, the first sync is full).
   */
  onWake?(notify: () => void): void;
  /** A line for /healthz about the driver's role, informational (never unhealthy): e.g. `lballoc: standby …`. */
  note?(): string | undefined;
}

/** A script as the engine runs it: tagged with the driver family that compiled it. */
export interface PlannedScript extends Script {
  readonly driver: DriverFamily;
}
