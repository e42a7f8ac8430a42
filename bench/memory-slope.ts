/**
 * The agent's retained memory at one (scaled) size, for the per-object slope check
 * (test/scale/memory-slope.test.ts, issue 15): what the heap holds, after full GCs, once
 *
 * 1. the Kubernetes API source (the real client and informers) has synced the generated
 *    cluster, served by the API double in a child process (bench/agent-source-server.ts), and
 * 2. node 0's desired state has been rendered and assembled from that snapshot (every
 *    controller's render memos stay alive with the snapshot objects they are keyed on).
 *
 *   node --expose-gc --import tsx bench/memory-slope.ts '<SizeSpec JSON>'
 *
 * Prints one JSON line: `{ objects, sourceBytes, renderBytes, totalBytes }` (heap used above
 * the heap before the source started). Fails (exit 1, one line) without --expose-gc, when the
 * source does not sync within 2 min, or when a controller fails to render.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { emptyNodeState } from "../src/model/state.ts";
import { type Rendered, assemble } from "../src/render/assemble.ts";
import { renderNode } from "../src/render/index.ts";
import { createKubeSource } from "../src/sources/kube/index.ts";
import { generateCluster } from "./gen.ts";
import { benchConfig, benchHost } from "./setup.ts";
import type { SizeSpec } from "./sizes.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write("memory-slope: run with --expose-gc\n");
  process.exit(1);
}
const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed; };

const specJson = process.argv[2] ?? "";
const spec = JSON.parse(specJson) as SizeSpec;
// node 0's config and host facts; the generated cluster itself is dropped before measuring
const { config, host, nodeName } = ((g) => ({ config: benchConfig(g, "/nonexistent/10-kuberouter.conf"), host: benchHost(g, "/nonexistent/10-kuberouter.conf"), nodeName: g.selfNode }))(generateCluster(spec));

const server = spawn(process.execPath, [...process.execArgv.filter((a) => a !== "--expose-gc"), join(import.meta.dirname, "agent-source-server.ts"), specJson], { stdio: ["pipe", "pipe", "inherit"] });
try {
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const ready = (((await lines.next()).value as string | undefined) ?? "").split(" ");
  if (ready[0] !== "READY") throw new Error(`server: ${ready.join(" ")}`);
  const before = heap();
  const src = createKubeSource({ kubeconfig: ready[1]!, log: (level, m) => { if (level !== "info") process.stderr.write(`${level}: ${m}\n`); } });
  await src.start();
  if (!(await src.waitSynced(120_000))) throw new Error("source not synced within 2 min");
  const snapshot = src.snapshot();
  const afterSource = heap();
  const rendered: Rendered[] = renderNode({ snapshot, config, host, nodeName }).map((r) => {
    if (r.result && "error" in r.result) throw new Error(`render ${r.controller.name}: ${r.result.error}`);
    return { controller: r.controller, ...(r.result && "ok" in r.result ? { output: r.result.ok } : {}) };
  });
  const { desired } = assemble(rendered, emptyNodeState());
  const afterRender = heap();
  const objects = snapshot.nodes.size + snapshot.namespaces.size + snapshot.pods.size + snapshot.services.size + snapshot.endpointSlices.size + snapshot.networkPolicies.size;
  process.stdout.write(`${JSON.stringify({ objects, sourceBytes: afterSource - before, renderBytes: afterRender - afterSource, totalBytes: afterRender - before, routes: desired.routes.size })}\n`);
  await src.stop();
  server.stdin!.write("quit\n");
  await new Promise((r) => server.once("exit", r));
  process.exit(0);
} catch (e) {
  server.kill("SIGKILL");
  process.stderr.write(`memory-slope: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
