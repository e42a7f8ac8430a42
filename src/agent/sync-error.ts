/**
 * Typed sync errors: every problem a sync reports names its phase (render / observe /
 * apply / verify), and the controller or driver family it belongs to, so the runtime fails
 * exactly the lanes that own tables of a failed driver and keeps the rest healthy.
 * `toString()` is the one line printed and logged.
 *
 * @category agent
 */
import type { ControllerName } from "../model/ownership.ts";
import type { DriverFamily } from "../model/registry.ts";

export type SyncPhase = "render" | "observe" | "apply" | "verify";

export class SyncError {
  constructor(
    readonly phase: SyncPhase,
    /** The line without its phase prefix (already one line). */
    readonly message: string,
    readonly where: { readonly controller?: ControllerName; readonly driver?: DriverFamily; readonly object?: string } = {},
  ) {}

  /** The one line for people: render errors as the renderer wrote them; others prefixed. */
  toString(): string {
    switch (this.phase) {
      case "render": return this.message;
      case "observe": return `observe${this.where.driver ? ` ${this.where.driver}` : ""}: ${this.message}`;
      case "apply": return `apply ${this.where.object ?? this.where.driver ?? ""}: ${this.message}`;
      case "verify": return `not converged after apply: ${this.message}`;
    }
  }

  toJSON(): string {
    return this.toString();
  }
}

/** First line of an error's message. */
export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "failed";
