/**
 * One sync reads each dump once: an Exec that answers a read-only call (no stdin, not a
 * write) it already ran with the same command line from the first answer, so host facts and
 * the drivers' observe share `ip -d -j addr show` and the like (issue 15). Writes and calls
 * with stdin always run. Made per sync (engine.ts), so no answer outlives the sync that read
 * it; a failed read is not kept (the next caller runs it again and sees its own error).
 *
 * @category apply
 */
import type { Exec, ExecResult } from "./exec.ts";

/** `exec` with read-only calls deduplicated for this object's lifetime. */
export function sharedReads(exec: Exec): Exec {
  const answers = new Map<string, Promise<ExecResult>>();
  return {
    run(cmd, args, opts = {}) {
      if (opts.write === true || opts.stdin !== undefined) return exec.run(cmd, args, opts);
      const key = `${cmd}\0${args.join("\0")}\0${(opts.okCodes ?? []).join(",")}`;
      const known = answers.get(key);
      if (known !== undefined) return known;
      const p = exec.run(cmd, args, opts);
      answers.set(key, p);
      p.catch(() => answers.delete(key));
      return p;
    },
  };
}
