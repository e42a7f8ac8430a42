/**
 * IPVS driver over the semantic fake, as properties: from any owned state plus foreign
 * services, one sync reaches desired (one restore at most), foreign services are untouched,
 * a second sync plans nothing and writes nothing; a one-real-server change compiles to lines
 * naming only that real server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fakeExec } from "../../src/apply/fake.ts";
import type { ExecResult } from "../../src/apply/exec.ts";
import { compileIpvs } from "../../src/apply/ipvs/compile.ts";
import { ipvsDriver } from "../../src/apply/ipvs/driver.ts";
import { FakeConntrack, FakeIpvsadm } from "../../src/apply/ipvs/fake.ts";
import { parseIpvsSave } from "../../src/apply/ipvs/parse.ts";
import { diffNode, isEmptyPlan } from "../../src/model/plan.ts";
import { emptyNodeState } from "../../src/model/state.ts";
import { sortedTable } from "../../src/model/table.ts";
import { observeWith, syncWith } from "../support/driver-sync.ts";
import { SERVICE_CIDRS, arbForeign, arbIpvsState, nodeWith, union } from "./ipvs-gen.ts";

/** `ip` answers: no kube-dummy-if addresses; DSR rules for every generated fwmark. */
const fakeIp = {
  handles: (cmd: string) => cmd === "ip",
  run: (_c: string, args: readonly string[]): ExecResult => ({
    code: 0,
    stdout: args.includes("rule") ? JSON.stringify([1, 4660, 16383].map((m) => ({ fwmark: `0x${m.toString(16)}`, table: "78" }))) : "[]",
    stderr: "",
  }),
};

test("property: one sync reaches desired, leaves foreign services alone, and a resync writes nothing", async () => {
  await fc.assert(fc.asyncProperty(arbIpvsState, arbIpvsState, arbForeign, async (from, to, foreign) => {
    // Given the fake holding `from` + foreign services
    const ipvs = new FakeIpvsadm();
    ipvs.run("ipvsadm", ["--restore"], compileIpvs(diffNode(nodeWith(union(from, foreign)), emptyNodeState())).restore);
    // When the driver syncs `to`
    const exec = fakeExec(ipvs, new FakeConntrack(), fakeIp);
    await syncWith([ipvsDriver({ serviceCidrs: SERVICE_CIDRS })], exec, nodeWith(to));
    // Then at most one restore ran and the table is exactly to + foreign
    assert.ok(exec.calls.filter((c) => c.cmd === "ipvsadm" && c.write).length <= 1);
    const got = parseIpvsSave(ipvs.dump());
    const want = union(to, foreign);
    assert.deepEqual(got.services, sortedTable(want.ipvsServices));
    assert.deepEqual(got.reals, sortedTable(want.ipvsReals));
    // And the next sync plans nothing and writes nothing
    const again = fakeExec(ipvs, fakeIp);
    assert.ok(isEmptyPlan(await syncWith([ipvsDriver({ serviceCidrs: SERVICE_CIDRS })], again, nodeWith(to))));
    assert.equal(again.writes(), 0);
  }), { numRuns: 300 });
});

test("property: changing one real server's weight compiles to one line naming only that real server", async () => {
  await fc.assert(fc.asyncProperty(arbIpvsState.filter((s) => s.ipvsReals.size > 0), fc.nat(), async (s, i) => {
    const keys = [...s.ipvsReals.keys()];
    const k = keys[i % keys.length]!;
    const r = s.ipvsReals.get(k)!;
    const changed = { ...s, ipvsReals: new Map(s.ipvsReals).set(k, { ...r, weight: r.weight + 1 }) };
    const ipvs = new FakeIpvsadm();
    ipvs.run("ipvsadm", ["--restore"], compileIpvs(diffNode(nodeWith(s), emptyNodeState())).restore);
    const plan = diffNode(nodeWith(changed), await observeWith([ipvsDriver({ serviceCidrs: SERVICE_CIDRS })], fakeExec(ipvs, fakeIp), nodeWith(changed)));
    const lines = compileIpvs(plan).restore.split("\n").filter(Boolean);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^-e .* -r ${r.address.includes(":") ? `\\[${r.address}\\]` : r.address.replace(/\./g, "\\.")}:${r.port} .* -w ${r.weight + 1}$`));
  }), { numRuns: 200 });
});
