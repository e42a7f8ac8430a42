/**
 * NodePlan → one `sysctl -w name=value …` script (ORDER.sysctls, title `sysctl`), keys
 * sorted; [] when no sysctl changes. Pure. Sysctls are never deleted (plan.ts).
 * Running it: the tool sets every key it can and exits non-zero if any failed (unknown key,
 * invalid value), which surfaces as an ExecError naming the first failure.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { ORDER, type Script } from "../driver.ts";
import { sysctlName } from "./keys.ts";

export function sysctlScripts(plan: NodePlan): Script[] {
  const args = [...plan.sysctls]
    .flatMap((c) => (c.op === "delete" ? [] : [c.after]))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((s) => `${sysctlName(s.path)}=${s.value}`);
  if (args.length === 0) return [];
  const argv = ["-w", ...args];
  return [{
    order: ORDER.sysctls,
    title: "sysctl",
    text: `${["sysctl", ...argv].map(shellQuote).join(" ")}\n`,
    run: async (exec) => {
      await exec.run("sysctl", argv, { write: true });
    },
  }];
}

/** Quotes a word for a POSIX shell when it needs it (dry-run text only). */
function shellQuote(w: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}
