/**
 * Expected reachability, written by hand per case (like upstream's `Reachability` helper in
 * test/e2e/network/netpol): a default (all allowed or all denied), then ordered overrides per
 * source/destination selector and, optionally, per port/protocol. Later overrides win.
 *
 * Selectors: `x/a` one pod, `x/*` a namespace, `*\/a` a pod name in every namespace, `*` all.
 * A pod probing itself goes over its own loopback and never leaves its netns, so the diagonal is
 * always expected reachable (upstream ignores loopback for the same reason). Overrides apply to
 * every probe of both families unless probes are given (`tcp/80` … IPv4, `tcp6/80` … IPv6).
 *
 *   reach(true).deny("*", "x/*").allow("x/b", "x/a", ["tcp/80"])
 */
import { ALL_PODS, ALL_PROBES, type Observed, type PodId, type Probe } from "./topology.ts";

export type Selector = string;

function matches(sel: Selector, id: PodId): boolean {
  if (sel === "*") return true;
  const [ns, pod] = sel.split("/");
  const [ins, ipod] = id.split("/");
  if (ns === undefined || pod === undefined) throw new Error(`bad selector ${sel}: use ns/pod, ns/*, */pod or *`);
  return (ns === "*" || ns === ins) && (pod === "*" || pod === ipod);
}

export class Reach {
  private readonly m: Record<Probe, Record<PodId, Record<PodId, boolean>>>;

  constructor(allowed: boolean) {
    this.m = Object.fromEntries(ALL_PROBES.map((p) => [p, Object.fromEntries(ALL_PODS.map((f) => [f, Object.fromEntries(ALL_PODS.map((t) => [t, allowed]))])) ])) as Reach["m"];
  }

  /** Sets every (from, to) matched by the selectors, on the given probes (default all, both families). */
  set(from: Selector | readonly Selector[], to: Selector | readonly Selector[], allowed: boolean, probes: readonly Probe[] = ALL_PROBES): this {
    const fs = typeof from === "string" ? [from] : from;
    const ts = typeof to === "string" ? [to] : to;
    for (const p of probes) {
      for (const f of ALL_PODS) {
        if (!fs.some((s) => matches(s, f))) continue;
        for (const t of ALL_PODS) if (ts.some((s) => matches(s, t))) this.m[p][f][t] = allowed;
      }
    }
    return this;
  }
  allow(from: Selector | readonly Selector[], to: Selector | readonly Selector[], probes?: readonly Probe[]): this {
    return this.set(from, to, true, probes);
  }
  deny(from: Selector | readonly Selector[], to: Selector | readonly Selector[], probes?: readonly Probe[]): this {
    return this.set(from, to, false, probes);
  }

  /** The expectation for one probe, loopback included (always allowed). */
  get(p: Probe, from: PodId, to: PodId): boolean {
    return from === to ? true : this.m[p][from][to];
  }
}

/** Shorthand for `new Reach(defaultAllowed)`. */
export const reach = (defaultAllowed: boolean) => new Reach(defaultAllowed);

export interface Mismatch {
  readonly probe: Probe;
  readonly from: PodId;
  readonly to: PodId;
  readonly expected: boolean;
  readonly how: string;
}

/** The probes that were run, in a stable order. */
const probesOf = (observed: Observed) => ALL_PROBES.filter((p) => observed[p] !== undefined);

export function compare(expected: Reach, observed: Observed): Mismatch[] {
  const out: Mismatch[] = [];
  for (const p of probesOf(observed)) {
    const matrix = observed[p]!;
    for (const f of ALL_PODS) {
      for (const t of ALL_PODS) {
        const o = matrix[f][t];
        const e = expected.get(p, f, t);
        if (o.ok !== e) out.push({ probe: p, from: f, to: t, expected: e, how: o.how });
      }
    }
  }
  return out;
}

/**
 * A readable diff for the probes that mismatch: expected and observed truth tables side by side
 * (rows = from, columns = to; `.` reachable, `X` blocked, `*` marks a wrong cell) and the list.
 */
export function formatDiff(expected: Reach, observed: Observed, mismatches: readonly Mismatch[]): string {
  const lines: string[] = [];
  const header = `from\\to ${ALL_PODS.map((t) => t.padEnd(4)).join("")}`;
  for (const p of probesOf(observed)) {
    const mine = mismatches.filter((m) => m.probe === p);
    const matrix = observed[p]!;
    if (mine.length === 0) continue;
    lines.push(`${p}: ${mine.length} wrong  (rows: from, columns: to; . reachable, X blocked, * wrong)`);
    lines.push(`  expected${" ".repeat(header.length - 6)}observed`);
    lines.push(`  ${header}  ${header}`);
    for (const f of ALL_PODS) {
      const exp = ALL_PODS.map((t) => (expected.get(p, f, t) ? "." : "X").padEnd(4)).join("");
      const obs = ALL_PODS.map((t) => {
        const o = matrix[f][t];
        return `${o.ok ? "." : "X"}${o.ok !== expected.get(p, f, t) ? "*" : ""}`.padEnd(4);
      }).join("");
      lines.push(`  ${f.padEnd(8)}${exp}  ${f.padEnd(8)}${obs}`);
    }
  }
  lines.push("wrong probes:");
  const MAX = 40;
  if (mismatches.length > MAX) lines.push(`  (first ${MAX} of ${mismatches.length})`);
  for (const m of mismatches.slice(0, MAX)) {
    lines.push(`  ${m.probe} ${m.from} -> ${m.to}: expected ${m.expected ? "reachable" : "blocked"}, observed ${m.expected ? `blocked (${m.how})` : "reachable"}`);
  }
  return lines.join("\n");
}
