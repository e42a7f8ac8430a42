/**
 * The IPVS driver: tables `ipvsServices` and `ipvsReals`.
 *
 * Observe (one read in the steady state): `ipvsadm -Sn`, parsed (parse.ts), filtered to the
 * services we own and their reals (owned.ts); an unchanged dump against an unchanged rendered
 * scope returns the previous tables without parsing again. Only when the rendered scope and the configured
 * ranges leave some service undecided does it read `ip -j addr show` (kube-dummy-if's VIPs and
 * the node's local addresses) and, for fwmark services, `ip -4|-6 -j rule show table 78`.
 * With graceful termination and a real server to remove, one `ipvsadm -Ln` adds the
 * connection counts (graceful.ts).
 *
 * IPVS timeouts (`--service-*-timeout`, `ipvsadm --set`) are not applied here: they have no
 * table in the model yet (a plan-less write would bypass dry-run).
 *
 * No IPVS in the kernel (module not loaded / not built, as on the dev and CI hosts) or no
 * ipvsadm binary: observe returns empty tables instead of failing, so the other drivers'
 * tables still sync; `unavailable()` tells why (host-facts.ts reports it to the renderer).
 *
 * Apply: ONE `ipvsadm --restore` per sync (compile.ts), plus ONE `conntrack -R -` when UDP
 * real servers go away. ipvsadm's restore is not atomic and keeps going after a line the
 * kernel refuses, exiting with the LAST line's status; so the script fails when ipvsadm
 * exits non-zero OR prints anything on stderr (the engine then runs a full sync next, which
 * observes and repairs).
 *
 * @category apply
 */
import { canonicalIp } from "../../model/ip.ts";
import { DSR_TABLE, IPVS_MODULES_HINT, KUBE_DUMMY_IF } from "../../model/names.ts";
import type { NodePlan } from "../../model/plan.ts";
import type { IpvsReal, IpvsService, NodeState } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import type { Driver, Script } from "../driver.ts";
import { type Exec, ExecError } from "../exec.ts";
import { CONNTRACK_BATCH, IPVS_ORDER, compileIpvs } from "./compile.ts";
import { DrainTracker, type GracefulOptions } from "./graceful.ts";
import { type IpvsOwnership, ownsIpvsService, parsePortRange, renderedIpvs } from "./owned.ts";
import { parseIpvsConns, parseIpvsSave } from "./parse.ts";
import { ipvsTimeoutScripts, observeIpvsTimeouts } from "./timeouts.ts";

export interface IpvsDriverOptions {
  /** `--ipvs-graceful-termination` with its period; absent = delete real servers at once. */
  readonly graceful?: GracefulOptions;
  /** `--excluded-cidrs`: VIPs there are ours only while rendered. */
  readonly excludedCidrs?: readonly string[];
  /** Cluster IP, external IP and LoadBalancer ranges: every VIP there is ours (owned.ts). */
  readonly serviceCidrs?: readonly string[];
  /** `--service-node-port-range`: a service on a local address with such a port is ours. */
  readonly nodePortRange?: readonly [number, number];
  /** Treat every IPVS service as ours (a flag saying we own IPVS). */
  readonly ownAll?: boolean;
}

export interface IpvsDriver extends Driver {
  /** Why IPVS could not be read at the last observe (undefined when it could). */
  unavailable(): string | undefined;
  /** Real servers draining at weight 0: while > 0 a full sync should come soon (graceful.ts). */
  pendingDrains(): number;
}

/** The text the agent prints when the kernel has no IPVS: what to load. */
export { IPVS_MODULES_HINT };

/** True for ipvsadm's failure when the kernel has no IPVS (or the binary is missing). */
export function isIpvsUnavailable(e: unknown): boolean {
  if (!(e instanceof ExecError)) return false;
  return e.code === -1 || /Protocol not available|Can't initialize ipvs|not built in the kernel|Module ip_vs not found/i.test(e.stderr);
}

/** Reads the node's addresses: those on kube-dummy-if, and all local ones (canonical IPs). */
async function readAddrs(exec: Exec): Promise<{ dummy: Set<string>; local: Set<string> }> {
  const r = await exec.run("ip", ["-j", "addr", "show"]);
  const dummy = new Set<string>();
  const local = new Set<string>();
  for (const l of JSON.parse(r.stdout || "[]") as { ifname?: string; addr_info?: { local?: string }[] }[]) {
    for (const a of l.addr_info ?? []) {
      const ip = a.local !== undefined ? canonicalIp(a.local) : undefined;
      if (ip === undefined) continue;
      (l.ifname === KUBE_DUMMY_IF ? dummy : local).add(ip);
    }
  }
  return { dummy, local };
}

