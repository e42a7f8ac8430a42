/**
 * Standby processes of the real Exec: for a few stdin-fed write command lines (the agent's
 * `ip -force -batch -`), processes started ahead and waiting on their stdin, so a write that
 * matters for latency (learned routes after a BGP event) does not pay the fork, exec and the
 * tool's own start on its critical path. A standby reads nothing until it is taken: the tool
 * sees the script exactly as a fresh process would.
 *
 * Guarantees: at most `count` processes wait per line; a taken one is replaced after it
 * exited (off the taker's critical path); waiting processes never keep Node's event loop
 * alive, and when Node exits they read end-of-file and exit 0 (no script). A line whose
 * standby dies before being taken (tool missing, killed) is not started again: its calls
 * spawn as usual. `close()` ends every waiting process.
 *
 * @category apply
 */
import type { Readable, Writable } from "node:stream";
import { type RunningTool, startTool } from "./exec-process.ts";

/** A command line to keep `count` processes of, started and waiting on stdin. */
export interface StandbyLine {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly count: number;
}

/** A line as the pool keeps it: the spawned file and argv (namespace wrapper applied), and how many wait. */
export interface PoolLine {
  readonly line: readonly [file: string, argv: readonly string[]];
  readonly count: number;
}

const keyOf = (file: string, argv: readonly string[]): string => [file, ...argv].join("\0");

type Handle = { ref(): void; unref(): void };
const streamsOf = (t: RunningTool): Handle[] =>
  [t.child.stdin, t.child.stdout, t.child.stderr].filter((s): s is Writable & Readable & Handle => s !== null && typeof (s as Partial<Handle>).unref === "function");

/** Whether `tool` (its process and pipes) keeps Node's event loop alive. */
function hold(tool: RunningTool, on: boolean): void {
  for (const h of [tool.child, ...streamsOf(tool)]) if (on) h.ref(); else h.unref();
}

interface Slot {
  readonly line: PoolLine;
  readonly waiting: Set<RunningTool>;
  broken: boolean;
}

export class StandbyPool {
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  /** Starts `count` processes of every line now. */
  constructor(lines: readonly PoolLine[]) {
    for (const line of lines) {
      const slot: Slot = { line, waiting: new Set(), broken: false };
      this.slots.set(keyOf(...line.line), slot);
      this.fill(slot);
    }
  }

  /** A waiting process of exactly `file argv`, now counted as the caller's (its stdin to write and end), or undefined. */
  take(file: string, argv: readonly string[]): RunningTool | undefined {
    if (this.closed) return undefined;
    const slot = this.slots.get(keyOf(file, argv));
    if (slot === undefined) return undefined;
    let tool: RunningTool | undefined;
    for (const t of slot.waiting) {
      slot.waiting.delete(t);
      // one that exited (its close not yet seen) is skipped, not fed a script it would never read
      if (t.child.exitCode === null && t.child.signalCode === null) { tool = t; break; }
    }
    if (tool === undefined) return undefined;
    hold(tool, true);
    void tool.exited.then(() => setImmediate(() => this.fill(slot)));
    return tool;
  }

  /** Ends every waiting process (end-of-file on its stdin); resolves once they exited. Takes nothing after. */
  async close(): Promise<void> {
    this.closed = true;
    const ending: Promise<unknown>[] = [];
    for (const slot of this.slots.values()) {
      for (const tool of slot.waiting) {
        hold(tool, true); // its exit is awaited: the event loop must stay up for it
        tool.child.stdin?.end();
        ending.push(tool.exited);
      }
      slot.waiting.clear();
    }
    await Promise.all(ending);
  }

  private fill(slot: Slot): void {
    while (!this.closed && !slot.broken && slot.waiting.size < slot.line.count) {
      let tool: RunningTool;
      try {
        tool = startTool(slot.line.line[0], slot.line.line[1]);
      } catch {
        slot.broken = true;
        return;
      }
      hold(tool, false);
      slot.waiting.add(tool);
      // died while waiting (never taken): this line gets no more standbys
      void tool.exited.then(() => {
        if (slot.waiting.delete(tool) && !this.closed) slot.broken = true;
      });
    }
  }
}
