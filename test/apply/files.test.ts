/**
 * files driver: compile text, observe scoped to desired paths, convergence over the in-memory
 * file system, and the real file system's atomic write in a temp directory (mode honoured
 * whatever the umask, parent created, no temp file left behind, failures leave the old file).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filesDriver } from "../../src/apply/files/driver.ts";
import { filesScripts, formatMode } from "../../src/apply/files/compile.ts";
import { MemoryFileSystem } from "../../src/apply/files/fake.ts";
import { type FileSystem, realFileSystem } from "../../src/apply/files/fs.ts";
import { ORDER } from "../../src/apply/driver.ts";
import { fakeExec } from "../../src/apply/fake.ts";
import { diffNode, emptyPlan } from "../../src/model/plan.ts";
import { type ManagedFile, type NodeState, emptyNodeState } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";

const withFiles = (f: readonly ManagedFile[]): NodeState => ({ ...emptyNodeState(), files: sortedTable(f.map((x) => [x.path, x] as const)) });
const CNI = '{\n  "cniVersion": "0.3.0",\n  "name": "mynet"\n}\n';

async function sync(fs: FileSystem, desired: NodeState) {
  const d = filesDriver(fs);
  const exec = fakeExec();
  const observed = { ...emptyNodeState(), ...(await d.observe(exec, desired)) };
  const plan = diffNode(desired, observed);
  for (const s of d.scripts(plan)) await s.run(exec);
  assert.equal(exec.calls.length, 0, "the files driver runs no command");
  return plan;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "krt-files-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("compile: one script per changed file, sorted by path, showing mode and content", () => {
  const plan = {
    ...emptyPlan(),
    files: [
      { op: "update" as const, key: "/etc/cni/net.d/10-kuberouter.conflist", before: { path: "/etc/cni/net.d/10-kuberouter.conflist", content: "{}", mode: 0o644 }, after: { path: "/etc/cni/net.d/10-kuberouter.conflist", content: CNI, mode: 0o644 } },
      { op: "create" as const, key: "/a/secret", after: { path: "/a/secret", content: "x", mode: 0o600 } },
    ],
  };
  const scripts = filesScripts(plan, new MemoryFileSystem());
  assert.deepEqual(scripts.map((s) => [s.order, s.title]), [[ORDER.files, "file /a/secret"], [ORDER.files, "file /etc/cni/net.d/10-kuberouter.conflist"]]);
  assert.equal(scripts[0]!.text, "write /a/secret (mode 0600)\nx\n");
  assert.equal(scripts[1]!.text, `write /etc/cni/net.d/10-kuberouter.conflist (mode 0644)\n${CNI}`);
  assert.equal(formatMode(0o4755), "04755");
  assert.deepEqual(filesScripts(emptyPlan(), new MemoryFileSystem()), []);
});

test("observe: only desired paths are read; a missing file is absent", async () => {
  const fs = new MemoryFileSystem({ "/etc/a": { content: "A", mode: 0o644 }, "/etc/other": { content: "O", mode: 0o644 } });
  const got = await filesDriver(fs).observe(fakeExec(), withFiles([{ path: "/etc/a", content: "B", mode: 0o600 }, { path: "/etc/missing", content: "M", mode: 0o644 }]));
  assert.deepEqual([...got.files!.values()], [{ path: "/etc/a", content: "A", mode: 0o644 }]);
});

test("sync over memory: content or mode changes are written, then nothing", async () => {
  // Given one file with old content, one with the wrong mode, one missing, one already right
  const fs = new MemoryFileSystem({
    "/c/old": { content: "old", mode: 0o644 }, "/c/mode": { content: "m", mode: 0o666 }, "/c/ok": { content: "ok", mode: 0o644 },
  });
  const desired = withFiles([
    { path: "/c/old", content: "new", mode: 0o644 }, { path: "/c/mode", content: "m", mode: 0o644 },
    { path: "/c/new", content: CNI, mode: 0o644 }, { path: "/c/ok", content: "ok", mode: 0o644 },
  ]);
  // When synced
  const plan = await sync(fs, desired);
  // Then three writes, and the file system holds the desired files
  assert.deepEqual(plan.files.map((c) => `${c.op} ${c.key}`), ["update /c/mode", "create /c/new", "update /c/old"]);
  assert.equal(fs.writes, 3);
  for (const f of desired.files.values()) assert.deepEqual(fs.read(f.path), { content: f.content, mode: f.mode });
  // And a second sync writes nothing
  assert.equal((await sync(fs, desired)).files.length, 0);
  assert.equal(fs.writes, 3);
});

test("sync over memory: a failed write surfaces as an error and leaves the old file", async () => {
  const fs = new MemoryFileSystem({ "/c/f": { content: "old", mode: 0o644 } });
  fs.failWrites = true;
  await assert.rejects(sync(fs, withFiles([{ path: "/c/f", content: "new", mode: 0o644 }])), /ENOSPC/);
  assert.deepEqual(fs.read("/c/f"), { content: "old", mode: 0o644 });
});

test("real fs: atomic write creates the parent, honours the mode despite the umask, leaves no temp file", () => withTempDir((dir) => {
  const fs = realFileSystem();
  const path = join(dir, "etc", "cni", "net.d", "10-kuberouter.conflist");
  const old = process.umask(0o077);
  try {
    // Given a missing parent directory and a restrictive umask
    // When written with mode 0644
    fs.writeAtomic(path, CNI, 0o644);
  } finally {
    process.umask(old);
  }
  // Then the file has exactly the content and mode, and is the only entry in its directory
  assert.equal(readFileSync(path, "utf8"), CNI);
  assert.equal(statSync(path).mode & 0o7777, 0o644);
  assert.deepEqual(readdirSync(join(dir, "etc", "cni", "net.d")), ["10-kuberouter.conflist"]);
  assert.deepEqual(fs.read(path), { content: CNI, mode: 0o644 });
}));

test("real fs: overwrite replaces content and mode by rename (a new inode, never rewritten in place)", () => withTempDir((dir) => {
  const fs = realFileSystem();
  const path = join(dir, "f.conf");
  writeFileSync(path, "old\n");
  chmodSync(path, 0o666);
  const inodeBefore = statSync(path).ino;
  fs.writeAtomic(path, "new\n", 0o600);
  assert.equal(readFileSync(path, "utf8"), "new\n");
  assert.equal(statSync(path).mode & 0o7777, 0o600);
  assert.notEqual(statSync(path).ino, inodeBefore, "replaced by rename, not rewritten in place");
  assert.deepEqual(readdirSync(dir), ["f.conf"]);
}));

test("real fs: read of a missing file is undefined; of a directory throws", () => withTempDir((dir) => {
  const fs = realFileSystem();
  assert.equal(fs.read(join(dir, "nope")), undefined);
  mkdirSync(join(dir, "d"));
  assert.throws(() => fs.read(join(dir, "d")), /not a regular file/);
}));

test("real fs: a failed write throws, keeps the old file and leaves no temp file", () => withTempDir((dir) => {
  const fs = realFileSystem();
  // Given a target that is a non-empty directory, so the final rename must fail
  const path = join(dir, "target");
  mkdirSync(path);
  writeFileSync(join(path, "keep"), "x");
  // When written
  assert.throws(() => fs.writeAtomic(path, "content", 0o644), /EISDIR|ENOTEMPTY|EEXIST/);
  // Then nothing but the original entry remains
  assert.deepEqual(readdirSync(dir), ["target"]);
  // And a parent that is a file fails before any temp file is made
  writeFileSync(join(dir, "plain"), "p");
  assert.throws(() => fs.writeAtomic(join(dir, "plain", "child"), "c", 0o644), /EEXIST|ENOTDIR/);
  assert.deepEqual(readdirSync(dir).sort(), ["plain", "target"]);
}));

test("real fs: a full sync through the driver converges in a temp dir", async () => {
  const dir = mkdtempSync(join(tmpdir(), "krt-files-"));
  try {
    const fs = realFileSystem();
    const desired = withFiles([{ path: join(dir, "net.d", "10-kuberouter.conflist"), content: CNI, mode: 0o644 }]);
    assert.equal((await sync(fs, desired)).files.length, 1);
    assert.equal((await sync(fs, desired)).files.length, 0);
    chmodSync(join(dir, "net.d", "10-kuberouter.conflist"), 0o600);
    assert.deepEqual((await sync(fs, desired)).files.map((c) => c.op), ["update"]);
    assert.equal(statSync(join(dir, "net.d", "10-kuberouter.conflist")).mode & 0o7777, 0o644);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
