/**
 * NodePlan → one Script per created or updated file (ORDER.files, title `file <path>`),
 * sorted by path; [] when no file changes. Pure. The text shows the write:
 * `write <path> (mode 0644)` then the content. Running it writes through the FileSystem
 * (the Exec is not used); a failed write throws and leaves the old file.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { ORDER, type Script } from "../driver.ts";
import type { FileSystem } from "./fs.ts";

export function filesScripts(plan: NodePlan, fs: FileSystem): Script[] {
  return plan.files
    .flatMap((c) => (c.op === "delete" ? [] : [c.after]))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({
      order: ORDER.files,
      title: `file ${f.path}`,
      text: `write ${f.path} (mode ${formatMode(f.mode)})\n${f.content}${f.content.endsWith("\n") || f.content === "" ? "" : "\n"}`,
      run: async () => {
        fs.writeAtomic(f.path, f.content, f.mode);
      },
    }));
}

/** `0o644` → `0644`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}
