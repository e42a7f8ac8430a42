/**
 * The kube-configmap driver: table `configMapKeys`, the route extender's ConfigMap
 * (reference/route-extender.md §4, C1 [fix]) written through the API.
 *
 * - observe: one GET of the ConfigMap the desired rows name (404 ⇒ no rows); reports only
 *   keys of our patterns (ownership.ts isExtenderKey), each with `writer` copied from the
 *   desired row of the same key (default "leader"), so foreign keys are never planned;
 * - apply: ONE write of the whole data per sync: the ConfigMap is read again, only the
 *   planned key changes are applied onto what was read, and it is replaced with the
 *   resourceVersion read as precondition (created when absent); 409 ⇒ read again and redo
 *   (up to 5 tries). Keys it does not plan are never touched. A no-op sync writes nothing;
 * - a node's own Mac- key ("self" row) is set only while the data it merges onto holds the
 *   leader's Interface- key of the same IP (ownership.ts extenderSelfKeyAnchor): an agent that
 *   has not yet seen its Node deleted never brings back keys the leader just removed (a 409
 *   re-reads, so a removal between the read and the write is seen too);
 * - leader election: with an elector (Lease `kube-router-route-extender`), only the holder
 *   writes the "leader" rows. A standby agent writes only its "self" rows (its own Mac- key)
 *   and reports the other desired rows as observed (it plans nothing for them); on becoming
 *   leader it asks for a full sync (`subscribe`);
 * - dry-run text: `kubectl patch configmap -n NS NAME --type=merge -p '{"data":{…}}'` (null
 *   for a deleted key);
 * - without an API (`--snapshot`): observe reports the ConfigMap the snapshot holds
 *   (`readback`), and apply fails with one line.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { extenderSelfKeyAnchor, isExtenderKey } from "../../model/ownership.ts";
import { type ConfigMapKey, configMapKeyKey } from "../../model/rows.ts";
import type { NodeState } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import { type Driver, ORDER, type Script, type SyncNotice } from "../driver.ts";
import type { LeaseElector } from "../kube-status/lease.ts";
import type { ConfigMapApi } from "./api.ts";

export type { ConfigMapApi } from "./api.ts";

/** The extender's Lease (in POD_NAMESPACE). */
export const EXTENDER_LEASE = "kube-router-route-extender";

export interface KubeConfigMapOptions {
  /** undefined: no API server (`--snapshot`). */
  readonly api?: ConfigMapApi;
  /** Without an API: the ConfigMap data the snapshot holds. */
  readonly readback?: (namespace: string, name: string) => Readonly<Record<string, string>> | undefined;
  /** With one, only the Lease holder writes "leader" rows. */
  readonly elector?: (onChange: (leader: boolean) => void) => LeaseElector;
  readonly log?: (line: string) => void;
}

const MAX_TRIES = 5;

/** The kubectl command that makes the same change (dry-run text). */
export function configMapCommand(namespace: string, name: string, changes: Readonly<Record<string, string | null>>): string {
  return `kubectl patch configmap -n ${namespace} ${name} --type=merge -p '${JSON.stringify({ data: changes })}'`;
}

/** One line of the desired table (golden text). */
export const configMapKeyLine = (k: ConfigMapKey): string => `configmap ${k.namespace}/${k.name} ${k.key}=${JSON.stringify(k.value)}${k.writer === "self" ? " (written by this node)" : ""}`;

export interface KubeConfigMapDriver extends Driver {
  role(): "leader" | "standby" | "no-election";
}

interface Target { readonly namespace: string; readonly name: string }

