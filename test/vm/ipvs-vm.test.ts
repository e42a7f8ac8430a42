/**
 * The IPVS tier (and every other real-kernel test this host's kernel cannot run: the overlay's
 * ipip / ip6tnl / fou tunnels, test/vm-guest/overlay-tunnels.test.ts): boots the qemu VM ONCE
 * (scripts/vm/run-guest-tests.mjs) and runs every
 * test/vm-guest/*.test.ts inside it with node's test runner, then reports each guest test as
 * a test of this file, so guest tests count in the CI summary and a guest failure fails here
 * with the guest's message. Skipped with the reason when qemu or the guest kernel is missing
 * (`.ci/run` installs them: qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
 * xz-utils ipvsadm).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
// @ts-expect-error: plain ESM script without types
import { guestTestFiles, runGuestTests } from "../../scripts/vm/run-guest-tests.mjs";

interface TapTest {
  readonly name: string;
  readonly ok: boolean;
  readonly skip?: string;
  readonly todo?: boolean;
  readonly detail: string;
  readonly children: TapTest[];
}

/** Parses node's TAP reporter output into a tree (indentation = nesting, 4 spaces a level). */
export function parseTap(tap: string): TapTest[] {
  const root: TapTest[] = [];
  const pending: TapTest[][] = [root];
  const lines = tap.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^( *)(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)\b ?(.*))?$/.exec(line);
    if (m) {
      const depth = m[1]!.length / 4;
      // the YAML block right after: keep it as the detail
      let detail = "";
      if (lines[i + 1]?.trim() === "---") {
        let j = i + 2;
        while (j < lines.length && lines[j]!.trim() !== "...") detail += `${lines[j++]!.trim()}\n`;
        i = j;
      }
      const children = pending[depth + 1] ?? [];
      pending.length = depth + 1;
      const t: TapTest = { name: m[3]!.replace(/\\#/g, "#"), ok: m[2] === "ok", ...(m[4] === "SKIP" ? { skip: m[5] || "skipped" } : {}), ...(m[4] === "TODO" ? { todo: true } : {}), detail, children };
      (pending[depth] ??= []).push(t);
      continue;
    }
    const sub = /^( *)# Subtest: /.exec(line);
    if (sub) {
      const depth = sub[1]!.length / 4;
      pending.length = depth + 1;
      pending[depth + 1] = [];
    }
  }
  return root;
}

/** Guest tests to report: a file-level wrapper (older node) is replaced by its children. */
function flatten(tests: readonly TapTest[]): { name: string; t: TapTest }[] {
  return tests.flatMap((t) => (/\.test\.ts$/.test(t.name) && t.children.length > 0 ? t.children.map((c) => ({ name: `${t.name.split("/").pop()} › ${c.name}`, t: c })) : [{ name: t.name, t }]));
}

const files: string[] = guestTestFiles();
const run = files.length > 0 ? await runGuestTests(files) : { skipped: "no test/vm-guest/*.test.ts" };

if ("skipped" in run && run.skipped) {
  // CI installs qemu and the guest kernel (.ci/run sets KRT_REQUIRE_VM=1): there, a VM that
  // cannot start is a failure, never a silent skip.
  const required = process.env["KRT_REQUIRE_VM"] === "1";
  test("IPVS VM tier", required ? {} : { skip: `${run.skipped}` }, () => {
    assert.fail(`the IPVS VM is required here (KRT_REQUIRE_VM=1) but cannot run: ${run.skipped}`);
  });
} else {
  const r = run as { code: number; tap: string; stderr: string; console: string; wallMs: number };
  const results = flatten(parseTap(r.tap));
  const wall = (r.wallMs / 1000).toFixed(1);
  for (const { name, t } of results) {
    const opts = t.skip !== undefined ? { skip: `guest: ${t.skip}` } : t.todo ? { todo: true } : {};
    test(`vm: ${name}`, opts, () => {
      if (!t.ok) {
        const err = /^error: (.*)$/m.exec(t.detail)?.[1] ?? "";
        const stack = t.detail.split("\n").filter((l) => /^at |expected|actual|\+|-/.test(l)).slice(0, 20).join("\n");
        assert.fail(`guest test failed: ${err}\n${stack || t.detail}`);
      }
    });
  }
  test(`vm: the guest run completed (one boot, ${wall} s, ${results.length} guest tests)`, () => {
    const tail = `${r.stderr.split("\n").slice(-20).join("\n")}\n--- console ---\n${r.console.split("\n").slice(-25).join("\n")}`;
    assert.ok(results.length > 0, `the guest reported no test (exit ${r.code})\n${tail}`);
    const failed = results.filter((x) => !x.t.ok).length;
    assert.ok(r.code === 0 || failed > 0, `guest runner exit ${r.code} without a failed test\n${tail}`);
  });
}
