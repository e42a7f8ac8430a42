/**
 * Canonical serialisation of a ClusterSnapshot: JSON with each map as a list of
 * `[key, value]` entries, in map order. Used to prove the generator deterministic (same size
 * ⇒ same text) and to fingerprint a size in the results file without keeping the text.
 */
import { createHash } from "node:crypto";
import type { ClusterSnapshot } from "../src/model/cluster.ts";

const TABLES = ["nodes", "namespaces", "pods", "services", "endpointSlices", "networkPolicies"] as const;

/** The whole snapshot as one JSON text (small sizes; L is about 100 MB). */
export function snapshotJson(s: ClusterSnapshot): string {
  return JSON.stringify(Object.fromEntries(TABLES.map((t) => [t, [...s[t]]])));
}

/** SHA-256 (hex, first 16 digits) of the canonical serialisation, built one object at a time. */
export function snapshotDigest(s: ClusterSnapshot): string {
  const h = createHash("sha256");
  for (const t of TABLES) {
    h.update(`${t}\n`);
    for (const [k, v] of s[t]) h.update(`${k}\t${JSON.stringify(v)}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

/** Object counts per table (and endpoints in all slices). */
export function snapshotCounts(s: ClusterSnapshot): Record<string, number> {
  let endpoints = 0;
  for (const sl of s.endpointSlices.values()) endpoints += sl.endpoints.length;
  return { ...Object.fromEntries(TABLES.map((t) => [t, s[t].size])), endpoints };
}