/** fwmarks of the DSR policy rules (`ip rule … fwmark M lookup 78`), as `ipv4/M`, `ipv6/M`. */
async function dsrMarks(exec: Exec): Promise<Set<string>> {
  const out = new Set<string>();
  for (const fam of ["4", "6"] as const) {
    const r = await exec.run("ip", [`-${fam}`, "-j", "rule", "show", "table", DSR_TABLE], { okCodes: [1, 2, 255] });
    if (r.code !== 0 || r.stdout.trim() === "") continue;
    for (const rule of JSON.parse(r.stdout) as { fwmark?: string }[]) {
      if (rule.fwmark !== undefined) out.add(`ipv${fam}/${Number(rule.fwmark)}`);
    }
  }
  return out;
}

/** The IPVS driver (see the module comment). */
export function ipvsDriver(opts: IpvsDriverOptions = {}): IpvsDriver {
  const tracker = opts.graceful ? new DrainTracker(opts.graceful) : undefined;
  let lastIdle: ReadonlySet<string> = new Set();
  let why: string | undefined;
  /**
   * The last observe's owned tables and what they were made from: the same dump text against
   * the same scope tables (objects) gives the same tables, returned as the same objects (the
   * differ then knows them equal to an unchanged desired state without walking them: plan.ts).
   * Kept only when ownership needed no other read and no drain is tracked.
   */
  let last: { text: string; services: object; reals: object; out: Pick<NodeState, "ipvsServices" | "ipvsReals"> } | undefined;
  return {
    name: "ipvs",
    tables: ["ipvsServices", "ipvsReals", "ipvsTimeouts"],
    unavailable: () => why,
    pendingDrains: () => tracker?.pending() ?? 0,
    wantsFullSync: () => ((tracker?.pending() ?? 0) > 0 ? `${tracker!.pending()} real servers draining` : undefined),
    async observe(exec: Exec, scope: NodeState): Promise<Partial<NodeState>> {
      lastIdle = new Set();
      let text: string;
      try {
        text = (await exec.run("ipvsadm", ["-Sn"])).stdout;
        why = undefined;
      } catch (e) {
        if (!isIpvsUnavailable(e)) throw e;
        why = `IPVS is not available (${(e as ExecError).code === -1 ? "ipvsadm not found" : "no ip_vs in the kernel"}): ${IPVS_MODULES_HINT}`;
        return { ipvsServices: new Map(), ipvsReals: new Map(), ipvsTimeouts: new Map() };
      }
      if (last !== undefined && last.text === text && last.services === scope.ipvsServices && last.reals === scope.ipvsReals) {
        return { ...last.out, ipvsTimeouts: await observeIpvsTimeouts(exec, scope) };
      }
      last = undefined;
      const all = parseIpvsSave(text);
      const base: IpvsOwnership = {
        ...renderedIpvs(scope),
        ...(opts.ownAll ? { ownAll: true } : {}),
        ...(opts.excludedCidrs ? { excludedCidrs: opts.excludedCidrs } : {}),
        ...(opts.serviceCidrs ? { serviceCidrs: opts.serviceCidrs } : {}),
        ...(opts.nodePortRange ? { nodePortRange: opts.nodePortRange } : {}),
      };
      // read addresses / DSR rules only when the cheap checks leave a service undecided
      const undecided = [...all.services.values()].filter((s) => !ownsIpvsService(s, base));
      const ownership: IpvsOwnership = {
        ...base,
        ...(undecided.some((s) => s.protocol !== "fwmark") ? await readAddrs(exec).then((a) => ({ dummyVips: a.dummy, localAddrs: a.local })) : {}),
        ...(undecided.some((s) => s.protocol === "fwmark") ? { dsrMarks: await dsrMarks(exec) } : {}),
      };
      const services = new Map<string, IpvsService>();
      for (const [k, s] of all.services) if (ownsIpvsService(s, ownership)) services.set(k, s);
      let reals = new Map<string, IpvsReal>();
      for (const [k, r] of all.reals) {
        if (!services.has(r.service)) continue;
        // graceSeconds is not kernel state: an observed real has the rendered one (no diff over it)
        const grace = scope.ipvsReals.get(k)?.graceSeconds;
        reals.set(k, grace === undefined ? r : { ...r, graceSeconds: grace });
      }
      if (tracker) {
        const conns = DrainTracker.candidates(reals, scope).length > 0
          ? parseIpvsConns((await exec.run("ipvsadm", ["-Ln"])).stdout)
          : new Map<string, number>();
        const settled = tracker.settle(reals, scope, conns);
        reals = new Map(settled.reals);
        lastIdle = settled.idle;
      }
      const out = { ipvsServices: sortedTable(services), ipvsReals: sortedTable(reals) };
      if (!tracker && undecided.length === 0) last = { text, services: scope.ipvsServices, reals: scope.ipvsReals, out };
      return { ...out, ipvsTimeouts: await observeIpvsTimeouts(exec, scope) };
    },
    scripts(plan: NodePlan): Script[] {
      const c = compileIpvs(plan, {
        ...(tracker ? { graceful: true, idle: lastIdle, draining: tracker.draining() } : {}),
      });
      const readded = tracker ? plan.ipvsReals.filter((ch) => ch.op !== "delete" && tracker.draining().has(ch.key)).map((ch) => ch.key) : [];
      // a partial sync has no observation: the plan's rows tell the tracker each real's period
      tracker?.remember(plan.ipvsReals.filter((ch) => ch.op !== "delete" || ch.before.graceSeconds !== undefined).map((ch) => [ch.key, ch.op === "delete" ? ch.before : ch.after] as const));
      const out: Script[] = ipvsTimeoutScripts(plan);
      if (c.restore !== "") {
        out.push({
          order: IPVS_ORDER.restore,
          title: "ipvsadm --restore",
          text: `ipvsadm --restore <<'EOF'\n${c.restore}EOF\n`,
          run: async (exec: Exec) => {
            await runRestore(exec, c.restore);
            tracker?.started(c.drained);
            tracker?.forget(readded);
          },
        });
      }
      if (c.conntrack !== "") {
        out.push({
          order: IPVS_ORDER.conntrack,
          title: "conntrack (UDP flows of removed real servers)",
          bestEffort: true,
          text: `conntrack -R - <<'EOF'\n${c.conntrack}EOF\n`,
          run: async (exec: Exec) => {
            await exec.run(CONNTRACK_BATCH.cmd, CONNTRACK_BATCH.args, { stdin: c.conntrack, write: true });
          },
        });
      }
      return out;
    },
  };
}

