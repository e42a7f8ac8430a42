/**
 * The driver registry: one real driver per driver family of the table registry, built from
 * the capabilities it needs (plain factories). `Record<DriverFamily, …>` makes a family
 * without a driver a compile error; test/support/fake-node.ts holds the matching fakes
 * (test/registry.test.ts checks both cover every table). Used by the CLI, the agent and the
 * bench.
 *
 * @category agent
 */
import { bridgeDriver } from "../apply/bridge/driver.ts";
import { mkdirSync } from "node:fs";
import type { Driver } from "../apply/driver.ts";
import { cliRuntime, dsrDriver } from "../apply/dsr-pod/driver.ts";
import type { Exec } from "../apply/exec.ts";
import { filesDriver } from "../apply/files/driver.ts";
import { type GobgpDriverOptions, gobgpDriver } from "../apply/gobgp/driver.ts";
import { healthCheckDriver } from "../apply/healthcheck/driver.ts";
import { ipDriver } from "../apply/ip/driver.ts";
import { ipsetDriver } from "../apply/ipset/driver.ts";
import { detectBackend } from "../apply/iptables/backend.ts";
import { iptablesDriver } from "../apply/iptables/driver.ts";
import { ipvsDriver, ipvsDriverOptions } from "../apply/ipvs/driver.ts";
import { sysctlDriver } from "../apply/sysctl/driver.ts";
import type { NodeConfig } from "../model/config.ts";
import type { DriverFamily } from "../model/registry.ts";
import { enabledFamilies } from "../render/node-facts.ts";
import { resolveNodeName, resolveStateDir } from "./identity.ts";
import { realKubeStatusDriver } from "./kube-status.ts";
import { realKubeConfigMapDriver } from "./kube-configmap.ts";

/** What real drivers are built from. */
export interface DriverCaps {
  /** The process runner (probes at build time, e.g. the iptables backend). */
  readonly exec: Exec;
  readonly config: NodeConfig;
  /** The node name (the kube-status driver's default Lease identity). */
  readonly nodeName?: string;
  /** One-line notes of drivers with a life of their own (the Lease: leader / standby). */
  readonly log?: (line: string) => void;
}

/** The real driver of each family. */
export const REAL_DRIVERS: { readonly [F in DriverFamily]: (caps: DriverCaps) => Driver | Promise<Driver> } = {
  sysctl: () => sysctlDriver(),
  files: () => filesDriver(),
  ip: () => ipDriver(),
  bridge: () => bridgeDriver(),
  ipset: () => ipsetDriver(),
  iptables: async ({ exec, config }) => iptablesDriver(await detectBackend(exec, config.iptablesBackend === "auto" ? undefined : config.iptablesBackend)),
  ipvs: ({ config }) => ipvsDriver(ipvsDriverOptions(config)),
  healthcheck: () => healthCheckDriver(),
  dsr: ({ config }) => dsrDriver((exec) => cliRuntime(exec, config.runtimeEndpoint)),
  gobgp: ({ config }) => gobgpDriverFor(config),
  "kube-status": ({ config, nodeName, log }) => realKubeStatusDriver({ config, ...(nodeName ? { nodeName } : {}), ...(log ? { log } : {}) }),
  "kube-configmap": ({ config, nodeName, log }) => realKubeConfigMapDriver({ config, ...(nodeName ? { nodeName } : {}), ...(log ? { log } : {}) }),
};

/**
 * The gobgp driver's options for a config: gobgpd only for the long-running agent with
 * `--run-router` (otherwise — router off, `--once`, `--cleanup-config` — an inert plan-only
 * driver that starts and reads nothing: the bgp controller does not run then), its socket in the node's state directory,
 * the admin TCP API only when `--gobgp-admin-port` is given (on `--gobgp-admin-address`,
 * default 127.0.0.1). Nothing of BGP survives the agent (gobgpd is its child), so
 * `--cleanup-config` has nothing to remove there.
 */
export function gobgpDriverOptionsFor(config: NodeConfig): GobgpDriverOptions {
  const stateDir = resolveStateDir(config, resolveNodeName(config));
  if (!config.runRouter || config.cleanupConfig || config.once) return { stateDir, planOnly: true, inert: true };
  return {
    stateDir,
    planOnly: config.dryRun,
    // opt-in: upstream exposing it by default is advisory GHSA-v5mh-h5hx-7v92
    adminPort: (config.flagsGiven ?? []).includes("gobgp-admin-port") ? config.gobgpAdminPort : 0,
    adminAddress: config.gobgpAdminAddress,
    gracefulRestart: config.bgpGracefulRestart,
    ...(config.peerRouterPasswordsFile ? { passwordsFile: config.peerRouterPasswordsFile } : {}),
    families: enabledFamilies(config),
  };
}

/** The gobgp driver for a config (creates the state directory when it will start gobgpd). */
export function gobgpDriverFor(config: NodeConfig): ReturnType<typeof gobgpDriver> {
  const o = gobgpDriverOptionsFor(config);
  if (!o.planOnly) mkdirSync(o.stateDir, { recursive: true });
  return gobgpDriver(o);
}

/** Builds every real driver (in family declaration order). Rejects with a one-line Error when a probe fails. */
export async function realDrivers(exec: Exec, config: NodeConfig, more: Pick<DriverCaps, "nodeName" | "log"> = {}): Promise<Driver[]> {
  return Promise.all(Object.values(REAL_DRIVERS).map((make) => make({ exec, config, ...more })));
}

/** Starts every driver that has a lifecycle; on failure stops those already started and rejects. */
export async function startDrivers(drivers: readonly Driver[]): Promise<void> {
  const started: Driver[] = [];
  for (const d of drivers) {
    try {
      await d.start?.();
      started.push(d);
    } catch (e) {
      await stopDrivers(started);
      throw new Error(`driver ${d.name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}

/** Stops every driver (in reverse order); never rejects. */
export async function stopDrivers(drivers: readonly Driver[]): Promise<void> {
  for (const d of [...drivers].reverse()) await d.stop?.().catch(() => undefined);
}

/** The families whose driver asks for a full sync now. */
export function familiesWantingFullSync(drivers: readonly Driver[]): DriverFamily[] {
  return drivers.filter((d) => d.wantsFullSync?.() !== undefined).map((d) => d.name);
}
