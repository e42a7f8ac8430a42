/**
 * A snapshot file that is empty or holds no Node for this host says so naming the file (issue
 * 17), end to end: the built CLI, `--once --dry-run`, in a fresh network namespace. Dry-run
 * writes nothing to the kernel: the namespace has no rule, set or route of ours afterwards.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { addNetns, delNetns, kernelSkip, nsSh } from "../support/netns.ts";

let dir = "";
let ns = "";

before(() => {
  if (kernelSkip) return;
  dir = mkdtempSync(join(tmpdir(), "krt-snaphost-"));
  ns = addNetns("snaph");
  nsSh(ns, "ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.250.0.11/24 dev eth0 && ip link set eth0 up");
});
after(() => {
  if (ns) delNetns(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const OTHER_NODE = `apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.250.0.12}]}
`;

/** `--once --dry-run` on `text` as node1: exit code, the warning lines, and whether the kernel has anything of ours. */
function dryRun(name: string, text: string): { file: string; code: number; warnings: string[]; stderr: string; kernel: string } {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = runCli(["--once", "--dry-run", "--snapshot", file, "--hostname-override", "node1", "--run-service-proxy=false", "--state-dir", join(dir, "state")], {
    ns, env: { KUBE_ROUTER_CNI_CONF_FILE: join(dir, "cni", "10-kuberouter.conf") },
  });
  const kernel = [nsSh(ns, "iptables-nft-save 2>/dev/null | grep -c KUBE- || true").trim(), nsSh(ns, "ipset list -n").trim(), nsSh(ns, "ip route show proto 17").trim()].join("|");
  return { file, code: r.code, warnings: r.stderr.split("\n").filter((l) => l.startsWith("warning: ") && l.includes(file)), stderr: r.stderr, kernel };
}

test("given an empty snapshot file, when --once --dry-run runs, then one warning names the file and says it is empty, and the kernel is untouched", { skip: kernelSkip }, () => {
  const r = dryRun("empty.yaml", "");
  assert.deepEqual(r.warnings, [`warning: ${r.file}: the snapshot is empty: no Node node1 for this host`], r.stderr);
  assert.equal(r.kernel, "0||");
});

test("given a snapshot file holding only another node, when --once --dry-run runs, then one warning names the file and the missing Node, and the kernel is untouched", { skip: kernelSkip }, () => {
  const r = dryRun("other-node.yaml", OTHER_NODE);
  assert.deepEqual(r.warnings, [`warning: ${r.file}: no Node node1 for this host (its name: --hostname-override, else NODE_NAME, else the hostname)`], r.stderr);
  assert.equal(r.kernel, "0||");
});
