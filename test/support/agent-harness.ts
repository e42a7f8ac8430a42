/**
 * Test support: runs the agent runtime in process over a fake node and a MemorySource, with
 * logs captured in memory, exec failures and delays on demand, and a stop handle.
 */
import { createServer } from "node:net";
import type { EngineDeps } from "../../src/agent/engine.ts";
import { type AgentHandle, type AgentOptions, runAgent } from "../../src/agent/runtime/agent.ts";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import type { Timing } from "../../src/agent/runtime/schedule.ts";
import type { Exec } from "../../src/apply/exec.ts";
import { type ClusterSnapshot } from "../../src/model/cluster.ts";
import { DEFAULT_CONFIG, type NodeConfig } from "../../src/model/config.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";
import { type FakeNode, fakeNode } from "./fake-node.ts";
import { MemorySource } from "./memory-source.ts";
import { ipvsDriver, ipvsDriverOptions } from "../../src/apply/ipvs/driver.ts";

export const nodeYaml = (n: number, cidr = `10.244.${n}.0/24`) => `apiVersion: v1
kind: Node
metadata: {name: node${n}}
spec: {podCIDR: "${cidr}"}
status: {addresses: [{type: InternalIP, address: 10.250.0.1${n}}]}
`;
export const snapshotOf = (...ns: number[]): ClusterSnapshot => parseSnapshotText(ns.map((n) => nodeYaml(n)).join("---\n"), "t.yaml").snapshot;
/** The projected Node record of node N (for MemorySource.put). */
export const nodeRecord = (n: number, cidr?: string) => parseSnapshotText(nodeYaml(n, cidr), "t.yaml").snapshot.nodes.get(`node${n}`)!;

export const FAST: Timing = { debounceMs: 20, maxDelayMs: 200, minIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 400 };

export const baseConfig: NodeConfig = {
  ...DEFAULT_CONFIG, hostnameOverride: "node1", runFirewall: false, runServiceProxy: false, healthPort: 0, metricsPort: 0,
};
export const seed = { interfaces: [{ name: "eth0", mtu: 1500, addrs: ["10.250.0.11/24"] }], cniConf: { path: "/cni/10-kuberouter.conf" } };

/** An Exec wrapper: fail the next N writes, or delay every write. */
export class FlakyExec implements Exec {
  failWrites = 0;
  writeDelayMs = 0;
  /** Called when a delayed write starts (tests stop the agent mid-apply). */
  onWriteStart: (() => void) | undefined;
  constructor(private readonly inner: Exec) {}
  async run(cmd: string, args: readonly string[], o: Parameters<Exec["run"]>[2] = {}) {
    if (o.write) {
      if (this.failWrites > 0) {
        this.failWrites--;
        throw new Error(`${cmd}: injected failure`);
      }
      this.onWriteStart?.();
      if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    }
    return this.inner.run(cmd, args, o);
  }
}

export interface Harness {
  readonly node: FakeNode;
  readonly exec: FlakyExec;
  readonly source: MemorySource;
  readonly logs: ReturnType<typeof memoryDestination>;
  readonly handle: AgentHandle;
  readonly ports: { health?: number; metrics?: number };
  /** Stops the agent; resolves to its exit code. */
  stop(): Promise<number>;
  /** Routes in the fake kernel, as `dst via`. */
  routes(): Promise<string[]>;
  /** Members of an ipset in the fake kernel. */
  members(set: string): Promise<string[]>;
  logLines(): Record<string, unknown>[];
}

/** Starts an agent; resolves once its servers listen and the handle is available. */
export async function startAgent(o: {
  config?: Partial<NodeConfig>; source?: MemorySource; timing?: Timing; graceMs?: number; ipvsGraceMs?: number;
  /** Wraps the Exec the drivers use (e.g. timing it, answering extra commands). */
  wrapExec?: (e: Exec) => Exec;
  /** Called with the handle before the first sync (e.g. registering more metrics, as cli-agent.ts does). */
  onStart?: (h: AgentHandle, drivers: EngineDeps["drivers"]) => void;
  onSynced?: AgentOptions["onSynced"];
} = {}): Promise<Harness> {
  const fresh = fakeNode(seed);
  // --ipvs-graceful-termination: the IPVS driver drains removed real servers for `ipvsGraceMs`
  const node = o.ipvsGraceMs === undefined ? fresh : {
    ...fresh,
    deps: { ...fresh.deps, drivers: fresh.deps.drivers.map((d) => (d.name === "ipvs" ? ipvsDriver({ ...ipvsDriverOptions(DEFAULT_CONFIG), graceful: { periodMs: o.ipvsGraceMs! } }) : d)) },
  };
  const exec = new FlakyExec(node.exec);
  const source = o.source ?? new MemorySource(snapshotOf(1, 2));
  const logs = memoryDestination();
  const config = { ...baseConfig, ...o.config };
  const log = makeLogger({ node: "node1", v: config.v, dest: logs });
  let stop!: () => void;
  const stopped = new Promise<void>((r) => { stop = r; });
  let ports: { health?: number; metrics?: number } = {};
  let handle!: AgentHandle;
  const opts: AgentOptions = {
    config, nodeName: "node1", deps: { ...node.deps, exec: o.wrapExec ? o.wrapExec(exec) : exec }, source, log, stop: stopped,
    timing: o.timing ?? FAST, processMetrics: false, onListening: (p) => { ports = p; },
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    ...(o.onSynced ? { onSynced: o.onSynced } : {}),
  };
  let ready!: () => void;
  const started = new Promise<void>((r) => { ready = r; });
  const done = runAgent(opts, (h) => { handle = h; o.onStart?.(h, opts.deps.drivers); ready(); });
  await Promise.race([started, done.then((c) => { throw new Error(`agent exited early with ${c}: ${logs.text.join("")}`); })]);
  return {
    node, exec, source, logs, handle, ports,
    stop: () => { stop(); return done; },
    routes: async () => {
      const r = await node.exec.run("ip", ["-j", "route", "show", "table", "all"]);
      return (JSON.parse(r.stdout) as { dst: string; gateway?: string; protocol?: string }[]).filter((x) => x.gateway).map((x) => `${x.dst} via ${x.gateway}`).sort();
    },
    members: async (set) => {
      const r = await node.exec.run("ipset", ["save", set]);
      return r.stdout.split("\n").filter((l) => l.startsWith("add ")).map((l) => l.split(" ")[2] ?? "").sort();
    },
    logLines: () => logs.lines(),
  };
}

/** Polls `pred` every 5 ms until it is true; fails after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A free TCP port on 127.0.0.1 (listen on 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
