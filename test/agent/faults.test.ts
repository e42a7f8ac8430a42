/**
 * The agent under faults (issue 17), each on the real kernel in its own network namespace with
 * the built CLI: the xtables lock held by another process, the CNI config directory read-only,
 * the state directory unwritable, and ipset refusing to destroy a set a foreign rule still
 * references. Each fault is named in one line and everything else is applied. Read-only
 * directories are read-only bind mounts inside a private mount namespace (`unshare -m`; root
 * ignores file modes), so the host's file systems are never touched; the xtables lock is a
 * private lock file (`XTABLES_LOCKFILE`), never the host's /run/xtables.lock.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../support/cli.ts";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";

const GOLDEN = join(import.meta.dirname, "../golden");
const INGRESS = join(GOLDEN, "firewall-ingress/cluster.yaml");

let dir = "";
const nss: string[] = [];
const live = new Set<ChildProcess>();

before(() => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-faults-"));
});
after(() => {
  for (const p of live) p.kill("SIGKILL");
  for (const ns of nss) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh node netns with eth0 at 10.250.0.11 and a work dir of its own. */
function node(tag: string): { ns: string; work: string } {
  const ns = addNetns(tag);
  nss.push(ns);
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
  const work = join(dir, ns);
  mkdirSync(join(work, "cni"), { recursive: true });
  return { ns, work };
}

interface Run { readonly code: number; readonly stderr: string; readonly ms: number }

/**
 * `kube-router --once` (firewall only) in `ns`; `readOnly` paths are bind-mounted read-only in
 * a private mount namespace first.
 */
function once(ns: string, work: string, o: { snapshot?: string; extra?: string[]; env?: Record<string, string>; readOnly?: string[] } = {}): Run {
  const args = ["--once", "--snapshot", o.snapshot ?? INGRESS, "--hostname-override", "node1", "--run-router=false", "--run-service-proxy=false", "--state-dir", join(work, "state"), ...(o.extra ?? [])];
  const mounts = (o.readOnly ?? []).map((p) => `mount --bind -o ro '${p}' '${p}' && `).join("");
  const t0 = Date.now();
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", `${mounts}exec ip netns exec ${ns} "$@"`, "sh", process.execPath, CLI, ...args], {
    encoding: "utf8", timeout: 60_000, env: { ...process.env, KUBE_ROUTER_CNI_CONF_FILE: join(work, "cni", "10-kuberouter.conf"), ...o.env },
  });
  return { code: r.status ?? -1, stderr: r.stderr, ms: Date.now() - t0 };
}

const lines = (r: Run, prefix: string) => r.stderr.split("\n").filter((l) => l.startsWith(prefix));
const ourChains = (ns: string, tool = "iptables-nft") => nsSh(ns, `${tool}-save -t filter`).split("\n").filter((l) => /^:KUBE-(ROUTER|NWPLCY|POD-FW)/.test(l)).length;
const ipsets = (ns: string) => nsSh(ns, "ipset list -n").split("\n").filter((l) => l !== "").sort();

test("given another process holding the xtables lock for 10 s, when --once syncs with the legacy backend, then the restore waits (--wait) and succeeds once the lock is free", { skip: kernelSkip }, async () => {
  const { ns, work } = node("lock");
  const lock = join(work, "xtables.lock");
  writeFileSync(lock, "");
  // Given the lock (a private lock file: XTABLES_LOCKFILE, as iptables honours it) held for 10 s
  const holder = spawn("flock", [lock, "sleep", "10"], { stdio: "ignore" });
  live.add(holder);
  const released = new Promise<number>((r) => holder.on("exit", () => { live.delete(holder); r(Date.now()); }));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  // When --once syncs (in a child process, so this one keeps its event loop)
  const run = new Promise<Run>((resolve) => {
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, "--once", "--snapshot", INGRESS, "--hostname-override", "node1", "--run-router=false", "--run-service-proxy=false", "--iptables-backend=legacy", "--state-dir", join(work, "state")], {
      stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, XTABLES_LOCKFILE: lock, KUBE_ROUTER_CNI_CONF_FILE: join(work, "cni", "10-kuberouter.conf") },
    });
    let stderr = "";
    p.stderr!.on("data", (b: Buffer) => { stderr += b.toString("utf8"); });
    p.on("exit", (code) => resolve({ code: code ?? -1, stderr, ms: Date.now() - t0 }));
  });
  const r = await run;
  const freedAt = await released;
  // Then it exited 0 only after the lock was released, with every chain applied
  assert.equal(r.code, 0, r.stderr);
  assert.ok(t0 + r.ms >= freedAt, `exited ${freedAt - t0 - r.ms} ms before the lock was released`);
  assert.ok(r.ms >= 9_000, `took ${r.ms} ms`);
  assert.equal(ourChains(ns, "iptables-legacy"), 10);
});