/**
 * Runs one `ipvsadm --restore`. Fails when ipvsadm exits non-zero or reports any line on
 * stderr (it continues after kernel errors and exits with the last line's status).
 */
export async function runRestore(exec: Exec, stdin: string): Promise<void> {
  const r = await exec.run("ipvsadm", ["--restore"], { stdin, write: true });
  if (r.stderr.trim() !== "") throw new ExecError("ipvsadm", ["--restore"], 1, r.stderr);
}

/** The driver options the agent's flags give (NodeConfig subset, so tests need not build a whole config). */
export function ipvsDriverOptions(cfg: {
  readonly ipvsGracefulTermination: boolean;
  readonly ipvsGracefulPeriod: number;
  readonly excludedCidrs: readonly string[];
  readonly serviceClusterIpRange: readonly string[];
  readonly serviceExternalIpRange: readonly string[];
  readonly loadbalancerIpRange: readonly string[];
  readonly serviceNodePortRange: string;
}): IpvsDriverOptions {
  const range = parsePortRange(cfg.serviceNodePortRange);
  return {
    ...(cfg.ipvsGracefulTermination ? { graceful: { periodMs: cfg.ipvsGracefulPeriod } } : {}),
    excludedCidrs: cfg.excludedCidrs,
    serviceCidrs: [...cfg.serviceClusterIpRange, ...cfg.serviceExternalIpRange, ...cfg.loadbalancerIpRange],
    ...(range ? { nodePortRange: range } : {}),
  };
}

/** Real servers of owned services in a state, by service key (helpers for tests and tools). */
export function realsByService(reals: ReadonlyMap<string, IpvsReal>): Map<string, IpvsReal[]> {
  const out = new Map<string, IpvsReal[]>();
  for (const r of reals.values()) out.set(r.service, [...(out.get(r.service) ?? []), r]);
  return out;
}
