/**
 * Gives a burst's garbage back to the system once the agent goes idle. A full sync at L
 * allocates hundreds of MB that live only during the sync (render scratch, the plan, the
 * scripts); V8 shrinks an idle heap only while the process still allocates a little, so an
 * agent that goes quiet right after a sync kept those pages committed for good (measured at L
 * under --max-old-space-size=512: 550 MiB RSS idle, against ~390 after one full collection).
 *
 * @category agent
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** The runtime's collect-now function (`--expose-gc`'s `gc`, enabled here when not given). */
function collector(): (() => void) | undefined {
  const given = (globalThis as { gc?: () => void }).gc;
  if (typeof given === "function") return given;
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export interface HeapTrimmer {
  /**
   * Runs one full collection when the heap holds more than the last collection left live by
   * `minGrowthBytes` and by a quarter (syncs that allocated little cost nothing). Returns
   * whether it ran.
   * Never throws; a runtime that cannot collect on request makes it a no-op.
   */
  trim(): boolean;
}

/** A trimmer; `minGrowthBytes` (default 32 MiB) is the growth below which `trim` does nothing. */
export function heapTrimmer(minGrowthBytes = 32 * 1024 * 1024): HeapTrimmer {
  const gc = collector();
  let liveAfterLast = 0;
  return {
    trim() {
      if (gc === undefined) return false;
      if (getHeapStatistics().used_heap_size - liveAfterLast < Math.max(minGrowthBytes, liveAfterLast / 4)) return false;
      gc();
      liveAfterLast = getHeapStatistics().used_heap_size;
      return true;
    },
  };
}
