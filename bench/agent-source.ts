/**
 * Memory and speed of the Kubernetes API source at a benchmark size (default L: 5k nodes, 150k
 * pods, 10k services × 10 endpoints, 1k policies), through the real client library:
 *
 *   node --expose-gc --import tsx bench/agent-source.ts [XS|S|M|L] [--events N]
 *
 * A child process serves the generated cluster through the API double (pods with managedFields
 * and other noise, as a real server sends them); this process runs the source and reports:
 * time to first sync, RSS and heap after sync (after a full GC), and event → snapshot latency
 * (an update of one pod until the source's onChange), p50/p95 over N events.
 * Exits 1 if RSS exceeds 512 MiB (the acceptance target).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createKubeSource } from "../src/sources/kube/index.ts";
import type { SourceChange } from "../src/sources/source.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { events: { type: "string", default: "30" } } });
const size = (positionals[0] ?? "L").toUpperCase();
const events = Number(values.events);
const RSS_LIMIT_MIB = 512;
const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => { gc?.(); gc?.(); };

const child = spawn(process.execPath, [...process.execArgv.filter((a) => a !== "--expose-gc"), join(import.meta.dirname, "agent-source-server.ts"), size], {
  stdio: ["pipe", "pipe", "inherit"],
});
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => ((await lines.next()).value as string | undefined) ?? "";
const ready = (await nextLine()).split(" ");
if (ready[0] !== "READY") throw new Error(`server: ${ready.join(" ")}`);
const kubeconfig = ready[1]!;
const objects = Number(ready[2]);

settle();
const rssBefore = process.memoryUsage().rss;
const src = createKubeSource({ kubeconfig, log: (l, m) => l !== "info" && console.error(`${l}: ${m}`) });
const t0 = performance.now();
await src.start();
const synced = await src.waitSynced(10 * 60_000);
const syncMs = performance.now() - t0;
settle();
const mem = process.memoryUsage();
const snap = src.snapshot();
const counts = { nodes: snap.nodes.size, pods: snap.pods.size, services: snap.services.size, endpointSlices: snap.endpointSlices.size, networkPolicies: snap.networkPolicies.size };

// Event → snapshot latency: touch one pod, wait for its change.
const podKeys = [...snap.pods.keys()];
const latencies: number[] = [];
for (let i = 0; i < events; i++) {
  const key = podKeys[(i * 7919) % podKeys.length]!;
  const [ns, name] = key.split("/");
  const seen = new Promise<void>((resolve) => {
    const off = src.onChange((c: SourceChange) => {
      if (c.kind === "pods" && c.key === key) {
        off();
        resolve();
      }
    });
  });
  const t = performance.now();
  child.stdin!.write(`touch pods ${ns} ${name}\n`);
  await seen;
  latencies.push(performance.now() - t);
}
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10 : NaN;
settle();
const rssAfterEvents = process.memoryUsage().rss;

await src.stop();
child.stdin!.write("quit\n");
await new Promise((r) => child.once("exit", r));

const report = {
  size, objects, synced, syncMs: Math.round(syncMs), counts,
  rssMiB: mib(mem.rss), rssBeforeStartMiB: mib(rssBefore), heapUsedMiB: mib(mem.heapUsed), heapTotalMiB: mib(mem.heapTotal),
  externalMiB: mib(mem.external), rssAfterEventsMiB: mib(rssAfterEvents),
  eventToSnapshotMs: { p50: pct(0.5), p95: pct(0.95), n: latencies.length },
  gcExposed: gc !== undefined,
};
console.log(JSON.stringify(report, null, 2));
if (!synced || mem.rss > RSS_LIMIT_MIB * 2 ** 20) process.exit(1);
