/**
 * Semantic fakes: in-memory kernels that interpret the very command lines and batch text the
 * real drivers run (knftables' Fake pattern). Each tool family implements FakeTool; `fakeExec`
 * dispatches calls to the first tool that handles them, so the real drivers run unchanged over
 * a fake kernel. A batch that fails validation changes nothing (like the real restore tools).
 *
 * @category apply
 */
import { type Exec, type ExecCall, type ExecResult, ExecError } from "./exec.ts";

export interface FakeTool {
  /** True if this fake interprets `cmd args…`. */
  handles(cmd: string, args: readonly string[]): boolean;
  /** Interprets one call. Returns the tool's result (non-zero code for errors the tool reports). */
  run(cmd: string, args: readonly string[], stdin: string): ExecResult;
}

/** An Exec over fakes; records calls; an unhandled command fails the call (exit 127). */
export function fakeExec(...tools: FakeTool[]): Exec & { readonly calls: ExecCall[]; writes(): number } {
  const calls: ExecCall[] = [];
  return {
    calls,
    writes: () => calls.filter((c) => c.write).length,
    async run(cmd, args, o = {}) {
      calls.push({ cmd, args, write: o.write === true, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}) });
      const tool = tools.find((t) => t.handles(cmd, args));
      const r = tool ? tool.run(cmd, args, o.stdin ?? "") : { code: 127, stdout: "", stderr: `${cmd}: not handled by fake` };
      if (r.code !== 0 && !o.okCodes?.includes(r.code)) throw new ExecError(cmd, args, r.code, r.stderr);
      return r;
    },
  };
}
