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
import type { KubeHttp } from "../../model/kube-http.ts";
import { kubeCall } from "../kube-call.ts";

export interface LeaseRecord {
  readonly resourceVersion: string;
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions: number;
}

/** The Lease calls the elector makes (real: leaseApi over the API). */
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

type RawLease = { metadata?: { resourceVersion?: unknown }; spec?: Record<string, unknown> };
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
/** A time as metav1.MicroTime wants it: RFC 3339 with exactly six fractional digits. */
const microTime = (t: string): string => new Date(Date.parse(t)).toISOString().replace(/Z$/, "000Z");

/** The Lease `name` in `namespace` over the API (`/apis/coordination.k8s.io/v1`). */
export function leaseApi(http: KubeHttp, namespace: string, name: string = LEASE_NAME): LeaseApi {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    async read() {
      const a = await kubeCall(http, `read ${namespace}/${name}`, { method: "GET", path: `${base}/${encodeURIComponent(name)}` }, [200, 404]);
      if (a.status === 404) return undefined;
      const l = (a.body ?? {}) as RawLease;
      const spec = l.spec ?? {};
      const acquireTime = text(spec["acquireTime"]);
      const renewTime = text(spec["renewTime"]);
      return {
        resourceVersion: text(l.metadata?.resourceVersion) ?? "",
        holderIdentity: text(spec["holderIdentity"]) ?? "",
        leaseDurationSeconds: num(spec["leaseDurationSeconds"]),
        ...(acquireTime ? { acquireTime } : {}),
        ...(renewTime ? { renewTime } : {}),
        leaseTransitions: num(spec["leaseTransitions"]),
      };
    },
    async write(next, resourceVersion) {
      const body = {
        apiVersion: "coordination.k8s.io/v1", kind: "Lease",
        metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
        spec: {
          holderIdentity: next.holderIdentity, leaseDurationSeconds: next.leaseDurationSeconds, leaseTransitions: next.leaseTransitions,
          ...(next.acquireTime ? { acquireTime: microTime(next.acquireTime) } : {}),
          ...(next.renewTime ? { renewTime: microTime(next.renewTime) } : {}),
        },
      };
      const call = resourceVersion === undefined ? { method: "POST" as const, path: base, body } : { method: "PUT" as const, path: `${base}/${encodeURIComponent(name)}`, body };
      const a = await kubeCall(http, `write ${namespace}/${name}`, call, [200, 201, 409]);
      return a.status === 409 ? "conflict" : "ok";
    },
  };
}