test("given the CNI config directory read-only, when --once syncs, then one line names the file, the other tables are applied, and the next sync writes it", { skip: kernelSkip }, () => {
  const { ns, work } = node("cni");
  const cni = join(work, "cni");
  // When --once syncs (router on: it owns the CNI config) with the directory mounted read-only
  const router = ["--run-router=true"];
  const r = once(ns, work, { readOnly: [cni], extra: router });
  // Then it exits 1 with one error line naming the file
  assert.equal(r.code, 1, r.stderr);
  const errors = lines(r, "error: ");
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, new RegExp(`${join(cni, "10-kuberouter.conf").replace(/[.]/g, "\\.")}.*(EROFS|read-only)`, "i"));
  // and the chains, sets and routes were applied
  assert.equal(ourChains(ns), 10);
  assert.ok(ipsets(ns).includes("kube-router-pod-subnets"), ipsets(ns).join(" "));
  assert.match(nsSh(ns, "ip route show proto 17"), /10\.244\.2\.0\/24 via 10\.250\.0\.12/);
  assert.ok(!existsSync(join(cni, "10-kuberouter.conf")));
  // When the directory is writable again, the next sync writes the file
  const again = once(ns, work, { extra: router });
  assert.equal(again.code, 0, again.stderr);
  assert.match(readFileSync(join(cni, "10-kuberouter.conf"), "utf8"), /"type": "bridge"/);
});

test("given the state directory unwritable (read-only), when --once syncs, then one warning names the file and the sync is applied (exit 0)", { skip: kernelSkip }, () => {
  const { ns, work } = node("state");
  const state = join(work, "state");
  mkdirSync(state);
  // When --once syncs with the state directory mounted read-only
  const r = once(ns, work, { readOnly: [state] });
  // Then the sync is applied and one warning names the file it could not write
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r, "warning: state dir"), [`warning: state dir: cannot write ${join(state, "last-sync.json")} (EROFS); the sync itself is applied`]);
  assert.equal(ourChains(ns), 10);
});

test("given a foreign rule referencing one of our ipsets, when a sync deletes that set and others, then one line names the set and why, and every other set and chain is removed", { skip: kernelSkip }, () => {
  const { ns, work } = node("ipset");
  // Given a node synced with three owned sets, one referenced by a rule we do not own
  assert.equal(once(ns, work).code, 0);
  const ours = ipsets(ns);
  assert.equal(ours.length, 3);
  const held = ours[1]!;
  nsSh(ns, `iptables-nft -A INPUT -m set --match-set ${held} src -m comment --comment foreign-uses-our-set -j ACCEPT`);
  // When a sync removes every policy (so every set is deleted)
  const empty = join(work, "no-policies.yaml");
  writeFileSync(empty, readFileSync(INGRESS, "utf8").split(/^---$/m).filter((d) => !/kind: NetworkPolicy/.test(d)).join("---"));
  const r = once(ns, work, { snapshot: empty });
  // Then one error line names the set and the kernel's reason
  assert.equal(r.code, 1, r.stderr);
  const errors = lines(r, "error: ");
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, new RegExp(`cannot destroy ${held} \\(Set cannot be destroyed: it is in use by a kernel component\\): a rule we do not own still references it`));
  // and the other sets are gone, the held one kept, the foreign rule untouched
  assert.deepEqual(ipsets(ns), [held]);
  assert.match(nsSh(ns, "iptables-nft -S INPUT"), /foreign-uses-our-set/);
  // When the foreign rule goes, the next sync destroys the set
  nsSh(ns, `iptables-nft -D INPUT -m set --match-set ${held} src -m comment --comment foreign-uses-our-set -j ACCEPT`);
  const again = once(ns, work, { snapshot: empty });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(ipsets(ns), []);
});
