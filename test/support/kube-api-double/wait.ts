/** Polling helpers for asynchronous tests: bounded, never leave a timer behind. */
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` every `everyMs` until it returns true; throws with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 5000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

export { sleep };
