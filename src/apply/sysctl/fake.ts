/**
 * FakeSysctl: an in-memory `/proc/sys` interpreting `sysctl [-e] name …` (read) and
 * `sysctl [-e] -w name=value …` (write) like procps-ng 4:
 * - read prints `name = value`, multi-value values with tabs as the kernel does; an unknown
 *   key prints `cannot stat` on stderr and exit 1, or is skipped silently with `-e`;
 * - write sets every known key it can, reports each unknown key (silent with `-e`) or
 *   rejected value (`reject` option: `setting key "…": Invalid argument`), and exits 1 if any
 *   failed; it prints `name = value` for each key set.
 * Only keys seeded (constructor or `set`) exist.
 *
 * @category apply
 */
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import { normaliseSysctlValue, sysctlName, sysctlPath } from "./keys.ts";

export interface FakeSysctlOptions {
  /** True for a value the kernel refuses for this path (EINVAL). */
  readonly reject?: (path: string, value: string) => boolean;
}

export class FakeSysctl implements FakeTool {
  private readonly values = new Map<string, string>();

  /** `initial`: `/proc/sys` path → value of the keys that exist. */
  constructor(initial: Readonly<Record<string, string>> = {}, private readonly opts: FakeSysctlOptions = {}) {
    for (const [p, v] of Object.entries(initial)) this.values.set(p, v);
  }

  handles(cmd: string): boolean {
    return cmd === "sysctl";
  }

  /** The value at a path, as stored (undefined if the key does not exist). */
  get(path: string): string | undefined {
    return this.values.get(path);
  }

  /** Creates or sets a key. */
  set(path: string, value: string): void {
    this.values.set(path, value);
  }

  run(_cmd: string, args: readonly string[]): ExecResult {
    let ignoreUnknown = false;
    let write = false;
    const names: string[] = [];
    for (const a of args) {
      if (a === "-e") ignoreUnknown = true;
      else if (a === "-w") write = true;
      else if (a.startsWith("-")) return { code: 1, stdout: "", stderr: `sysctl: unsupported option ${a} (fake)\n` };
      else names.push(a);
    }
    let stdout = "";
    let stderr = "";
    let failed = false;
    for (const arg of names) {
      const eq = arg.indexOf("=");
      if (write && eq < 0) {
        stderr += `sysctl: "${arg}" must be of the form name=value\n`;
        failed = true;
        continue;
      }
      const name = write ? arg.slice(0, eq) : arg;
      const path = sysctlPath(name);
      const have = this.values.get(path);
      if (have === undefined) {
        if (!ignoreUnknown) {
          stderr += `sysctl: cannot stat /proc/sys/${path}: No such file or directory\n`;
          failed = true;
        }
        continue;
      }
      if (write) {
        const value = normaliseSysctlValue(arg.slice(eq + 1));
        if (this.opts.reject?.(path, value)) {
          stderr += `sysctl: setting key "${name}": Invalid argument\n`;
          failed = true;
          continue;
        }
        this.values.set(path, value);
        stdout += `${sysctlName(path)} = ${value}\n`;
      } else stdout += `${sysctlName(path)} = ${have.split(" ").join("\t")}\n`;
    }
    return { code: failed ? 1 : 0, stdout, stderr };
  }
}
