/**
 * FileSystem: how the files driver reads and writes managed files, so tests can swap in the
 * in-memory one (fake.ts). The real one writes atomically: a reader sees the old content or
 * the new content, never a partial file, and no temp file is left behind.
 *
 * @category apply
 */
import { closeSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A file's content (UTF-8) and permission bits (`mode & 0o7777`). */
export interface FileRead {
  readonly content: string;
  readonly mode: number;
}

export interface FileSystem {
  /** The file's content and mode; undefined if it does not exist. Throws for a non-regular file or an I/O error. */
  read(path: string): FileRead | undefined;
  /** Replaces the file with `content` and permission bits `mode`, atomically; creates missing parent directories. Throws on failure, leaving the old file in place. */
  writeAtomic(path: string, content: string, mode: number): void;
}

let tmpCounter = 0;

/**
 * The real file system. writeAtomic: creates the parent directory (mode 0755) if missing,
 * writes `.<name>.<pid>.<n>.tmp` in the same directory (exclusive create), fsyncs it, sets
 * the mode (after the umask, explicitly), renames it over the target and fsyncs the
 * directory. On any failure the temp file is removed and the error rethrown.
 */
export function realFileSystem(): FileSystem {
  return {
    read(path) {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw new Error(`${path}: not a regular file`);
        return { content: readFileSync(fd, "utf8"), mode: st.mode & 0o7777 };
      } finally {
        closeSync(fd);
      }
    },
    writeAtomic(path, content, mode) {
      const dir = dirname(path);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const tmp = join(dir, `.${basename(path)}.${process.pid}.${tmpCounter++}.tmp`);
      let created = false;
      try {
        const fd = openSync(tmp, "wx", 0o600);
        created = true;
        try {
          writeFileSync(fd, content, "utf8");
          fsyncSync(fd);
          fchmodSync(fd, mode & 0o7777);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
        created = false;
      } finally {
        if (created) {
          try {
            unlinkSync(tmp);
          } catch { /* already gone */ }
        }
      }
      const dfd = openSync(dir, "r");
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    },
  };
}
