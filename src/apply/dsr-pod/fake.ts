/**
 * Fakes for the DSR tunnel driver: a container runtime that knows container PIDs, and an
 * `nsenter` tool (FakeTool) that keeps each pod namespace's tunnel links and addresses,
 * interpreting exactly the commands `reconcileDsrPods` runs.
 *
 * @category apply
 */
import type { ExecResult } from "../exec.ts";
import type { FakeTool } from "../fake.ts";
import type { ContainerRuntime } from "./driver.ts";

/** Container ID → PID; an unknown container has no running process. */
export function fakeRuntime(pids: ReadonlyMap<string, number> | "any" = "any"): ContainerRuntime {
  return {
    async pidOf(id) {
      const pid = pids === "any" ? 1000 + (id.length % 100) : pids.get(id);
      if (pid === undefined) throw new Error(`no running process for container ${id} (pid "")`);
      return pid;
    },
  };
}

/** `nsenter -t PID -n ip|sysctl …` over per-PID link and address sets. */
export class FakeNsenter implements FakeTool {
  /** pid → link name → addresses */
  readonly netns = new Map<number, Map<string, Set<string>>>();

  handles(cmd: string): boolean {
    return cmd === "nsenter";
  }

  run(_cmd: string, args: readonly string[], stdin: string): ExecResult {
    const pid = Number(args[1]);
    const ns = this.netns.get(pid) ?? new Map<string, Set<string>>();
    this.netns.set(pid, ns);
    const rest = args.slice(3);
    if (rest[0] === "ip" && rest[1] === "link" && rest[2] === "show") {
      return ns.has(rest[3] ?? "") ? { code: 0, stdout: `1: ${rest[3]}: <UP>\n`, stderr: "" } : { code: 1, stdout: "", stderr: `Device "${rest[3]}" does not exist.\n` };
    }
    if (rest[0] === "ip" && rest[1] === "-batch") {
      for (const line of stdin.split("\n").filter((l) => l.trim() !== "")) {
        const w = line.split(/\s+/);
        if (w[0] === "link" && w[1] === "add") {
          if (ns.has(w[2]!)) return { code: 1, stdout: "", stderr: "RTNETLINK answers: File exists\nCommand failed -:1\n" };
          ns.set(w[2]!, new Set());
        } else if (w[0] === "address" && w[1] === "replace") {
          const dev = ns.get(w[4]!);
          if (dev === undefined) return { code: 1, stdout: "", stderr: `Cannot find device "${w[4]}"\n` };
          dev.add(w[2]!);
        } else if (!(w[0] === "link" && w[1] === "set")) return { code: 1, stdout: "", stderr: `unknown command ${line}\n` };
      }
      return { code: 0, stdout: "", stderr: "" };
    }
    if (rest[0] === "sysctl") return { code: 0, stdout: "", stderr: "" };
    return { code: 1, stdout: "", stderr: `nsenter: ${rest.join(" ")}: not handled by fake\n` };
  }
}
