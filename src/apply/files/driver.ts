/**
 * The files driver: table `files` (the CNI config). Files cannot be listed as owned, so
 * observe reads exactly the desired paths (content and mode); a missing file is absent.
 * Apply writes each changed file atomically through the FileSystem (fs.ts), by default the
 * real one. Failure modes: observe throws if a path cannot be read or is not a regular file.
 *
 * @category apply
 */
import type { ManagedFile } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import type { Driver } from "../driver.ts";
import { filesScripts } from "./compile.ts";
import { type FileSystem, realFileSystem } from "./fs.ts";

export function filesDriver(fs: FileSystem = realFileSystem()): Driver {
  return {
    name: "files",
    tables: ["files"],
    async observe(_exec, desired) {
      const out: [string, ManagedFile][] = [];
      for (const path of desired.files.keys()) {
        const f = fs.read(path);
        if (f !== undefined) out.push([path, { path, content: f.content, mode: f.mode }]);
      }
      return { files: sortedTable(out) };
    },
    scripts: (plan) => filesScripts(plan, fs),
  };
}
