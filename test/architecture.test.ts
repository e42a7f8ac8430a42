/**
 * Layering (DESIGN.md §3), checked on every file of src/ by test/support/architecture.ts:
 * src/model and src/render are pure (no node:* but node:crypto, no effect/pino/grpc/
 * prom-client, only types from the Kubernetes client, no clock/randomness/process); src/model
 * imports only src/model; apply, sources and render never import a layer above or beside
 * them; builtins are written `node:x`; production code imports no fake and no test code.
 * Every kind of module reference counts: import, export … from, side-effect and dynamic
 * import, require. The second half feeds the checker synthetic files to prove it catches each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { checkFile, importsOf } from "./support/architecture.ts";

const root = join(import.meta.dirname, "..");
const list = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? list(join(dir, n)) : n.endsWith(".ts") ? [join(dir, n)] : []));

for (const file of list(join(root, "src"))) {
  const rel = relative(root, file).split(sep).join("/");
  test(`architecture: ${rel} keeps the layering rules`, () => {
    assert.deepEqual(checkFile(rel, readFileSync(file, "utf8")), []);
  });
}

/** The violations of a synthetic file, one line each, matched against `want` (one regex per violation). */
function expectViolations(path: string, source: string, want: readonly RegExp[]): void {
  const got = checkFile(path, source);
  assert.equal(got.length, want.length, `${path}: ${JSON.stringify(got)}`);
  want.forEach((w, i) => assert.match(got[i]!, w));
}

test("checker: finds every kind of module reference, and none in comments or strings", () => {
  // Given a file with each kind of reference, plus look-alikes in comments and strings
  const src = [
    `import { a } from "./a.ts";`,
    `import type { B } from "./b.ts";`,
    `import "./c.ts";`,
    `export { d } from "./d.ts";`,
    `export * from "./e.ts";`,
    `export type { F } from "./f.ts";`,
    `const g = await import("./g.ts");`,
    `const h = await import(name);`,
    `import i = require("./i.ts");`,
    `type J = import("./j.ts").J;`,
    `// import "./not-k.ts"`,
    `/** import { x } from "./not-l.ts" */`,
    `const s = 'import "./not-m.ts"';`,
  ].join("\n");
  // When scanned / Then each real reference is found once, with its kind and erasure
  assert.deepEqual(importsOf(src).map((r) => [r.kind, r.spec, r.typeOnly]), [
    ["import", "./a.ts", false],
    ["import", "./b.ts", true],
    ["side-effect", "./c.ts", false],
    ["export", "./d.ts", false],
    ["export", "./e.ts", false],
    ["export", "./f.ts", true],
    ["dynamic", "./g.ts", false],
    ["dynamic", undefined, false],
    ["require", "./i.ts", false],
    ["import-type", "./j.ts", true],
  ]);
});

test("checker: a bare builtin is caught everywhere, and as I/O in a pure layer", () => {
  // Given `from "fs"` (no node: prefix) in a driver and in the model
  // Then the driver is told to write node:fs, the model also that it is pure
  expectViolations("src/apply/x.ts", `import { readFileSync } from "fs";`, [/bare builtin; write "node:fs"/]);
  expectViolations("src/model/x.ts", `import { readFileSync } from "fs";`, [/bare builtin/, /pure layer imports no I\/O/]);
  expectViolations("src/render/x.ts", `import { join } from "path/posix";`, [/bare builtin/, /pure layer/]);
  // And node:crypto stays allowed in the model, node:fs types too
  expectViolations("src/model/x.ts", `import { createHash } from "node:crypto";\nimport type { Stats } from "node:fs";`, []);
});

test("checker: export … from is an import", () => {
  // Given re-exports of I/O and of a layer above
  expectViolations("src/model/x.ts", `export { readFileSync } from "node:fs";`, [/pure layer/]);
  expectViolations("src/render/x.ts", `export * from "../apply/ip/driver.ts";`, [/render never imports src\/apply/]);
  expectViolations("src/model/x.ts", `export { renderNode } from "../render/index.ts";`, [/src\/model imports only src\/model/]);
  // And a type-only re-export of an I/O package is erased, so allowed
  expectViolations("src/render/x.ts", `export type { Logger } from "pino";`, []);
});

test("checker: a side-effect import is an import", () => {
  expectViolations("src/render/x.ts", `import "node:child_process";`, [/pure layer/]);
  expectViolations("src/apply/x.ts", `import "../agent/cli.ts";`, [/apply never imports src\/agent/]);
  expectViolations("src/model/x.ts", `import "pino";`, [/pure layer/]);
});

test("checker: a dynamic import is an import, and a computed one is refused", () => {
  expectViolations("src/model/x.ts", `export const run = async () => (await import("node:child_process")).spawn;`, [/dynamic "node:child_process": a pure layer/]);
  expectViolations("src/sources/x.ts", `const m = await import("../agent/main.ts");`, [/sources never imports src\/agent/]);
  expectViolations("src/agent/x.ts", `const name = "./y.ts";\nconst m = await import(name);`, [/computed specifier/]);
  expectViolations("src/agent/x.ts", `const m = await import("./runtime/cli-agent.ts");`, []);
});

test("checker: production code imports no fake and no test support; fakes may use each other", () => {
  expectViolations("src/apply/driver.ts", `import { FakeIp } from "./ip/fake.ts";`, [/imports no fake/]);
  expectViolations("src/agent/cli.ts", `import type { FakeIpset } from "../apply/ipset/fake.ts";`, [/imports no fake/]);
  expectViolations("src/apply/ip/driver.ts", `export { savedRule } from "../iptables/fake-rule.ts";`, [/imports no fake/]);
  expectViolations("src/agent/x.ts", `import { y } from "./fakes/node.ts";`, [/imports no fake/]);
  expectViolations("src/agent/x.ts", `import { fakeNode } from "../../test/support/fake-node.ts";`, [/no test or bench code/, /imports no fake/]);
  expectViolations("src/agent/x.ts", `const b = await import("../../bench/setup.ts");`, [/no test or bench code/]);
  // a fake builds on other fakes and on production code
  expectViolations("src/apply/ip/fake.ts", `import { FakeKernel } from "./fake-kernel.ts";\nimport { parseAddrShow } from "./parse.ts";`, []);
  // a name merely containing "fake" is not a fake
  expectViolations("src/apply/x.ts", `import { y } from "./unfaked.ts";`, []);
});

test("checker: the purity rules on source text still hold", () => {
  expectViolations("src/render/x.ts", `export const now = () => Date.now();`, [/clock, randomness or the process/]);
  expectViolations("src/agent/x.ts", `export const now = () => Date.now();`, []);
});
