/**
 * The README's flag table is generated from the declarations (flag-table.ts): this test fails
 * when README.md differs, and `UPDATE_README=1` rewrites the block between the markers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { TABLE_BEGIN, TABLE_END, flagCounts, flagTableMarkdown } from "../../src/agent/flag-table.ts";

const README = new URL("../../README.md", import.meta.url);
const UPDATE = process.env["UPDATE_README"] === "1";

test("README's flag table is the one generated from the flag declarations", () => {
  // Given README.md with one generated block
  const text = readFileSync(README, "utf8");
  const begin = text.indexOf(TABLE_BEGIN);
  const end = text.indexOf(TABLE_END);
  assert.ok(begin >= 0 && end > begin, `README.md lacks the markers ${TABLE_BEGIN} … ${TABLE_END}`);
  // When the table is generated now
  const want = flagTableMarkdown();
  const have = text.slice(begin, end + TABLE_END.length);
  if (UPDATE && have !== want) writeFileSync(README, text.slice(0, begin) + want + text.slice(end + TABLE_END.length));
  // Then the block is exactly it (run with UPDATE_README=1 to rewrite it)
  else assert.equal(have, want, "README flag table is stale: run UPDATE_README=1 node --import tsx --test test/agent/flag-table.test.ts");
});

test("the table lists all 79 upstream flags, each working or refused", () => {
  const { works, refused } = flagCounts();
  assert.equal(works + refused, 79);
  assert.equal(flagTableMarkdown().split("\n").filter((l) => l.startsWith("| `--")).length, 79);
});
