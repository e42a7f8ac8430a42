/**
 * Test support: the layering checker behind test/architecture.test.ts (DESIGN.md §3), pure
 * over source text so its tests can feed it synthetic files.
 *
 * `importsOf` finds every module reference with the TypeScript parser (so comments and
 * strings never count): `import … from`, `import type … from`, side-effect `import "x"`,
 * `export … from` / `export * from`, dynamic `import(…)` (a computed specifier is reported
 * as such), `import x = require(…)`, `require(…)` and type-level `import("x").T`.
 * Only `import type` / `export type` / `import("x").T` count as erased: the project compiles
 * with `verbatimModuleSyntax`, so `import { type A } from "x"` still loads `x` at run time.
 *
 * `checkFile` applies the rules to one file (path relative to the repo, `/`-separated):
 * - everywhere in src/: a Node builtin is written `node:x` (a bare `fs` would slip past the
 *   purity rule); no computed dynamic import (it cannot be checked); no import of test/ or
 *   bench/; a file that is not a fake imports no fake (a file named `fake*.ts` or under a
 *   `fake`/`fakes` folder);
 * - src/model and src/render (pure): no run-time import of a Node builtin but `node:crypto`,
 *   nor of effect, pino, @grpc/*, prom-client or @kubernetes/client-node; no clock,
 *   randomness or process;
 * - src/model imports nothing of ours outside src/model; src/apply never src/render, agent or
 *   sources; src/sources never render, agent or apply; src/render never apply, agent or sources.
 */
import { isBuiltin } from "node:module";
import { posix } from "node:path";
import ts from "typescript";

export type ImportKind = "import" | "side-effect" | "export" | "dynamic" | "require" | "import-type";

/** One module reference; `spec` undefined for a computed dynamic import. */
export interface ImportRef {
  readonly kind: ImportKind;
  readonly spec: string | undefined;
  /** Erased at compile time (`import type`, `export type`, type-level `import("x")`). */
  readonly typeOnly: boolean;
  readonly line: number;
}

/** Every module reference in `source` (a .ts file's text), in source order. */
export function importsOf(source: string, fileName = "file.ts"): ImportRef[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (kind: ImportKind, node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean): void => {
    const text = spec !== undefined && ts.isStringLiteralLike(spec) ? spec.text : undefined;
    out.push({ kind, spec: text, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (node.importClause === undefined) add("side-effect", node, node.moduleSpecifier, false);
      else add("import", node, node.moduleSpecifier, node.importClause.isTypeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add("export", node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add("require", node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add("dynamic", node, node.arguments[0], false);
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require" && node.arguments.length === 1) {
      add("require", node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add("import-type", node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const PURE_LAYERS = ["src/model/", "src/render/"];
const IO_PACKAGE = /^(effect(\/.*)?|pino(\/.*)?|@grpc\/.*|prom-client|@kubernetes\/client-node(\/.*)?)$/;
const IMPURE_CALL = /\b(Date\.now|new Date\(|Math\.random|process\.)/;
/** Layer → the folders of src/ it must never import (DESIGN.md §3: model ← render ← agent; model ← apply ← agent). */
const NEVER: Readonly<Record<string, readonly string[]>> = {
  "src/apply/": ["src/render/", "src/agent/", "src/sources/"],
  "src/sources/": ["src/render/", "src/agent/", "src/apply/"],
  "src/render/": ["src/apply/", "src/agent/", "src/sources/"],
};

/** True for a fake: a file named `fake*.ts` or one under a `fake` or `fakes` folder. */
export function isFake(path: string): boolean {
  const parts = path.split("/");
  return /^fake[^/]*\.ts$/.test(parts.at(-1) ?? "") || parts.slice(0, -1).some((p) => p === "fake" || p === "fakes");
}

/** The violations of one file (`path` relative to the repo root); [] when it keeps every rule. */
export function checkFile(path: string, source: string): string[] {
  if (!path.startsWith("src/")) return [];
  const bad: string[] = [];
  const pure = PURE_LAYERS.some((l) => path.startsWith(l));
  const layer = Object.keys(NEVER).find((l) => path.startsWith(l));
  for (const ref of importsOf(source, path)) {
    const at = `${path}:${ref.line}: ${ref.kind}`;
    if (ref.spec === undefined) {
      bad.push(`${at} of a computed specifier (cannot be checked)`);
      continue;
    }
    const spec = ref.spec;
    if (isBuiltin(spec) && !spec.startsWith("node:")) bad.push(`${at} "${spec}": a bare builtin; write "node:${spec}"`);
    if (pure && !ref.typeOnly && ((isBuiltin(spec) && spec !== "node:crypto") || IO_PACKAGE.test(spec))) {
      bad.push(`${at} "${spec}": a pure layer imports no I/O (only node:crypto, and types)`);
    }
    if (!spec.startsWith(".")) continue;
    const target = posix.normalize(posix.join(posix.dirname(path), spec));
    if (target.startsWith("test/") || target.startsWith("bench/")) bad.push(`${at} "${spec}": production code imports no test or bench code`);
    if (!isFake(path) && isFake(target)) bad.push(`${at} "${spec}": production code imports no fake`);
    if (path.startsWith("src/model/") && !target.startsWith("src/model/")) bad.push(`${at} "${spec}": src/model imports only src/model`);
    for (const banned of layer !== undefined ? NEVER[layer]! : []) {
      if (target.startsWith(banned)) bad.push(`${at} "${spec}": ${layer!.slice(0, -1)} never imports ${banned.slice(0, -1)}`);
    }
  }
  if (pure && IMPURE_CALL.test(source)) bad.push(`${path}: reads the clock, randomness or the process`);
  return bad;
}
