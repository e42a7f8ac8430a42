// Runs every test file under test/ with node's test runner (TypeScript through tsx).
// Node 20's --test takes no globs, so the files are listed here. The runner's closing
// summary ("# pass N", "# fail N") is what CI reads; we also print "N passed, N failed".
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // test/vm-guest/ runs inside the IPVS VM only (test/vm/ipvs-vm.test.ts boots it)
    if (statSync(path).isDirectory()) return name === "golden" || name === "fixtures" || name === "vm-guest" ? [] : find(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}
const only = process.argv.slice(2);
const files = only.length > 0 ? only : find("test").sort();
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=tap", "--test-concurrency=1", ...files],
  { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 28 },
);
process.stdout.write(r.stdout);
const num = (k) => Number(/^# (\w+) (\d+)$/m.test(r.stdout) ? (r.stdout.match(new RegExp(`^# ${k} (\\d+)$`, "m")) ?? [0, 0])[1] : 0);
console.log(`${num("pass")} passed, ${num("fail")} failed`);
process.exit(r.status ?? 1);
