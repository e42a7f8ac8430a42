// Runs node:test files INSIDE the IPVS qemu VM (Debian's stock kernel under TCG, host root
// shared read-only over 9p; see scripts/vm/run-vm.sh and shared/reference/kernel-testbed.md §B).
//
//   node scripts/vm/run-guest-tests.mjs                          every test/vm-guest/*.test.ts
//   node scripts/vm/run-guest-tests.mjs test/vm-guest/x.test.ts  just these files
//   IVM_TIMEOUT=300 IVM_KEEP_OUT=1 node scripts/vm/run-guest-tests.mjs …
//
// Prints the guest's TAP (node --test --test-reporter=tap) and exits with the guest runner's
// status (0 = all passed; 77 = skipped because qemu or the guest kernel is missing, with the
// reason on stderr). One VM boot runs all the files. Inside the guest: IVM=1, IVM_OUT = a
// host directory shared read-write (write results there; anything else the guest writes stays
// in its RAM overlay), cwd = the repo. Variables named in IVM_PASS_ENV are passed through.
// The whole run is bounded (IVM_TIMEOUT seconds, default 1500) and qemu is always killed by
// its pid (qemu -pidfile) when the run ends or times out.
//
// From a test: `import { runGuestTests, vmPrerequisites } from "../../scripts/vm/run-guest-tests.mjs"`
// (test/vm/ipvs-vm.test.ts reports every guest test as a host test).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "../..");

/** Why the VM cannot run here (undefined when it can): qemu, a Debian kernel with IPVS, static busybox. */
export function vmPrerequisites() {
  const which = (b) => (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, b)));
  if (!which("qemu-system-x86_64")) return "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)";
  let kver;
  try {
    kver = readdirSync("/lib/modules").filter((d) => existsSync(`/lib/modules/${d}/kernel/net/netfilter/ipvs/ip_vs.ko`)).sort().pop();
  } catch { /* no /lib/modules */ }
  if (!kver || !existsSync(`/boot/vmlinuz-${kver}`)) return "no Debian kernel with IPVS modules (apt-get install linux-image-amd64)";
  if (!existsSync("/bin/busybox")) return "busybox-static not installed";
  for (const b of ["cpio", "xz", "modprobe", "ipvsadm"]) if (!which(b)) return `${b} not installed (apt-get install cpio xz-utils kmod ipvsadm)`;
  if (process.getuid?.() !== 0) return "not root";
  return undefined;
}

/** Every guest test file (repo-relative), sorted. */
export function guestTestFiles() {
  const dir = join(REPO, "test/vm-guest");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith(".test.ts")).sort().map((n) => `test/vm-guest/${n}`);
}

function killPid(pid, signal = "SIGKILL") {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

/**
 * Boots the VM once and runs `files` (repo-relative) with node's test runner inside it.
 * Resolves to { skipped } when the VM cannot run here, else
 * { code, tap, stderr, console, wallMs, out } (code 124 on timeout, 125 when the guest produced no exit code).
 */
export async function runGuestTests(files = guestTestFiles(), opts = {}) {
  const rel = files.map((f) => relative(REPO, resolve(REPO, f)));
  return bootAndRun({ IVM_TEST_FILES: rel.join(" ") }, opts);
}

/**
 * Boots the VM once and runs `node --import tsx <args…>` in the guest (cwd = repo); its stdout
 * comes back as `tap` (bench/ipvs-vm.ts runs its guest half this way).
 */
export async function runGuestNode(args, opts = {}) {
  return bootAndRun({ IVM_TEST_FILES: "", IVM_NODE_ARGS: args.join(" ") }, opts);
}

async function bootAndRun(vars, opts) {
  const skipped = vmPrerequisites();
  if (skipped) return { skipped };
  const timeoutS = Number(opts.timeoutS ?? process.env.IVM_TIMEOUT ?? 1500);
  const out = mkdtempSync(join(tmpdir(), "kube-router-ivm-out-"));
  const work = mkdtempSync(join(tmpdir(), "kube-router-ivm-work-"));
  const env = {
    ...process.env,
    ...vars,
    IVM_WORK: work,
    IVM_TIMEOUT: String(timeoutS),
    IVM_REPO: REPO,
    IVM_PASS_ENV: ["IVM_REPO", ...Object.keys(vars), ...(process.env.IVM_PASS_ENV ?? "").split(/\s+/).filter(Boolean)].join(" "),
  };
  const t0 = Date.now();
  const child = spawn(join(HERE, "run-vm.sh"), [join(HERE, "guest-run-tests.sh"), out], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  let consoleText = "";
  child.stdout.on("data", (b) => { consoleText += b; if (opts.echo) process.stderr.write(b); });
  child.stderr.on("data", (b) => { consoleText += b; if (opts.echo) process.stderr.write(b); });
  const qemuPid = () => {
    try { return Number(readFileSync(join(out, "qemu.pid"), "utf8").trim()) || undefined; } catch { return undefined; }
  };
  let timedOut = false;
  // run-vm.sh bounds qemu with timeout(1) too; this is the outer bound (a hung 9p mount, …)
  const timer = setTimeout(() => {
    timedOut = true;
    const q = qemuPid();
    if (q) killPid(q);
    if (child.pid) killPid(child.pid);
  }, (timeoutS + 20) * 1000);
  const code = await new Promise((res) => child.on("close", (c) => res(c ?? 1)));
  clearTimeout(timer);
  const q = qemuPid();
  if (q && existsSync(`/proc/${q}`) && readFileSync(`/proc/${q}/comm`, "utf8").startsWith("qemu")) killPid(q); // never leave qemu behind
  const read = (f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), "utf8") : "");
  const result = { code: timedOut ? 124 : code, tap: read("guest.tap"), stderr: read("guest.stderr"), console: consoleText, wallMs: Date.now() - t0, out };
  rmSync(work, { recursive: true, force: true });
  if (!opts.keepOut && !process.env.IVM_KEEP_OUT) rmSync(out, { recursive: true, force: true });
  return result;
}

// CLI
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  const r = await runGuestTests(files.length > 0 ? files : guestTestFiles(), { echo: !!process.env.IVM_ECHO });
  if (r.skipped) {
    process.stderr.write(`vm: skipped: ${r.skipped}\n`);
    process.exit(77);
  }
  process.stdout.write(r.tap);
  if (r.stderr.trim()) process.stderr.write(r.stderr);
  if (r.code !== 0) process.stderr.write(r.console.split("\n").slice(-30).join("\n") + "\n");
  process.stderr.write(`vm: guest exit=${r.code} wall=${(r.wallMs / 1000).toFixed(1)}s${process.env.IVM_KEEP_OUT ? ` out=${r.out}` : ""}\n`);
  process.exit(r.code);
}

export function isFile(p) {
  try { return statSync(p).isFile(); } catch { return false; }
}
