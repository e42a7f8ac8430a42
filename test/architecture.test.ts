/**
 * Layering (DESIGN.md §3): src/model and src/render are pure — they import no node:* module
 * except node:crypto, no effect/pino/grpc/prom-client, and only types from the Kubernetes
 * client; src/model imports nothing of ours outside src/model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const list = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? list(join(dir, n)) : n.endsWith(".ts") ? [join(dir, n)] : []));
const BANNED = /from\s+["'](node:(?!crypto["'])[^"']*|effect[^"']*|pino|@grpc\/[^"']*|prom-client|@kubernetes\/client-node)["']/;
const imports = (src: string) => [...src.matchAll(/^(?!\s*\*)\s*import\s+(type\s+)?[^;]*?from\s+["']([^"']+)["']/gm)];

for (const layer of ["src/model", "src/render"]) {
  for (const file of list(join(root, layer))) {
    test(`pure layer: ${file.slice(root.length + 1)} imports no I/O`, () => {
      const src = readFileSync(file, "utf8");
      for (const m of imports(src)) {
        if (m[1]) continue; // `import type` is erased
        assert.doesNotMatch(`from "${m[2]}"`, BANNED, `${file}: ${m[0]}`);
      }
      assert.doesNotMatch(src, /\b(Date\.now|new Date\(|Math\.random|process\.)/, `${file} reads the clock, randomness or the process`);
    });
  }
}

for (const file of list(join(root, "src/model"))) {
  test(`model layer: ${file.slice(root.length + 1)} imports only model`, () => {
    for (const m of imports(readFileSync(file, "utf8"))) {
      const spec = m[2]!;
      if (spec.startsWith(".")) assert.ok(!spec.startsWith("..") , `${file} imports ${spec}`);
    }
  });
}

// The shell's layers: drivers and sources never reach up into render or the agent, and render
// never into apply or the agent (DESIGN.md §3: model ← render ← agent; model ← apply ← agent).
const UPWARD: Readonly<Record<string, RegExp>> = {
  "src/apply": /^(\.\.\/)+(render|agent|sources)\//,
  "src/sources": /^(\.\.\/)+(render|agent|apply)\//,
  "src/render": /^(\.\.\/)+(apply|agent|sources)\//,
};
for (const [layer, banned] of Object.entries(UPWARD)) {
  for (const file of list(join(root, layer))) {
    test(`layer: ${file.slice(root.length + 1)} imports no layer above or beside it`, () => {
      for (const m of imports(readFileSync(file, "utf8"))) assert.doesNotMatch(m[2]!, banned, `${file}: ${m[0]}`);
    });
  }
}
