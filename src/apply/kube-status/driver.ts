/**
 * The kube-status driver: table `lbStatus`, the `status.loadBalancer.ingress` of the
 * LoadBalancer Services the allocator handles (render/lballoc), written through the API.
 *
 * - observe: one list of the cluster's Services; reports the status IPs of the Services the
 *   render handles (the `desired` scope), never of others;
 * - apply: one script of all changed Services, one write per Service (16 in flight); each re-reads the Service, re-checks it (still
 *   type LoadBalancer and of our class, status unchanged since the render, or already what
 *   we want), and replaces its status with the resourceVersion it read as precondition;
 *   409 ⇒ read again and re-check (up to 5 tries). Hostname entries of the status are kept.
 *   A no-op sync plans nothing and writes nothing;
 * - dry-run text: `kubectl patch service -n NS NAME --subresource=status --type=merge -p …`;
 * - Events (with `events`): each allocation problem a row carries (render/lballoc REASONS) is
 *   reported once as a Warning Event on its Service while it lasts: a problem is new when its
 *   reason is neither in the row as last applied nor in the driver's record of what it
 *   reported; it ends when the row no longer carries it (a later recurrence is reported
 *   again). Observe reports the record, so a full sync after taking the Lease (record
 *   cleared) reports what is going on once. One create per Event, 8 in flight, after the
 *   status writes, in a best-effort script: a failed write is a counted warning, never a
 *   failed sync, and the sync waits at most 2 s for them (the rest finish in the background);
 * - leader election (lease.ts): with an elector, only the Lease holder writes. A standby
 *   agent reports its scope as observed (nothing to do: it renders, plans nothing and
 *   writes nothing) and, on becoming leader, asks for a full sync at once (`subscribe`);
 * - without an API (`--snapshot`): observe reports the status the snapshot holds (each row's
 *   `current`), the dry-run prints the patches, and apply fails with one line (nothing can
 *   be written without an API server).
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { type LbStatus, type NodeState, lbStatusKey } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import { type Driver, ORDER, type Script, type SyncNotice } from "../driver.ts";
import type { LbProblem } from "../../model/rows.ts";
import { type IngressEntry, type ServiceObject, type ServiceStatusApi, ingressIps } from "./api.ts";
import type { EventApi } from "./events.ts";
import { LEASE_NAME, type LeaseElector } from "./lease.ts";

export interface KubeStatusOptions {
  /** undefined: no API server (`--snapshot`). */
  readonly api?: ServiceStatusApi;
  /** Whether a Service (as read before a write) is one the allocator handles. */
  readonly handles: (svc: Pick<ServiceObject, "type" | "loadBalancerClass">) => boolean;
  /** With one, only the Lease holder writes; built with the driver's leadership callback. */
  readonly elector?: (onChange: (leader: boolean) => void) => LeaseElector;
  /** One line per leadership change and per skipped write. */
  readonly log?: (line: string) => void;
  /** Where allocation problems are reported as Warning Events; none: problems are only logged (by the render). */
  readonly events?: EventApi;
}

const MAX_TRIES = 5;
/** Status writes in flight at once. */
const WRITERS = 16;
/** Event writes in flight at once, and how long a sync waits for them. */
const EVENT_WRITERS = 8;
const EVENT_WAIT_MS = 2000;
const reasonsOf = (ps: readonly LbProblem[] | undefined): Set<string> => new Set((ps ?? []).map((p) => p.reason));
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The kubectl command that makes the same change (dry-run and golden text). */
export function lbStatusCommand(row: LbStatus): string {
  const patch = JSON.stringify({ status: { loadBalancer: { ingress: row.ingress.map((ip) => ({ ip })) } } });
  return `kubectl patch service -n ${row.namespace} ${row.name} --subresource=status --type=merge -p '${patch}'`;
}

/** One line of the desired table (golden text). */
export function lbStatusLine(row: LbStatus): string {
  return `service ${row.namespace}/${row.name} status.loadBalancer.ingress ${row.ingress.length > 0 ? row.ingress.join(",") : "<pending>"}`;
}

export interface KubeStatusDriver extends Driver {
  /** "leader", "standby" (another agent holds the Lease) or "no-election" (dry-run, snapshot, tests). */
  role(): "leader" | "standby" | "no-election";
}

