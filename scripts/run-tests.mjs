// Runs every test file under test/ with node's test runner (TypeScript through tsx).
// Node 20's --test takes no globs, so the files are listed here.
//
// Three lanes keep the suite inside CI's budget on a 2-core machine:
//   - the VM tier (test/vm/): boots qemu, which waits on one core; it runs beside the rest;
//   - host-isolated files: no network namespace, kernel table, gobgpd, BIRD or apiserver
//     (decided by what the file mentions, see KERNEL below): two at a time;
//   - kernel files (everything else): one at a time, after the isolated lane, because they
//     create namespaces, servers and kernel objects whose timing bounds assume a quiet core.
// Each lane's TAP stream is printed whole, one lane after the other; the lanes' summaries
// are replaced by one summary for the whole run ("# pass N", "# fail N", and "N passed,
// N failed"), which is what CI reads.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** A file that mentions any of these runs in the serial kernel lane. */
const KERNEL = /netns|gobgpd|apiserver|bird|agent-process|driver-sync|overlay-sync|support\/gobgp|unshare|iptables|ipset/;

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // test/vm-guest/ runs inside the IPVS VM only (test/vm/ipvs-vm.test.ts boots it)
    if (statSync(path).isDirectory()) return name === "golden" || name === "fixtures" || name === "vm-guest" ? [] : find(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Runs node's test runner on `files`; resolves with its stdout and exit code. */
function lane(files, concurrency) {
  if (files.length === 0) return Promise.resolve({ out: "", code: 0 });
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=tap", `--test-concurrency=${concurrency}`, ...files],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => { out += d; });
    child.on("close", (code) => resolve({ out, code: code ?? 1 }));
  });
}

const SUMMARY = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/gm;

const only = process.argv.slice(2);
const files = only.length > 0 ? only : find("test").sort();
const vm = files.filter((f) => f.startsWith("test/vm/"));
const rest = files.filter((f) => !f.startsWith("test/vm/"));
const kernel = rest.filter((f) => KERNEL.test(readFileSync(f, "utf8")));
const isolated = rest.filter((f) => !kernel.includes(f));

const started = Date.now();
const vmRun = lane(vm, 1);
const isolatedRun = await lane(isolated, 2);
const kernelRun = await lane(kernel, 1);
const runs = [isolatedRun, kernelRun, await vmRun];

const totals = {};
for (const r of runs) {
  process.stdout.write(r.out.replace(SUMMARY, (_m, k, n) => {
    totals[k] = (totals[k] ?? 0) + Number(n);
    return `# lane ${k} ${n}`;
  }));
}
for (const k of ["tests", "suites", "pass", "fail", "cancelled", "skipped", "todo"]) console.log(`# ${k} ${totals[k] ?? 0}`);
console.log(`# duration_ms ${Date.now() - started}`);
console.log(`${totals.pass ?? 0} passed, ${totals.fail ?? 0} failed`);
process.exit(runs.every((r) => r.code === 0) ? 0 : 1);
