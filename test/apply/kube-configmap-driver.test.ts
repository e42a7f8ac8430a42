/**
 * The kube-configmap driver against an in-memory ConfigMap API: given the extender's desired
 * keys, when syncing, then one write per sync with the resourceVersion read as precondition,
 * conflicts retried, foreign keys untouched, a no-op sync writes nothing, and a standby agent
 * writes only its own Mac- key.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { kubeConfigMapDriver, type KubeConfigMapDriver } from "../../src/apply/kube-configmap/driver.ts";
import { MemoryConfigMapApi } from "../../src/apply/kube-configmap/memory.ts";
import { LeaseElector, type LeaseApi } from "../../src/apply/kube-status/lease.ts";
import { diffNode } from "../../src/model/plan.ts";
import { type ConfigMapKey, configMapKeyKey } from "../../src/model/rows.ts";
import { type NodeState, emptyNodeState } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";

const NS = "kube-system";
const NAME = "kube-chorus-router";
const row = (key: string, value: string, writer: ConfigMapKey["writer"] = "leader"): ConfigMapKey => ({ namespace: NS, name: NAME, key, value, writer });
const desired = (rows: ConfigMapKey[]): NodeState => ({ ...emptyNodeState(), configMapKeys: sortedTable(rows.map((r) => [configMapKeyKey(r), r] as [string, ConfigMapKey])) });
const noExec = undefined as never;

async function sync(d: KubeConfigMapDriver, want: NodeState): Promise<number> {
  const observed = { ...emptyNodeState(), ...(await d.observe(noExec, want)) } as NodeState;
  const scripts = d.scripts(diffNode(want, observed));
  for (const s of scripts) await s.run(noExec);
  return scripts.length;
}

const WANT = [row("EndpointIP", "192.168.254.254"), row("Type", "VXLAN"), row("Interface-10.0.0.11", "192.168.254.1"), row("Mac-10.0.0.11", "02:aa:bb:cc:dd:ee", "self")];

test("given no ConfigMap, when syncing, then one create with every key; a second sync writes nothing", async () => {
  const api = new MemoryConfigMapApi();
  const d = kubeConfigMapDriver({ api });
  assert.equal(await sync(d, desired(WANT)), 1);
  assert.deepEqual(api.writes.map((w) => w.verb), ["create"]);
  assert.deepEqual(api.data(NS, NAME), { EndpointIP: "192.168.254.254", Type: "VXLAN", "Interface-10.0.0.11": "192.168.254.1", "Mac-10.0.0.11": "02:aa:bb:cc:dd:ee" });
  assert.equal(await sync(d, desired(WANT)), 0);
  assert.equal(api.writes.length, 1);
});

test("given foreign keys and a stale key of ours, when syncing, then ONE update under the resourceVersion read: ours fixed, the stale one deleted, foreign kept", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { owner: "someone", "Node-10.0.0.99": "10.0.0.99", EndpointIP: "1.1.1.1" } });
  const d = kubeConfigMapDriver({ api });
  const rv = (await api.get(NS, NAME))!.resourceVersion;
  await sync(d, desired(WANT));
  assert.equal(api.writes.length, 1);
  assert.equal(api.writes[0]!.verb, "update");
  assert.equal(api.writes[0]!.resourceVersion, rv);
  assert.deepEqual(api.data(NS, NAME), { owner: "someone", EndpointIP: "192.168.254.254", Type: "VXLAN", "Interface-10.0.0.11": "192.168.254.1", "Mac-10.0.0.11": "02:aa:bb:cc:dd:ee" });
});

test("given a conflict on the first update (another writer added a key), when syncing, then it re-reads, retries once and keeps the other writer's key", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { Type: "old" } });
  api.conflictNext = 1;
  api.conflictChange = { "Mac-10.0.0.12": "02:00:00:00:00:12" };
  await sync(kubeConfigMapDriver({ api }), desired([row("Type", "VXLAN")]));
  assert.equal(api.writes.length, 1);
  assert.deepEqual(api.data(NS, NAME), { Type: "VXLAN", "Mac-10.0.0.12": "02:00:00:00:00:12" });
});

test("given conflicts on every try, when syncing, then it fails with one line after 5 tries", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { Type: "old" } });
  api.conflictNext = 5;
  await assert.rejects(sync(kubeConfigMapDriver({ api }), desired([row("Type", "VXLAN")])), /^Error: ConfigMap kube-system\/kube-chorus-router: write conflicted 5 times$/);
});

/** A Lease always held by someone else (renewed each read). */
function heldElsewhere(): LeaseApi {
  let n = 0;
  return { read: async () => ({ resourceVersion: String(++n), holderIdentity: "other", leaseDurationSeconds: 15, renewTime: new Date().toISOString(), leaseTransitions: 0 }), write: async () => "conflict" };
}