export function kubeConfigMapDriver(o: KubeConfigMapOptions): KubeConfigMapDriver {
  let wake: ((n: SyncNotice) => void) | undefined;
  const elector = o.elector?.((leader) => {
    o.log?.(leader ? `extender: leader (Lease ${EXTENDER_LEASE} held by ${elector?.identity ?? "?"})` : `extender: standby (Lease ${EXTENDER_LEASE} held by another agent); writing only this node's Mac- key`);
    if (leader) wake?.({ full: true, reason: `took the Lease ${EXTENDER_LEASE}: syncing the route extender's ConfigMap` });
  });
  const standby = () => elector !== undefined && !elector.isLeader();
  const mayWrite = (row: ConfigMapKey) => !standby() || row.writer === "self";

  const rowsOf = (t: Target, data: Readonly<Record<string, string>>, scope: ReadonlyMap<string, ConfigMapKey>): [string, ConfigMapKey][] =>
    Object.entries(data).flatMap(([key, value]) => {
      if (!isExtenderKey(key)) return [];
      const k = configMapKeyKey({ ...t, key });
      return [[k, { ...t, key, value, writer: scope.get(k)?.writer ?? "leader" }] as [string, ConfigMapKey]];
    });

  /**
   * Applies `changes` (key → value, null = delete) onto the freshly read ConfigMap; retried on
   * conflict. A key in `anchored` (key → the key it needs) is set only when the merged data
   * holds the key it needs; otherwise it is left as read.
   */
  async function write(api: ConfigMapApi, t: Target, changes: Readonly<Record<string, string | null>>, anchored: ReadonlyMap<string, string>): Promise<void> {
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      const cur = await api.get(t.namespace, t.name);
      const next: Record<string, string> = { ...(cur?.data ?? {}) };
      for (const [k, v] of Object.entries(changes)) {
        if (anchored.has(k)) continue;
        if (v === null) delete next[k];
        else next[k] = v;
      }
      for (const [k, needs] of anchored) if (next[needs] !== undefined) next[k] = changes[k]!;
      const same = cur !== undefined && Object.keys(next).length === Object.keys(cur.data).length && Object.entries(next).every(([k, v]) => cur.data[k] === v);
      if (same) return;
      if (cur === undefined) {
        if (Object.keys(next).length === 0) return;
        if ((await api.create(t.namespace, t.name, next)) === "ok") return;
        continue;
      }
      if ((await api.update(t.namespace, t.name, next, cur.resourceVersion)) === "ok") return;
    }
    throw new Error(`ConfigMap ${t.namespace}/${t.name}: write conflicted ${MAX_TRIES} times`);
  }

  return {
    name: "kube-configmap",
    tables: ["configMapKeys"],
    role: () => (elector === undefined ? "no-election" : elector.isLeader() ? "leader" : "standby"),
    note: () => (elector === undefined ? undefined : elector.isLeader() ? `extender: leader (Lease ${EXTENDER_LEASE})` : `extender: standby (Lease ${EXTENDER_LEASE} held by another agent; writing only this node's Mac- key)`),
    async observe(_exec, desired: NodeState): Promise<Partial<NodeState>> {
      const scope = desired.configMapKeys;
      const first = scope.values().next().value;
      if (first === undefined) return { configMapKeys: new Map() };
      const t: Target = { namespace: first.namespace, name: first.name };
      if (o.api === undefined) return { configMapKeys: sortedTable(rowsOf(t, o.readback?.(t.namespace, t.name) ?? {}, scope)) };
      const cur = await o.api.get(t.namespace, t.name);
      const rows = rowsOf(t, cur?.data ?? {}, scope);
      if (!standby()) return { configMapKeys: sortedTable(rows) };
      // standby: the leader's rows are reported as wanted (nothing planned), our own as they are
      const own = rows.filter(([k, r]) => r.writer === "self" && scope.has(k));
      const leaders = [...scope].filter(([, r]) => r.writer !== "self");
      return { configMapKeys: sortedTable([...own, ...leaders]) };
    },
    scripts(plan: NodePlan): Script[] {
      const changes: Record<string, string | null> = {};
      const anchored = new Map<string, string>();
      let t: Target | undefined;
      for (const c of plan.configMapKeys) {
        const row = c.op === "delete" ? c.before : c.after;
        if (!mayWrite(row)) continue;
        t ??= { namespace: row.namespace, name: row.name };
        changes[row.key] = c.op === "delete" ? null : c.after.value;
        const needs = c.op === "delete" || row.writer !== "self" ? undefined : extenderSelfKeyAnchor(row.key);
        if (needs !== undefined) anchored.set(row.key, needs);
      }
      if (t === undefined) return [];
      const target = t;
      const n = Object.keys(changes).length;
      return [{
        order: ORDER.api,
        title: `ConfigMap ${target.namespace}/${target.name}: ${n} key${n === 1 ? "" : "s"} (Kubernetes API)`,
        text: `${configMapCommand(target.namespace, target.name, changes)}\n`,
        run: async () => {
          if (o.api === undefined) throw new Error(`ConfigMap ${target.namespace}/${target.name}: no API server (--snapshot); ${n} key${n === 1 ? "" : "s"} not written`);
          await write(o.api, target, changes, anchored);
        },
      }];
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
