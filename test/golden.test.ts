/**
 * Golden cases: test/golden/<case>/ holds the inputs — cluster.yaml (Kubernetes objects as
 * kubectl prints them), case.yaml (flags incl. the node name, host interfaces, CNI file,
 * foreign/observed routes, links and sysctls) and optional observed/ dumps in native formats
 * (iptables-save.txt, ip6tables-save.txt, ipset-save.txt) — and want/, the wanted outputs in
 * native formats: the desired state per table, the plan as dry-run prints it, and the
 * warnings/errors. The test fails on any missing or different file;
 * `npm run golden:update` (UPDATE_GOLDEN=1) rewrites want/ on purpose.
 *
 * Each case also proves convergence: applying the plan to the fake node, then planning
 * again, gives an empty plan.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseFlags } from "../src/agent/flags.ts";
import { syncNode } from "../src/agent/engine.ts";
import { formatPlanText } from "../src/agent/printer.ts";
import { STATE_TEXTS } from "../src/agent/state-text.ts";
import { resolveNodeName } from "../src/agent/cli.ts";
import { formatWarning } from "../src/model/cluster.ts";
import { isEmptyPlan, planSummary } from "../src/model/plan.ts";
import { parseSnapshotText } from "../src/sources/snapshot-file.ts";
import { type FakeNodeSeed, fakeNode } from "./support/fake-node.ts";
import type { HostFacts } from "../src/model/host.ts";

const ROOT = join(import.meta.dirname, "golden");
const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

interface CaseFile extends Omit<FakeNodeSeed, "iptablesSave" | "ipsetSave"> {
  readonly args: readonly string[];
  /** HostFacts.ipvs (e.g. `{available: false}` for a kernel without IPVS). */
  readonly ipvs?: HostFacts["ipvs"];
}

const readIf = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : undefined);

function checkGolden(dir: string, name: string, actual: string): void {
  const path = join(dir, "want", name);
  if (UPDATE) {
    mkdirSync(join(dir, "want"), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  const want = readIf(path);
  assert.ok(want !== undefined, `missing golden file ${path} (run npm run golden:update)`);
  assert.equal(actual, want, `${path} differs (run npm run golden:update if the change is intended)`);
}

for (const name of readdirSync(ROOT).sort()) {
  const dir = join(ROOT, name);
  test(`golden: ${name}`, async () => {
    // Given the case's inputs
    const c = parse(readFileSync(join(dir, "case.yaml"), "utf8")) as CaseFile;
    const flags = parseFlags([...c.args], {});
    assert.ok("config" in flags, `case.yaml args: ${"error" in flags ? flags.error : ""}`);
    const config = flags.config;
    const { snapshot, warnings } = parseSnapshotText(readFileSync(join(dir, "cluster.yaml"), "utf8"), "cluster.yaml");
    const ipv4 = readIf(join(dir, "observed", "iptables-save.txt"));
    const ipv6 = readIf(join(dir, "observed", "ip6tables-save.txt"));
    const ipsetSave = readIf(join(dir, "observed", "ipset-save.txt"));
    const node = fakeNode({ ...c, services: snapshot.services.values(), iptablesSave: { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) }, ...(ipsetSave ? { ipsetSave } : {}) });
    const req = { config, nodeName: resolveNodeName(config), snapshot };

    // When the node is planned
    const out = await syncNode(node.deps, { ...req, mode: "plan" });

    // Then desired state, plan and messages are as wanted
    for (const t of STATE_TEXTS) {
      const text = t.text(out.desired);
      if (!t.optional || text !== "" || existsSync(join(dir, "want", t.file))) checkGolden(dir, t.file, text);
    }
    checkGolden(dir, "plan.txt", formatPlanText(out.plan, out.scripts));
    const messages = [
      ...warnings.map((w) => `warning: ${formatWarning(w)}`),
      ...out.warnings.map((w) => `warning: ${w}`),
      ...out.errors.map((e) => `error: ${e}`),
    ];
    checkGolden(dir, "messages.txt", messages.map((m) => `${m}\n`).join(""));

    // And applying the plan converges: the next plan is empty and writes nothing
    const applied = await syncNode(node.deps, { ...req, mode: "apply", verify: true });
    assert.deepEqual(applied.errors, out.errors, "apply adds no errors");
    const writes = node.exec.writes();
    const again = await syncNode(node.deps, { ...req, mode: "apply" });
    assert.ok(isEmptyPlan(again.plan), `not converged: ${planSummary(again.plan)}`);
    assert.equal(node.exec.writes(), writes, "a no-op sync writes nothing");
  });
}