/** A driver on a standby agent (another holds the Lease), started; `body` runs, then it stops. */
async function asStandby(api: MemoryConfigMapApi, body: (d: KubeConfigMapDriver) => Promise<void>): Promise<void> {
  const d = kubeConfigMapDriver({ api, elector: (onChange) => new LeaseElector(heldElsewhere(), { identity: "me", onChange, retryMs: 60_000 }) });
  await d.start!();
  try {
    assert.equal(d.role(), "standby");
    await body(d);
  } finally {
    await d.stop!();
  }
}

test("given a standby agent (another holds the Lease), when syncing, then it writes only its own Mac- key and plans nothing for the leader's keys", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { EndpointIP: "stale", "Node-10.0.0.99": "gone", "Interface-10.0.0.11": "192.168.254.1" } });
  await asStandby(api, async (d) => {
    await sync(d, desired(WANT));
    assert.deepEqual(api.data(NS, NAME), { EndpointIP: "stale", "Node-10.0.0.99": "gone", "Interface-10.0.0.11": "192.168.254.1", "Mac-10.0.0.11": "02:aa:bb:cc:dd:ee" });
    assert.equal(await sync(d, desired(WANT)), 0);
  });
});

test("given the leader removed this node's keys (its Node was deleted), when a standby whose snapshot still holds the Node syncs, then its Mac- key does not come back and nothing is written", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { Type: "VXLAN", "Interface-10.0.0.12": "192.168.254.2" } });
  await asStandby(api, async (d) => {
    await sync(d, desired(WANT));
    assert.deepEqual(api.data(NS, NAME), { Type: "VXLAN", "Interface-10.0.0.12": "192.168.254.2" });
    assert.equal(api.writes.length, 0);
  });
});

test("given the leader removes this node's keys between the standby's read and its write, when the write conflicts, then the re-read sees the removal and the Mac- key is not written", async () => {
  const api = new MemoryConfigMapApi({ [`${NS}/${NAME}`]: { Type: "VXLAN", "Interface-10.0.0.11": "192.168.254.1" } });
  api.conflictNext = 1;
  api.conflictChange = { "Interface-10.0.0.11": null };
  await asStandby(api, async (d) => {
    await sync(d, desired(WANT));
    assert.deepEqual(api.data(NS, NAME), { Type: "VXLAN" });
  });
});

test("given no ConfigMap, when a standby syncs its own Mac- key, then no ConfigMap is created", async () => {
  const api = new MemoryConfigMapApi();
  await asStandby(api, async (d) => {
    await sync(d, desired(WANT));
    assert.equal(api.data(NS, NAME), undefined);
    assert.equal(api.writes.length, 0);
  });
});

test("given no API (--snapshot), then observe reports the snapshot's ConfigMap, dry-run text is a kubectl merge patch (null deletes), apply fails with one line", async () => {
  const d = kubeConfigMapDriver({ readback: () => ({ Type: "VXLAN", "Node-10.0.0.99": "10.0.0.99", foreign: "x" }) });
  const want = desired([row("Type", "VXLAN"), row("EndpointIP", "192.168.254.254")]);
  const observed = { ...emptyNodeState(), ...(await d.observe(noExec, want)) } as NodeState;
  assert.deepEqual([...observed.configMapKeys.keys()], ["kube-system/kube-chorus-router/Node-10.0.0.99", "kube-system/kube-chorus-router/Type"]);
  const [s] = d.scripts(diffNode(want, observed));
  assert.equal(s!.text, `kubectl patch configmap -n kube-system kube-chorus-router --type=merge -p '{"data":{"EndpointIP":"192.168.254.254","Node-10.0.0.99":null}}'\n`);
  await assert.rejects(s!.run(noExec), /no API server \(--snapshot\); 2 keys not written/);
});
