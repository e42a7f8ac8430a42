/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
 * (upstream kube-router's lballoc: Lease `kube-router-lballoc` in POD_NAMESPACE, identity
 * POD_NAME, lease 15 s, renew deadline 10 s, retry 2 s), written here in a few lines:
 *
 * - every `retryMs` each candidate reads the Lease; it takes or renews it with a replace
 *   conditioned on the resourceVersion it read (create when missing; a 409 loses the round);
 * - a Lease held by another is free once its record has not changed for `leaseMs` as seen
 *   by this candidate's own clock (renewTime of other clocks is never compared with ours);
 * - the holder is leader while its last successful renew is younger than `renewMs`;
 * - `stop()` releases a held Lease (holder cleared, duration 1 s) so another takes it at once.
 *
 * @category apply
 */
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";

export interface LeaseRecord {
  readonly resourceVersion: string;
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions: number;
}

/** The Lease calls the elector makes (real: leaseApi over CoordinationV1Api). */
export interface LeaseApi {
  read(): Promise<LeaseRecord | undefined>;
  /** Create (no precondition: 409 when it exists) or replace conditioned on `resourceVersion`. */
  write(next: Omit<LeaseRecord, "resourceVersion">, resourceVersion: string | undefined): Promise<"ok" | "conflict">;
}

export interface ElectorOptions {
  readonly identity: string;
  readonly leaseMs?: number;
  readonly renewMs?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
  /** Told each change of leadership (true: this candidate leads now). */
  readonly onChange?: (leader: boolean) => void;
  /** The Lease's name in messages (default LEASE_NAME, the allocator's). */
  readonly leaseName?: string;
  /** Told a failed round (one line), e.g. the API unreachable or forbidden. */
  readonly onError?: (line: string) => void;
}

export const LEASE_NAME = "kube-router-lballoc";

const iso = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, "000Z");

export class LeaseElector {
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private lastRenew: number | undefined;
  private seen: { key: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> = Promise.resolve();
  private wasLeader = false;

  constructor(private readonly api: LeaseApi, private readonly o: ElectorOptions) {
    this.leaseMs = o.leaseMs ?? 15_000;
    this.renewMs = o.renewMs ?? 10_000;
    this.retryMs = o.retryMs ?? 2_000;
    this.now = o.now ?? Date.now;
  }

  get identity(): string {
    return this.o.identity;
  }

  /** True while this candidate holds the Lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.lastRenew !== undefined && this.now() - this.lastRenew < this.renewMs;
  }

  /** Starts the rounds (the first at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = () => {
      if (!this.running) return;
      this.round = this.tryOnce().finally(() => {
        this.notify();
        if (this.running) this.timer = setTimeout(tick, this.retryMs);
      });
    };
    tick();
  }

  /** Stops the rounds and releases the Lease if held; never rejects. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.round.catch(() => undefined);
    if (this.isLeader()) {
      try {
        const cur = await this.api.read();
        if (cur && cur.holderIdentity === this.o.identity) {
          const now = this.now();
          await this.api.write({ holderIdentity: "", leaseDurationSeconds: 1, ...(cur.acquireTime ? { acquireTime: cur.acquireTime } : {}), renewTime: iso(now), leaseTransitions: cur.leaseTransitions }, cur.resourceVersion);
        }
      } catch { /* best effort */ }
    }
    this.lastRenew = undefined;
    this.notify();
  }

  /** One round: acquire or renew. Never rejects. */
  async tryOnce(): Promise<void> {
    const now = this.now();
    try {
      const cur = await this.api.read();
      if (cur === undefined) {
        const r = await this.api.write({ holderIdentity: this.o.identity, leaseDurationSeconds: Math.round(this.leaseMs / 1000), acquireTime: iso(now), renewTime: iso(now), leaseTransitions: 0 }, undefined);
        if (r === "ok") this.lastRenew = now;
        return;
      }
      const key = `${cur.holderIdentity}|${cur.renewTime ?? ""}|${cur.resourceVersion}`;
      if (this.seen?.key !== key) this.seen = { key, at: now };
      const mine = cur.holderIdentity === this.o.identity;
      const durationMs = (cur.leaseDurationSeconds > 0 ? cur.leaseDurationSeconds : this.leaseMs / 1000) * 1000;
      if (!mine && cur.holderIdentity !== "" && this.seen.at + durationMs > now) {
        this.lastRenew = undefined;
        return;
      }
      const r = await this.api.write({
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.round(this.leaseMs / 1000),
        acquireTime: mine && cur.acquireTime ? cur.acquireTime : iso(now),
        renewTime: iso(now),
        leaseTransitions: mine ? cur.leaseTransitions : cur.leaseTransitions + 1,
      }, cur.resourceVersion);
      if (r === "ok") this.lastRenew = now;
    } catch (e) {
      this.o.onError?.(`Lease ${this.o.leaseName ?? LEASE_NAME}: ${String((e as Error).message ?? e).split("\n")[0]}`);
    }
  }

  private notify(): void {
    const leader = this.isLeader();
    if (leader !== this.wasLeader) {
      this.wasLeader = leader;
      this.o.onChange?.(leader);
    }
  }
}

const codeOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : undefined;
};
const timeText = (t: unknown): string | undefined => (t instanceof Date ? t.toISOString() : typeof t === "string" ? t : undefined);

/** The Lease `name` in `namespace` over client-node's CoordinationV1Api. */
export function leaseApi(coord: CoordinationV1Api, namespace: string, name: string = LEASE_NAME): LeaseApi {
  return {
    async read() {
      let l: V1Lease;
      try {
        l = await coord.readNamespacedLease({ name, namespace });
      } catch (e) {
        if (codeOf(e) === 404) return undefined;
        throw new Error(`read ${namespace}/${name}: ${String((e as Error).message).split("\n")[0]!.slice(0, 200)}`);
      }
      const acquireTime = timeText(l.spec?.acquireTime);
      const renewTime = timeText(l.spec?.renewTime);
      return {
        resourceVersion: l.metadata?.resourceVersion ?? "",
        holderIdentity: l.spec?.holderIdentity ?? "",
        leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
        ...(acquireTime ? { acquireTime } : {}),
        ...(renewTime ? { renewTime } : {}),
        leaseTransitions: l.spec?.leaseTransitions ?? 0,
      };
    },
    async write(next, resourceVersion) {
      const micro = (t: string | undefined) => (t ? new V1MicroTime(Date.parse(t)) : undefined);
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1", kind: "Lease",
        metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
        spec: {
          holderIdentity: next.holderIdentity, leaseDurationSeconds: next.leaseDurationSeconds, leaseTransitions: next.leaseTransitions,
          ...(next.acquireTime ? { acquireTime: micro(next.acquireTime)! } : {}),
          ...(next.renewTime ? { renewTime: micro(next.renewTime)! } : {}),
        },
      };
      try {
        if (resourceVersion === undefined) await coord.createNamespacedLease({ namespace, body });
        else await coord.replaceNamespacedLease({ name, namespace, body });
        return "ok";
      } catch (e) {
        if (codeOf(e) === 409) return "conflict";
        throw new Error(`write ${namespace}/${name}: ${String((e as Error).message).split("\n")[0]!.slice(0, 200)}`);
      }
    },
  };
}
