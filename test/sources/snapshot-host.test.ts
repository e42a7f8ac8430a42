/**
 * A snapshot file that cannot describe this host says so in one line naming the file (issue
 * 17): empty, every object skipped, or no Node with this host's name. Not fatal: the snapshot
 * is still served (the controllers that need the Node report that they cannot render).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSnapshotText, snapshotHostProblem } from "../../src/sources/snapshot-file.ts";
import { createSnapshotWatchSource } from "../../src/sources/snapshot-watch.ts";

const NODE1 = "kind: Node\nmetadata: {name: node1}\nspec: {podCIDR: 10.244.1.0/24}\n";
const problem = (text: string, nodeName = "node1") => {
  const { snapshot, warnings } = parseSnapshotText(text, "snap.yaml");
  return snapshotHostProblem("snap.yaml", snapshot, nodeName, warnings.length);
};

test("given an empty snapshot file, when checked for this host, then one line names the file and says it is empty", () => {
  assert.equal(problem(""), "snap.yaml: the snapshot is empty: no Node node1 for this host");
  assert.equal(problem("---\n---\n"), "snap.yaml: the snapshot is empty: no Node node1 for this host");
});

test("given a snapshot whose every object is skipped, when checked, then the line counts the skipped objects", () => {
  assert.equal(problem("kind: Service\nmetadata: {name: s}\n---\nkind: Pod\nmetadata: {name: p}\n"),
    "snap.yaml: the snapshot is empty (2 objects skipped, see the warnings): no Node node1 for this host");
});

test("given a snapshot with other nodes only, when checked for node9, then the line names the file and the node", () => {
  assert.equal(problem(NODE1, "node9"), "snap.yaml: no Node node9 for this host (its name: --hostname-override, else NODE_NAME, else the hostname)");
});

test("given a snapshot with this host's Node, when checked, then nothing is said", () => {
  assert.equal(problem(NODE1), undefined);
});

test("given the watched snapshot source on an empty file, when loaded and then fixed, then one warning names the file and the fixed file says nothing more", async () => {
  const dir = mkdtempSync(join(tmpdir(), "snap-host-"));
  const file = join(dir, "cluster.yaml");
  writeFileSync(file, "");
  const logs: string[] = [];
  const src = createSnapshotWatchSource({ path: file, nodeName: "node1", useFsWatch: false, pollMs: 0, log: (level, msg) => logs.push(`${level}: ${msg}`) });
  try {
    await src.start();
    assert.equal(await src.waitSynced(1000), true, "an empty file is still a (synced, empty) snapshot");
    assert.deepEqual(logs, [`warn: ${file}: the snapshot is empty: no Node node1 for this host`]);
    // the same content again is not logged twice; a file with the Node says nothing
    (src as unknown as { reload(): void }).reload();
    writeFileSync(file, NODE1);
    (src as unknown as { reload(): void }).reload();
    assert.deepEqual(logs, [`warn: ${file}: the snapshot is empty: no Node node1 for this host`]);
    assert.deepEqual([...src.snapshot().nodes.keys()], ["node1"]);
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
