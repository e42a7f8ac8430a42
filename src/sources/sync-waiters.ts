/**
 * The waiting half of `ClusterSource.waitSynced`, shared by every source: callers wait until
 * the source says it is synced (true), it stopped (false) or the timeout passed (false).
 * The source calls `notify()` after anything that may change either answer.
 *
 * @category sources
 */
export class SyncWaiters {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly synced: () => boolean, private readonly stopped: () => boolean) {}

  /** Resolves true once synced, false when stopped or after `timeoutMs`; never rejects. */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.synced()) return Promise.resolve(true);
    if (this.stopped()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = () => {
        if (this.synced()) finish(true);
        else if (this.stopped()) finish(false);
      };
      const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      const finish = (v: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }

  /** Re-checks every waiter (call after a sync or a stop). */
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
