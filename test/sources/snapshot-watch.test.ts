/**
 * The watched snapshot file source: reloads on change (fs.watch and the poll fallback), keeps
 * the last good snapshot when the file breaks, shares unchanged records between versions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SourceChange } from "../../src/sources/source.ts";
import { type SnapshotWatchOptions, type SnapshotWatchSource, createSnapshotWatchSource } from "../../src/sources/snapshot-watch.ts";
import { eventually, sleep, tempDir, type TempDir } from "../support/kube-api-double/index.ts";

const ns = (name: string, team = "a") => `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels:\n    team: ${team}\n`;
const svc = (name: string, ip: string) =>
  `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ns1\nspec:\n  clusterIP: ${ip}\n  ports:\n  - port: 80\n`;

async function withWatched(
  initial: string | undefined, opts: Partial<SnapshotWatchOptions>,
  body: (src: SnapshotWatchSource, file: string, changes: SourceChange[], dir: TempDir) => Promise<void>,
): Promise<void> {
  const dir = tempDir("snapwatch-");
  const file = join(dir.path, "cluster.yaml");
  if (initial !== undefined) writeFileSync(file, initial);
  const src = createSnapshotWatchSource({ path: file, debounceMs: 20, pollMs: 0, ...opts });
  const changes: SourceChange[] = [];
  src.onChange((c) => changes.push(c));
  try {
    await src.start();
    await body(src, file, changes, dir);
  } finally {
    await src.stop();
    dir.remove();
  }
}

test("file changed: the snapshot follows with per-key changes and shares unchanged records", async () => {
  // Given a watched file with two namespaces and a service
  await withWatched(ns("ns1") + ns("ns2") + svc("web", "10.96.0.10"), {}, async (src, file, changes) => {
    assert.equal(await src.waitSynced(1000), true);
    assert.deepEqual([...src.snapshot().namespaces.keys()], ["ns1", "ns2"]);
    assert.equal(changes.length, 6, "one relisted per kind on the first load");
    changes.length = 0;
    const before = src.snapshot();
    // When the file is rewritten: ns2 relabelled, a service added, ns1 unchanged
    writeFileSync(file, ns("ns1") + ns("ns2", "b") + svc("web", "10.96.0.10") + svc("api", "10.96.0.11"));
    // Then listeners get exactly the changed keys
    await eventually("changes seen", () => changes.length === 2, 3000);
    assert.deepEqual(changes, [
      { kind: "namespaces", key: "ns2", type: "modified" },
      { kind: "services", key: "ns1/api", type: "added" },
    ]);
    const after = src.snapshot();
    assert.equal(after.namespaces.get("ns2")?.labels["team"], "b");
    // And unchanged records and kinds keep their identity
    assert.equal(after.namespaces.get("ns1"), before.namespaces.get("ns1"));
    assert.equal(after.services.get("ns1/web"), before.services.get("ns1/web"));
    assert.equal(after.pods, before.pods);
    assert.deepEqual([...after.services.keys()], ["ns1/api", "ns1/web"], "sorted by key");
    // When a namespace is removed
    changes.length = 0;
    writeFileSync(file, ns("ns1") + svc("web", "10.96.0.10") + svc("api", "10.96.0.11"));
    await eventually("delete seen", () => changes.length === 1, 3000);
    assert.deepEqual(changes, [{ kind: "namespaces", key: "ns2", type: "deleted" }]);
  });
});

test("a file that stops parsing keeps the last good snapshot and reports the error", async () => {
  await withWatched(ns("ns1"), {}, async (src, file, changes) => {
    assert.equal(await src.waitSynced(1000), true);
    const good = src.snapshot();
    changes.length = 0;
    // When the file is broken
    writeFileSync(file, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [oops\n");
    // Then the error is reported, one line with the file and line number, and the snapshot kept
    await eventually("error reported", () => src.status().error !== undefined, 3000);
    assert.match(src.status().error!, /cluster\.yaml: line \d+: /);
    assert.equal(src.snapshot(), good);
    assert.equal(src.status().synced, true);
    assert.deepEqual(changes, []);
    // When it is fixed
    writeFileSync(file, ns("ns1") + ns("ns3"));
    // Then the error clears and the new content is in
    await eventually("fixed", () => src.status().error === undefined && src.snapshot().namespaces.has("ns3"), 3000);
  });
});

test("poll fallback: a change is seen without fs.watch", async () => {
  await withWatched(ns("ns1"), { useFsWatch: false, pollMs: 20 }, async (src, file) => {
    assert.equal(await src.waitSynced(1000), true);
    await sleep(30); // a different mtime from the first write
    writeFileSync(file, ns("ns1") + ns("ns2"));
    await eventually("ns2 seen by polling", () => src.snapshot().namespaces.has("ns2"), 3000);
  });
});

test("atomic replace (write elsewhere, rename over) is seen", async () => {
  await withWatched(ns("ns1"), {}, async (src, file, _changes, dir) => {
    assert.equal(await src.waitSynced(1000), true);
    const tmp = dir.write("cluster.yaml.tmp", ns("ns1") + ns("ns9"));
    renameSync(tmp, file);
    await eventually("ns9 seen", () => src.snapshot().namespaces.has("ns9"), 3000);
  });
});

test("a missing file at start: not synced, error, then synced once the file appears", async () => {
  await withWatched(undefined, { pollMs: 50 }, async (src, file) => {
    assert.equal(await src.waitSynced(50), false);
    assert.match(src.status().error ?? "", /cluster\.yaml: cannot read: ENOENT/);
    writeFileSync(file, ns("ns1"));
    assert.equal(await src.waitSynced(3000), true);
    assert.equal(src.status().error, undefined);
    assert.deepEqual([...src.snapshot().namespaces.keys()], ["ns1"]);
  });
});
