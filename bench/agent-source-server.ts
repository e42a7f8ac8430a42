/**
 * Child process of bench/agent-source.ts (and the memory-slope test): serves a generated cluster
 * of one size (a name of sizes.ts, or a SizeSpec as JSON) through the
 * Kubernetes API double, so the measured process holds only the source, not the server.
 *
 * Prints `READY <kubeconfig> <objects>` on stdout once listening. Reads commands on stdin, one
 * a line: `touch pods <namespace> <name>` (updates the object's labels), `quit`.
 */
import { createInterface } from "node:readline";
import { apiObjectsOf, startApiDouble, type ResourceName } from "../test/support/kube-api-double/index.ts";
import { generateCluster } from "./gen.ts";
import { type SizeSpec, sizeByName } from "./sizes.ts";

const arg = process.argv[2] ?? "L";
/** A size name, or a whole SizeSpec as JSON (a scaled size: test/scale/memory-slope.test.ts). */
const spec: SizeSpec | undefined = arg.startsWith("{") ? (JSON.parse(arg) as SizeSpec) : sizeByName(arg);
if (!spec) throw new Error(`unknown size ${arg}`);
const { snapshot } = generateCluster(spec);
const objects = apiObjectsOf(snapshot, true);
const d = await startApiDouble();
let total = 0;
for (const [resource, list] of Object.entries(objects) as [ResourceName, (typeof objects)[ResourceName]][]) {
  d.api.store.load(resource, list);
  total += list.length;
}
process.stdout.write(`READY ${d.kubeconfig} ${total}\n`);

let touches = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, resource, ns, name] = line.trim().split(/\s+/);
  if (cmd === "quit") break;
  if (cmd === "touch" && resource && ns && name) {
    const o = d.api.store.get(resource as ResourceName, ns, name);
    if (!o) {
      process.stdout.write(`MISSING ${ns}/${name}\n`);
      continue;
    }
    const meta = o.metadata as { labels?: Record<string, string> };
    d.api.update(resource as ResourceName, { ...o, metadata: { ...o.metadata, labels: { ...meta.labels, touched: String(++touches) } } });
  }
}
await d.dispose();
process.exit(0);
