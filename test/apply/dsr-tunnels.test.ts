/**
 * DSR tunnels inside pods as a table: the proxy renders one row per local endpoint pod of a
 * `service.dsr: tunnel` Service; the dsr driver sets each up once (later syncs spawn nothing
 * for it) and again when the container changes; dry-run shows what would run in the pod.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { syncNode } from "../../src/agent/engine.ts";
import { parseFlags } from "../../src/agent/flags.ts";
import { dsrDriver } from "../../src/apply/dsr-pod/driver.ts";
import { recordingExec } from "../../src/apply/exec.ts";
import type { ClusterSnapshot, PodInfo } from "../../src/model/cluster.ts";
import type { HostFacts } from "../../src/model/host.ts";
import { parseSnapshotText } from "../../src/sources/snapshot-file.ts";

const CASE = join(import.meta.dirname, "..", "golden", "proxy-dsr");

function setup() {
  const c = parse(readFileSync(join(CASE, "case.yaml"), "utf8")) as { args: string[]; interfaces: HostFacts["interfaces"] };
  const flags = parseFlags(c.args, {});
  assert.ok("config" in flags);
  const { snapshot } = parseSnapshotText(readFileSync(join(CASE, "cluster.yaml"), "utf8"), "cluster.yaml");
  // a fake node: `ip link show` in the pod says the tunnel is missing; every write succeeds
  const exec = recordingExec({
    run: async (cmd, args) => ({ code: cmd === "nsenter" && args.includes("show") ? 1 : 0, stdout: "", stderr: "" }),
  });
  const pids: string[] = [];
  const driver = dsrDriver(() => ({ pidOf: async (id: string) => { pids.push(id); return 4242; } }));
  const host: HostFacts = { interfaces: c.interfaces, cniConf: { path: "/nonexistent" } };
  const sync = (s: ClusterSnapshot, mode: "apply" | "plan" = "apply") =>
    syncNode({ exec, drivers: [driver], readHost: async () => host }, { mode, config: flags.config, nodeName: "node1", snapshot: s, controllers: ["proxy"] });
  return { snapshot, exec, pids, sync };
}

test("given a DSR Service with a local endpoint pod, when two syncs follow, then the pod's tunnel is set up by the first only", async () => {
  const { snapshot, exec, pids, sync } = setup();
  // When the first sync runs
  const first = await sync(snapshot);
  // Then the plan had one tunnel, the runtime was asked for the pod's container and the batch ran in its netns
  assert.equal(first.plan.dsrTunnels.length, 1);
  assert.deepEqual(first.errors.filter((e) => e.where.driver === "dsr"), []);
  assert.deepEqual(pids, ["containerd://abc123"]);
  const batch = exec.calls.find((c) => c.cmd === "nsenter" && c.args.includes("-batch"));
  assert.ok(batch, "ip -batch ran inside the pod");
  assert.deepEqual(batch.args.slice(0, 4), ["-t", "4242", "-n", "ip"]);
  assert.match(batch.stdin ?? "", /link add kube-tunnel-if type ipip/);
  // When the next sync runs with nothing changed
  const before = exec.calls.length;
  const second = await sync(snapshot);
  // Then the tunnel table is converged and nothing is spawned
  assert.equal(second.plan.dsrTunnels.length, 0);
  assert.equal(exec.calls.length, before);
});

test("given the endpoint pod's container restarted, when the next sync runs, then the tunnel is set up again in the new container", async () => {
  const { snapshot, pids, sync } = setup();
  await sync(snapshot);
  const pod = snapshot.pods.get("default/dsr-a")!;
  const restarted: PodInfo = { ...pod, containerID: "containerd://def456" };
  const next: ClusterSnapshot = { ...snapshot, pods: new Map([...snapshot.pods, ["default/dsr-a", restarted]]) };
  const r = await sync(next);
  assert.deepEqual(r.plan.dsrTunnels.map((c) => c.op).sort(), ["create", "delete"]);
  assert.deepEqual(pids, ["containerd://abc123", "containerd://def456"]);
});

test("given a DSR Service, when planned (dry-run), then the tunnel's commands are shown and nothing runs in the pod", async () => {
  const { snapshot, exec, pids, sync } = setup();
  const r = await sync(snapshot, "plan");
  const text = r.scripts.find((s) => s.driver === "dsr")?.text ?? "";
  assert.match(text, /nsenter -t \$\(pid of containerd:\/\/abc123\) -n ip -batch -/);
  assert.match(text, /address replace \S+\/32 dev kube-tunnel-if/);
  assert.deepEqual(pids, []);
  assert.equal(exec.calls.filter((c) => c.cmd === "nsenter").length, 0);
});
