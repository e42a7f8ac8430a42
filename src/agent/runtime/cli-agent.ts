/**
 * `kube-router` without `--once`: the long-running agent, wired to the process. JSON logs on
 * stdout; SIGTERM/SIGINT stop it cleanly (the apply in progress finishes, servers and watches
 * stop, exit 0); a second signal exits at once (code 130). Timings of the sync loop can be
 * tuned with env `KUBE_ROUTER_SYNC_DEBOUNCE`, `KUBE_ROUTER_SYNC_MIN_INTERVAL`,
 * `KUBE_ROUTER_SYNC_MAX_DELAY` (Go durations: `50ms`, `1s`). A flag asking for something not
 * built is logged once at error level and its controller parked (flag-status.ts, lanes.ts);
 * upstream's per-tool timings and per-Service IPVS metrics are wired here (upstream-metrics.ts).
 *
 * @category agent
 */
import type { Driver } from "../../apply/driver.ts";
import { type Exec, realExec } from "../../apply/exec.ts";
import { ipBatchStandby } from "../../apply/ip/compile.ts";
import { ReadAhead } from "../../apply/shared-reads.ts";
import { type ClusterSnapshot, type InputWarning } from "../../model/cluster.ts";
import { type NodeConfig, formatGoDuration } from "../../model/config.ts";
import { refusals } from "../flag-status.ts";
import { parseGoDuration } from "../flags.ts";
import { readHostFacts } from "../host-facts.ts";
import { type AgentHandle, runAgent } from "./agent.ts";
import { upstreamMetrics } from "./upstream-metrics.ts";
import type { ClusterSource } from "../../sources/source.ts";
import { type Logger, makeLogger } from "./log.ts";
import { DEFAULT_TIMING, type Timing } from "./schedule.ts";
import { makeSource, watchedConfigMaps } from "./sources.ts";

export interface CliIo {
  readonly err: (s: string) => void;
}

/** Loop timings from env (defaults otherwise); a bad value is an error line. */
export function timingFromEnv(env: Readonly<Record<string, string | undefined>>): Timing | { error: string } {
  const out: Record<string, number> = { ...DEFAULT_TIMING };
  const vars: [string, keyof Timing][] = [["KUBE_ROUTER_SYNC_DEBOUNCE", "debounceMs"], ["KUBE_ROUTER_SYNC_MIN_INTERVAL", "minIntervalMs"], ["KUBE_ROUTER_SYNC_MAX_DELAY", "maxDelayMs"]];
  for (const [name, key] of vars) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    const d = parseGoDuration(v);
    if ("error" in d || d.ms < 0) return { error: `invalid value ${JSON.stringify(v)} for ${name}: ${"error" in d ? d.error : "must not be negative"}` };
    out[key] = d.ms;
  }
  return out as unknown as Timing;
}

/**
 * Logs each refused flag (flag-status.ts) once, at error level, with `flag` and `controller`
 * keys; the controller then stays parked and unhealthy (lanes.ts, health.ts). Returns how many.
 */
export function announceRefusals(cfg: NodeConfig, log: Pick<Logger, "error">): number {
  const refused = refusals(cfg);
  for (const r of refused) log.error({ flag: r.flag, controller: r.owner }, r.line);
  return refused.length;
}

/** Runs the agent until a signal; resolves to the exit code. */
export async function runAgentCli(
  cfg: NodeConfig,
  nodeName: string,
  env: Readonly<Record<string, string | undefined>>,
  io: CliIo,
  drivers: (exec: Exec, note: (line: string) => void) => Promise<Driver[]>,
): Promise<number> {
  const timing = timingFromEnv(env);
  if ("error" in timing) { io.err(`kube-router: ${timing.error}\n`); return 1; }
  const log = makeLogger({ node: nodeName, v: cfg.v });
  announceRefusals(cfg, log);
  // the ip batch keeps standby processes (learned routes start writing without a spawn); ended on return
  const real = realExec({ onCall: (c) => log.trace({ cmd: c.cmd, args: c.args, write: c.write }, "exec"), standby: ipBatchStandby() });
  try {
    return await serve(cfg, nodeName, io, drivers, timing, log, real);
  } finally {
    await real.close();
  }
}

/** runAgentCli past its checks: the source, the drivers over `real`, the agent until a signal. */
async function serve(
  cfg: NodeConfig,
  nodeName: string,
  io: CliIo,
  drivers: (exec: Exec, note: (line: string) => void) => Promise<Driver[]>,
  timing: Timing,
  log: Logger,
  real: Exec,
): Promise<number> {
  let source: ClusterSource | undefined;
  // Upstream's per-tool timings around the one Exec every driver uses; per-Service IPVS stats at scrape time.
  const upstream = upstreamMetrics({ config: cfg, nodeName, snapshot: () => source!.snapshot(), onError: (line) => log.warn(line) });
  const exec = upstream.wrapExec(real);
  try {
    source = await makeSource(cfg, log);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0] ?? "";
    log.error({ err: msg }, "cannot create the cluster source");
    io.err(`kube-router: ${msg}\n`);
    return 1;
  }
  let deps;
  try {
    deps = { exec, drivers: await drivers(exec, (line) => log.info({ controller: "lballoc" }, line)), readHost: (e: Exec) => readHostFacts(e, cfg.cniConfFile), readAhead: new ReadAhead() };
  } catch (e) {
    io.err(`kube-router: ${(e as Error).message.split("\n")[0]}\n`);
    return 1;
  }
  let onSignal: (s: NodeJS.Signals) => void = () => undefined;
  const stop = new Promise<void>((resolve) => {
    let seen = false;
    onSignal = (signal) => {
      if (seen) { log.warn({ signal }, "second signal: exiting now"); process.exit(130); }
      seen = true;
      log.info({ signal }, "signal received, shutting down");
      resolve();
    };
  });
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    return await runAgent({ config: cfg, nodeName, deps, source, log, stop, timing, onSynced: (outcome) => upstream.sawSync(outcome) }, (h: AgentHandle) => upstream.register(h.metrics.registry, deps.drivers));
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/**
 * `--once` without `--snapshot`: lists every kind from the API server (the same source as the
 * agent), waits up to `--cache-sync-timeout`, and returns the snapshot; or prints one line and
 * returns exit code 1 (bad kubeconfig, caches not synced in time).
 */
export async function snapshotFromApi(cfg: NodeConfig, io: CliIo): Promise<{ snapshot: ClusterSnapshot; warnings: readonly InputWarning[] } | number> {
  const { createKubeSource } = await import("../../sources/kube/index.ts");
  let source;
  try {
    source = createKubeSource({ ...(cfg.kubeconfig ? { kubeconfig: cfg.kubeconfig } : {}), ...(cfg.master ? { master: cfg.master } : {}), configMaps: watchedConfigMaps(cfg), onWarning: () => undefined });
  } catch (e) {
    io.err(`kube-router: ${(e as Error).message.split("\n")[0]}\n`);
    return 1;
  }
  try {
    await source.start();
    if (!(await source.waitSynced(cfg.cacheSyncTimeout))) {
      const err = source.status().error;
      io.err(`kube-router: caches not synced within --cache-sync-timeout ${formatGoDuration(cfg.cacheSyncTimeout)}${err ? `: ${err}` : ""}\n`);
      return 1;
    }
    return { snapshot: source.snapshot(), warnings: source.warnings() };
  } finally {
    await source.stop();
  }
}
