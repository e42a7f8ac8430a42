/**
 * Kernel: the canonical-form catalog (canonical.ts) is what iptables-save really prints, on
 * both backends, and feeding the canonical form back saves the same line (a renderer that
 * emits `canonical` converges). Runs in throwaway network namespaces; needs root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { CANONICAL_RULES, CATALOG_IPSETS, type CanonicalRule } from "../../src/apply/iptables/canonical.ts";
import { parseOwned } from "../../src/apply/iptables/parse.ts";
import { kernelSkip, nsSh, withNetns } from "../support/netns.ts";

const CHAIN = "KUBE-ROUTER-CAT";

/** Runs a tool in the namespace with stdin; returns stdout, throws with stderr. */
function nsRun(ns: string, cmd: string, args: string[], stdin = ""): string {
  return execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { input: stdin, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

/** Appends `rule` to a fresh CHAIN (and declares the KUBE- chain it jumps to), returns the saved line. */
function savedLine(ns: string, mode: string, c: CanonicalRule, rule: string): string {
  const tool = c.family === "ipv4" ? "iptables" : "ip6tables";
  const target = /-j (KUBE-\S+)/.exec(rule)?.[1];
  const decl = target ? `:${target} - [0:0]\n` : "";
  nsRun(ns, `${tool}-${mode}-restore`, ["--noflush", "--wait"], `*${c.table}\n${decl}:${CHAIN} - [0:0]\n-A ${CHAIN} ${rule}\nCOMMIT\n`);
  const dump = nsRun(ns, `${tool}-${mode}-save`, ["-t", c.table]); // the table exists already: -t creates nothing
  const lines = dump.split("\n").filter((l) => l.startsWith(`-A ${CHAIN} `) || l === `-A ${CHAIN}`);
  assert.equal(lines.length, 1, dump);
  const parsed = parseOwned(c.family, dump).chains.get(`${c.family}/${c.table}/${CHAIN}`);
  assert.deepEqual(parsed?.rules, [c.canonical], `parsed form of ${rule}`);
  return lines[0]!;
}

for (const mode of ["nft", "legacy"] as const) {
  test(`catalog: iptables-save prints every catalog rule as recorded (${mode})`, { skip: kernelSkip }, async () => {
    await withNetns(`ipt-cat-${mode}`, (ns) => {
      // Given the ipsets the rules reference
      for (const s of CATALOG_IPSETS) nsSh(ns, `ipset create ${s.name} ${s.type}${s.family === "inet6" ? " family inet6" : ""}`);
      const mismatches: string[] = [];
      for (const c of CANONICAL_RULES) {
        // When the input form is appended and saved
        const want = `-A ${CHAIN} ${c.saved ?? c.canonical}`;
        const got = savedLine(ns, mode, c, c.input);
        // Then the raw line is the catalog's
        if (got !== want) mismatches.push(`${c.family} ${c.table} ${c.input}\n  want ${want}\n  got  ${got}`);
        // And the canonical form, fed back, saves the same line
        const again = savedLine(ns, mode, c, c.canonical);
        if (again !== want) mismatches.push(`${c.family} ${c.table} canonical ${c.canonical}\n  want ${want}\n  got  ${again}`);
      }
      assert.deepEqual(mismatches, []);
    });
  });
}
