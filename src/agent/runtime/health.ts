/**
 * /healthz: the agent is healthy once the cluster source has every kind's initial list and
 * every lane (enabled, built controller) has completed a successful sync, and while each keeps
 * completing one within its period plus grace. A sync in progress is not a failure: while the
 * loop is busy, a lane that is waiting its turn is not late (a long full sync at scale must not
 * get the pod killed). A sync running longer than `hungAfterMs` is reported.
 *
 * A synced source whose watch the API refuses (403/401: a role without `watch`) is unhealthy
 * too, naming resource and verb: it would never see another change. A passing outage of a
 * synced source (5xx, 429, connection refused) is not: the node keeps its last state, the
 * informers back off (honouring Retry-After) and relist when the API answers again, so
 * /healthz stays 200 through it (test/e2e/api-faults.test.ts) — a restart would only lose the
 * cache and add list load to an API server that is already struggling.
 *
 * Pure (`evaluateHealth`); served as `200 OK` or `500 Unhealthy: <reason>; <reason>`.
 *
 * @category agent
 */
import type { SourceStatus } from "../../sources/source.ts";
import type { Refusal } from "../flag-status.ts";
import type { Reply } from "./http.ts";
import type { LaneState } from "./schedule.ts";

export interface HealthInput {
  readonly now: number;
  readonly source: SourceStatus | undefined;
  readonly lanes: readonly LaneState[];
  /** Start of the sync in progress, if any (any lane). */
  readonly busySince: number | undefined;
  /** Added to each lane's period (and to its last sync's duration) before it counts as late. */
  readonly graceMs: number;
  /** A sync running longer than this is reported as hung. */
  readonly hungAfterMs: number;
  /** Refused flags (flag-status.ts); those of owners with a lane are reported through the lane. */
  readonly refused?: readonly Refusal[];
  /** Informational lines (a driver's role: `lballoc: standby …`); never make it unhealthy. */
  readonly notes?: readonly string[];
}

export interface Health {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly notes?: readonly string[];
}

/** A source error the API server will keep giving (RBAC, credentials): not a passing outage. */
const FORBIDDEN = /HTTP 40[13]\b/;

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Evaluates health; reasons are one short line each, naming the controller. */
export function evaluateHealth(h: HealthInput): Health {
  const reasons: string[] = [];
  if (h.source !== undefined && !h.source.synced) {
    reasons.push(`cluster source not synced yet${h.source.error ? `: ${h.source.error}` : " (waiting for the initial list)"}`);
  } else if (h.source?.error !== undefined && FORBIDDEN.test(h.source.error)) {
    // synced, but a watch the API refuses (RBAC) never delivers a change: the node goes stale
    reasons.push(`cluster source: ${h.source.error}`);
  }
  const busy = h.busySince !== undefined;
  if (busy && h.now - h.busySince! > h.hungAfterMs) reasons.push(`a sync has been running for ${secs(h.now - h.busySince!)}`);
  const laned = new Set<string>(h.lanes.map((l) => l.spec.name));
  for (const r of h.refused ?? []) if (!laned.has(r.owner)) reasons.push(`${r.owner === "agent" ? "agent" : `controller ${r.owner}`}: refused: ${r.line}`);
  for (const l of h.lanes) {
    const name = l.spec.name;
    if (l.spec.refused !== undefined) { reasons.push(`controller ${name}: refused: ${l.spec.refused}`); continue; }
    const err = l.lastError ? `: ${l.lastError}` : "";
    if (l.lastSuccessAt === undefined) {
      reasons.push(`controller ${name}: no successful sync yet${l.failures > 0 ? ` (${l.failures} failed)` : ""}${err}`);
      continue;
    }
    const limit = l.spec.periodMs + h.graceMs + (l.lastDurationMs ?? 0);
    const age = h.now - l.lastSuccessAt;
    if (age > limit && !busy) reasons.push(`controller ${name}: last successful sync ${secs(age)} ago (limit ${secs(limit)})${err}`);
  }
  return { ok: reasons.length === 0, reasons, ...(h.notes && h.notes.length > 0 ? { notes: h.notes } : {}) };
}

/** The HTTP reply for a health evaluation (upstream's bodies: `OK` / `Unhealthy`). */
export function healthReply(h: Health): Reply {
  const notes = (h.notes ?? []).map((n) => `${n}\n`).join("");
  return h.ok ? { status: 200, body: `OK\n${notes}` } : { status: 500, body: `Unhealthy: ${h.reasons.join("; ")}\n${notes}` };
}
