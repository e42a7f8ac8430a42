/**
 * One sync reads each dump once: an Exec that answers a read-only call (no stdin, not a
 * write) it already ran with the same command line from the first answer, so host facts and
 * the drivers' observe share `ip -d -j addr show` and the like (issue 15). Writes and calls
 * with stdin always run. Made per sync (engine.ts), so no answer outlives the sync that read
 * it; a failed read is not kept (the next caller runs it again and sees its own error).
 *
 * Read-ahead: given a ReadAhead, the sync starts every read the previous full sync made the
 * moment it begins, so the dumps run while host facts are parsed and the controllers render
 * (a no-op resync is then as long as its longest dump plus our parsing, not the sum of the
 * host phase and the observe). A read started ahead is as fresh as one started a few
 * milliseconds later (no write happens in between: reads are shared only until observe
 * ends). One the drivers no longer ask for is wasted work, never a wrong answer.
 *
 * @category apply
 */
import type { Exec, ExecOptions, ExecResult } from "./exec.ts";

/** One read-only command line (with the exit codes it accepts). */
export interface ReadCall { readonly cmd: string; readonly args: readonly string[]; readonly okCodes?: readonly number[] }

/** An agent's memory of the reads its last full sync made (held across syncs; see above). */
export class ReadAhead {
  private calls: readonly ReadCall[] = [];
  /** The reads to start at the next full sync's beginning. */
  planned(): readonly ReadCall[] { return this.calls; }
  /** Replaces the memory with one sync's reads (in the order they were first asked for). */
  remember(calls: readonly ReadCall[]): void { this.calls = calls; }
}

/** `exec` with read-only calls deduplicated for this object's lifetime; `used()` lists them. */
export function sharedReads(exec: Exec, ahead?: ReadAhead): Exec & { used(): readonly ReadCall[] } {
  const answers = new Map<string, Promise<ExecResult>>();
  const used: ReadCall[] = [];
  const keyOf = (cmd: string, args: readonly string[], okCodes: readonly number[] = []): string => `${cmd}\0${args.join("\0")}\0${okCodes.join(",")}`;
  const start = (key: string, cmd: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> => {
    const p = exec.run(cmd, args, opts);
    answers.set(key, p);
    p.catch(() => answers.delete(key));
    return p;
  };
  for (const c of ahead?.planned() ?? []) {
    try {
      start(keyOf(c.cmd, c.args, c.okCodes), c.cmd, c.args, c.okCodes ? { okCodes: c.okCodes } : {});
    } catch {
      // an Exec that throws instead of rejecting: the driver that asks runs it and gets the error
    }
  }
  const asked = new Set<string>();
  return {
    run(cmd, args, opts = {}) {
      if (opts.write === true || opts.stdin !== undefined) return exec.run(cmd, args, opts);
      const key = keyOf(cmd, args, opts.okCodes);
      if (!asked.has(key)) {
        asked.add(key);
        used.push({ cmd, args: [...args], ...(opts.okCodes ? { okCodes: [...opts.okCodes] } : {}) });
      }
      return answers.get(key) ?? start(key, cmd, args, opts);
    },
    used: () => used,
  };
}