export function kubeStatusDriver(o: KubeStatusOptions): KubeStatusDriver {
  let wake: ((n: SyncNotice) => void) | undefined;
  /** Service key → the problems reported for it (Events written or attempted). */
  const reported = new Map<string, readonly LbProblem[]>();
  const elector = o.elector?.((leader) => {
    if (leader) reported.clear();
    o.log?.(leader ? `lballoc: leader (Lease ${LEASE_NAME} held by ${elector?.identity ?? "?"})` : `lballoc: standby (Lease ${LEASE_NAME} held by another agent); rendering, not writing`);
    if (leader) wake?.({ full: true, reason: "took the LoadBalancer allocator Lease: syncing the status of every handled Service" });
  });
  const standby = () => elector !== undefined && !elector.isLeader();

  /** One Service: read, re-check, write; retried on conflict. */
  async function writeOne(row: LbStatus, api: ServiceStatusApi): Promise<void> {
    const key = lbStatusKey(row);
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      if (standby()) { o.log?.(`Service ${key}: not written, this agent lost the Lease`); return; }
      const cur = await api.get(row.namespace, row.name);
      if (cur === undefined) return; // deleted meanwhile: nothing to give it
      if (!o.handles(cur)) { o.log?.(`Service ${key}: no longer a LoadBalancer of our class; status not written`); return; }
      const have = ingressIps(cur.ingress);
      if (same(have, row.ingress)) return;
      if (cur.resourceVersion !== row.resourceVersion && !same(have, row.current)) {
        throw new Error(`Service ${key}: status changed since it was rendered (now ${have.join(",") || "empty"}); re-rendering`);
      }
      const ingress: IngressEntry[] = [...cur.ingress.filter((e) => !e.ip), ...row.ingress.map((ip) => ({ ip }))];
      const r = await api.writeStatus(cur, ingress);
      if (r !== "conflict") return;
    }
    throw new Error(`Service ${key}: status write conflicted ${MAX_TRIES} times`);
  }

  /**
   * The best-effort script reporting the problems of `plan` that are new (see the module
   * comment), and recording what each changed row now carries; [] when no row's problems change.
   */
  function eventScript(plan: NodePlan): Script[] {
    if (o.events === undefined) return [];
    const events = o.events;
    const changed = plan.lbStatus.flatMap((c) => (c.op === "delete" ? [] : [c]));
    const fresh = changed.flatMap((c) => {
      const known = new Set([...reasonsOf(reported.get(c.key)), ...(c.op === "update" ? reasonsOf(c.before.problems) : [])]);
      return (c.after.problems ?? []).filter((p) => !known.has(p.reason)).map((p) => ({ namespace: c.after.namespace, name: c.after.name, reason: p.reason, message: p.message }));
    });
    if (fresh.length === 0 && changed.every((c) => reasonsOf(c.after.problems).size === 0 && !reported.has(c.key))) return [];
    return [{
      order: ORDER.api + 1,
      title: `LoadBalancer allocation Events: ${fresh.length} Warning${fresh.length === 1 ? "" : "s"} (Kubernetes API)`,
      text: fresh.map((e) => `event Warning ${e.reason} on service ${e.namespace}/${e.name}: ${e.message}\n`).join(""),
      bestEffort: true,
      run: async () => {
        for (const c of changed) {
          if (c.after.problems?.length) reported.set(c.key, c.after.problems);
          else reported.delete(c.key);
        }
        if (fresh.length === 0) return;
        const failed: string[] = [];
        let next = 0;
        const worker = async () => {
          while (next < fresh.length) {
            const e = fresh[next++]!;
            await events.create(e).catch((err: unknown) => {
              const line = String((err as Error).message ?? err).split("\n")[0]!;
              failed.push(line);
              o.log?.(`lballoc: ${line}; not retried while the condition lasts`);
            });
          }
        };
        const all = Promise.all(Array.from({ length: Math.min(EVENT_WRITERS, fresh.length) }, worker));
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([all.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), EVENT_WAIT_MS); })]);
        clearTimeout(timer);
        if (late) throw new Error(`${fresh.length} Event writes not done within ${EVENT_WAIT_MS} ms; left to finish in the background`);
        if (failed.length > 0) throw new Error(`${failed.length} of ${fresh.length} Event writes failed: ${failed.slice(0, 3).join("; ")}${failed.length > 3 ? "; …" : ""}`);
      },
    }];
  }

  return {
    name: "kube-status",
    tables: ["lbStatus"],
    role: () => (elector === undefined ? "no-election" : elector.isLeader() ? "leader" : "standby"),
    note: () => (elector === undefined ? undefined : elector.isLeader() ? `lballoc: leader (Lease ${LEASE_NAME})` : `lballoc: standby (Lease ${LEASE_NAME} held by another agent; rendering, not writing)`),
    async observe(_exec, desired: NodeState): Promise<Partial<NodeState>> {
      const scope = desired.lbStatus;
      if (scope.size === 0) return { lbStatus: new Map() };
      if (o.api === undefined) return { lbStatus: sortedTable([...scope].map(([k, r]) => [k, { ...r, ingress: r.current }] as const)) };
      if (standby()) return { lbStatus: scope };
      const all = await o.api.list();
      const rows: [string, LbStatus][] = [];
      for (const key of reported.keys()) if (!scope.has(key)) reported.delete(key);
      for (const s of all) {
        const key = `${s.namespace}/${s.name}`;
        const want = scope.get(key);
        if (want === undefined) continue;
        const ips = ingressIps(s.ingress);
        // problems: what was reported (the Events' own record); without Events, what is wanted
        const problems = o.events ? reported.get(key) : want.problems;
        rows.push([key, { namespace: s.namespace, name: s.name, ingress: ips, resourceVersion: s.resourceVersion, current: ips, ...(problems?.length ? { problems } : {}) }]);
      }
      return { lbStatus: sortedTable(rows) };
    },
    scripts(plan: NodePlan): Script[] {
      if (standby()) return [];
      // A create whose IPs are what the render saw in the status already is nothing to write: it
      // comes from a confirmed state that lacked the row (another lane's full sync observed
      // no lbStatus), not from a change.
      const rows = plan.lbStatus.flatMap((c) => (c.op === "delete" || (c.op === "create" && same(c.after.ingress, c.after.current)) || (c.op === "update" && same(c.after.ingress, c.before.ingress)) ? [] : [c.after]));
      const events = eventScript(plan);
      if (rows.length === 0) return events;
      // An IP never moves between live Services. A render from a snapshot that has not seen our
      // last writes yet can plan one (a Service created in the same second sorting before one
      // we just gave it): an IP another change of this plan takes away from its holder is
      // not written; the next sync renders from a snapshot that has caught up.
      // Likewise a Service's IP the render did not see (not in the status it rendered from)
      // is never taken from it.
      const heldBefore = new Map<string, string>();
      const unseen = new Map<string, string>();
      for (const c of plan.lbStatus) {
        if (c.op !== "update") continue;
        for (const ip of c.before.ingress) {
          heldBefore.set(ip, c.key);
          if (!c.after.current.includes(ip) && !c.after.ingress.includes(ip)) unseen.set(c.key, ip);
        }
      }
      const moving = (row: LbStatus): string | undefined => {
        const key = lbStatusKey(row);
        const lost = unseen.get(key);
        if (lost !== undefined) return `Service ${key}: holds IP ${lost} the render has not seen yet; not written, next sync`;
        const ip = row.ingress.find((x) => { const h = heldBefore.get(x); return h !== undefined && h !== key; });
        return ip === undefined ? undefined : `Service ${key}: IP ${ip} is still held by Service ${heldBefore.get(ip)} (status not yet seen by the render); not written, next sync`;
      };
      return [{
        order: ORDER.api,
        title: `LoadBalancer status of ${rows.length} Service${rows.length === 1 ? "" : "s"} (Kubernetes API)`,
        text: rows.map((r) => `${lbStatusCommand(r)}\n`).join(""),
        run: async () => {
          if (o.api === undefined) throw new Error(`${rows.map(lbStatusKey).join(", ")}: no API server (--snapshot); LoadBalancer status not written`);
          const api = o.api;
          // one write per Service, WRITERS at a time (200 Services created at once get their IPs in about a second)
          const errors: string[] = [];
          let next = 0;
          const worker = async () => {
            while (next < rows.length) {
              const row = rows[next++]!;
              const held = moving(row);
              if (held !== undefined) { errors.push(held); continue; }
              await writeOne(row, api).catch((e: unknown) => errors.push(String((e as Error).message ?? e).split("\n")[0]!));
            }
          };
          await Promise.all(Array.from({ length: Math.min(WRITERS, rows.length) }, worker));
          if (errors.length > 0) throw new Error(`${errors.length} of ${rows.length} status writes failed: ${errors.slice(0, 3).join("; ")}${errors.length > 3 ? "; …" : ""}`);
        },
      }, ...events];
    },
    async start() {
      elector?.start();
    },
    async stop() {
      await elector?.stop();
    },
    subscribe(notify: (n: SyncNotice) => void) {
      wake = notify;
    },
  };
}
