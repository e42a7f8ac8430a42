/**
 * MemoryFileSystem: an in-memory FileSystem for tests. Writes replace a file whole (as the
 * real atomic write does); `writes` counts them; `failWrites` makes every write throw
 * without changing anything (a full disk).
 *
 * @category apply
 */
import type { FileRead, FileSystem } from "./fs.ts";

export class MemoryFileSystem implements FileSystem {
  private readonly files = new Map<string, FileRead>();
  writes = 0;
  failWrites = false;

  constructor(initial: Readonly<Record<string, FileRead>> = {}) {
    for (const [p, f] of Object.entries(initial)) this.files.set(p, f);
  }

  read(path: string): FileRead | undefined {
    return this.files.get(path);
  }

  writeAtomic(path: string, content: string, mode: number): void {
    if (this.failWrites) throw new Error(`${path}: ENOSPC: no space left on device (fake)`);
    this.writes++;
    this.files.set(path, { content, mode: mode & 0o7777 });
  }
}
