/**
 * After each proxy sync: the DSR tunnel inside a local endpoint pod is set up once (later
 * syncs spawn nothing for it), again when the container changes; healthCheckNodePort servers
 * are reconciled from the same render.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { proxyAfterSync } from "../../src/agent/runtime/after-sync.ts";
import { makeLogger, memoryDestination } from "../../src/agent/runtime/log.ts";
import { type ExecCall, recordingExec } from "../../src/apply/exec.ts";
import { parseFlags } from "../../src/agent/flags.ts";
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
    run: async (cmd, args) => {
      const missing = cmd === "nsenter" && args.includes("show");
      return { code: missing ? 1 : 0, stdout: "", stderr: "" };
    },
  });
  const calls: ExecCall[] = exec.calls;
  const pids: string[] = [];
  const runtime = { pidOf: async (id: string) => { pids.push(id); return 4242; } };
  const logs = memoryDestination();
  const host: HostFacts = { interfaces: c.interfaces, cniConf: { path: "/nonexistent" } };
  let hostReads = 0;
  const hook = proxyAfterSync({ config: flags.config, nodeName: "node1", exec, readHost: async () => { hostReads++; return host; }, log: makeLogger({ node: "node1", v: 0, dest: logs }), runtime });
  return { snapshot, hook, calls, pids, logs, host, hostReads: () => hostReads };
}

test("given a DSR Service with a local endpoint pod, when two syncs follow, then the pod's tunnel is set up by the first only", async () => {
  const { snapshot, hook, calls, pids } = setup();
  // When the first sync's hook runs
  await hook(snapshot);
  // Then the runtime was asked for the pod's container and the tunnel batch ran in its netns
  assert.deepEqual(pids, ["containerd://abc123"]);
  const batch = calls.find((c) => c.cmd === "nsenter" && c.args.includes("-batch"));
  assert.ok(batch, "ip -batch ran inside the pod");
  assert.deepEqual(batch.args.slice(0, 4), ["-t", "4242", "-n", "ip"]);
  assert.match(batch.stdin ?? "", /link add kube-tunnel-if type ipip/);
  // When the next sync's hook runs with nothing changed
  const before = calls.length;
  await hook(snapshot);
  // Then nothing is spawned
  assert.equal(calls.length, before);
});

test("given the endpoint pod's container restarted, when the hook runs, then the tunnel is set up again in the new container", async () => {
  const { snapshot, hook, pids } = setup();
  await hook(snapshot);
  const pod = snapshot.pods.get("default/dsr-a")!;
  const restarted: PodInfo = { ...pod, containerID: "containerd://def456" };
  const next: ClusterSnapshot = { ...snapshot, pods: new Map([...snapshot.pods, ["default/dsr-a", restarted]]) };
  await hook(next);
  assert.deepEqual(pids, ["containerd://abc123", "containerd://def456"]);
});

test("given the sync's outcome carries its host facts, when the hook runs, then it renders with them and reads nothing from the host", async () => {
  const { snapshot, hook, pids, host, hostReads } = setup();
  await hook(snapshot, { host });
  assert.equal(hostReads(), 0);
  assert.deepEqual(pids, ["containerd://abc123"], "the DSR pod was still found from the same render");
});
