/**
 * The agent's logger: pino, JSON lines on stdout, no transports (no worker threads).
 * Shape: `{"level":"info","time":"2025-…Z","node":"node1","component":"kube-router","msg":…}`
 * plus stable keys (`controller`, `controllers`, `syncId`, `mode`, `table`, `op`, `key`).
 * `-v`/`--v` maps to the level: 0 → info, 1–2 → debug (full plans), ≥3 → trace (every exec).
 *
 * @category agent
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** The pino level for a klog verbosity. */
export function levelForVerbosity(v: number): "info" | "debug" | "trace" {
  return v >= 3 ? "trace" : v >= 1 ? "debug" : "info";
}

export interface LoggerOptions {
  readonly node: string;
  readonly v: number;
  /** Where lines go; default stdout (synchronous writes, so nothing is lost at exit). */
  readonly dest?: DestinationStream;
}

/** Creates the agent logger. */
export function makeLogger(o: LoggerOptions): Logger {
  return pino(
    {
      level: levelForVerbosity(o.v),
      base: { node: o.node, component: "kube-router" },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["token", "*.token", "password", "*.password"], censor: "[redacted]" },
    },
    o.dest ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A destination that keeps every line in memory (tests). `lines()` parses them. */
export function memoryDestination(): DestinationStream & { readonly text: string[]; lines(): Record<string, unknown>[] } {
  const text: string[] = [];
  return {
    text,
    write(s: string) { text.push(s); },
    lines: () => text.flatMap((t) => t.split("\n")).filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
