/**
 * NodePlan → `ipset restore -exist` scripts. Pure and deterministic (sets by name, members
 * sorted). Two scripts, because iptables sits between them (driver.ts ORDER):
 *
 * - fill (ORDER.ipsetFill), per set by name:
 *   - create: `create NAME TYPE family F [timeout N]` and one `add` per member;
 *   - header update with the same type and family (a timeout change): the new set is built
 *     as a temp set `tmpSetName(NAME)`, filled, `swap`ped with NAME and the old one destroyed,
 *     so iptables rules that reference NAME keep working throughout;
 *   - header update that changes type or family: the kernel refuses to swap such sets, so NAME
 *     is destroyed and created again. This fails ("in use by a kernel component") while an
 *     iptables rule references NAME; renderers keep a name's type and family fixed;
 *   - member changes: `del` (the element without flags) for removed members, then `add`; a
 *     member whose only change is its `nomatch` flag is not deleted: `add -exist` rewrites it.
 * - destroy (ORDER.ipsetDestroy): `flush` + `destroy` of deleted sets, after iptables stopped
 *   referencing them. A leftover temp set that this plan deletes and also needs (a crashed
 *   apply) is destroyed by the fill script before it is built again instead.
 *
 * Running a script: one `ipset restore -exist` with the text on stdin (a write). The tool is
 * not atomic: it stops at the first failing line, keeping what ran before; the ExecError
 * names the line. The engine's next (full) sync observes and repairs. The destroy script goes
 * on past a set the kernel refuses to destroy (a foreign rule references it; see runDestroy).
 *
 * @category apply
 */
import { hashName } from "../../model/names.ts";
import type { IpsetMemberChange, NodePlan } from "../../model/plan.ts";
import type { Ipset } from "../../model/state.ts";
import type { Change } from "../../model/table.ts";
import { ORDER, type Script } from "../driver.ts";
import type { Exec } from "../exec.ts";
import { memberElement } from "../../model/ipset-members.ts";

/** The temp set a header update of `name` is built in: owned, at most 31 characters, stable. */
export function tmpSetName(name: string): string {
  return `kube-router-tmp-${hashName(name).slice(0, 15)}`;
}

/** The create line of `set` under `name`. */
export function createLine(set: Pick<Ipset, "type" | "family" | "timeout">, name: string): string {
  return `create ${name} ${set.type} family ${set.family}${set.timeout !== undefined ? ` timeout ${set.timeout}` : ""}`;
}

/** The scripts for the plan's ipset part: fill then destroy; [] when nothing changes. */
export function ipsetScripts(plan: NodePlan): Script[] {
  const fill = fillLines(plan);
  const destroy = destroyLines(plan);
  const out: Script[] = [];
  if (fill.length > 0) out.push(restoreScript(ORDER.ipsetFill, "ipset restore", fill));
  if (destroy.length > 0) out.push({ ...restoreScript(ORDER.ipsetDestroy, "ipset restore (destroy)", destroy), run: (exec) => runDestroy(exec, destroy) });
  return out;
}

/** `ipset restore`'s error for a failing input line: 1-based line number and the reason. */
const LINE_ERROR = /Error in line (\d+): (.*)/;

/**
 * Runs the destroy lines (`flush X`, `destroy X` pairs) so that a set the kernel refuses to
 * destroy (a rule we do not own still references it: "in use by a kernel component") does not
 * stop the others: the restore is run again from the line after the refused one, once per
 * refused set. Fails, after every other set is gone, with one line naming the refused sets and
 * the kernel's reason; any other failure is the tool's ExecError.
 */
async function runDestroy(exec: Exec, lines: readonly string[]): Promise<void> {
  const refused: string[] = [];
  let rest = lines;
  while (rest.length > 0) {
    try {
      await exec.run("ipset", ["restore", "-exist"], { stdin: rest.map((l) => `${l}\n`).join(""), write: true });
      break;
    } catch (e) {
      const m = LINE_ERROR.exec((e as { stderr?: string }).stderr ?? "");
      const at = m ? Number(m[1]) : 0;
      const failing = rest[at - 1];
      if (!failing?.startsWith("destroy ")) throw e;
      refused.push(`${failing.slice("destroy ".length)} (${m![2]!.trim()})`);
      rest = rest.slice(at);
    }
  }
  if (refused.length > 0) throw new Error(`ipset: cannot destroy ${refused.join(", ")}: a rule we do not own still references it; it is kept (emptied) and every other set was destroyed`);
}

function restoreScript(order: number, title: string, lines: readonly string[]): Script {
  const stdin = lines.map((l) => `${l}\n`).join("");
  return {
    order,
    title,
    text: `ipset restore -exist <<'EOF'\n${stdin}EOF\n`,
    run: async (exec: Exec) => {
      await exec.run("ipset", ["restore", "-exist"], { stdin, write: true });
    },
  };
}

const byName = <T>(a: readonly [string, T], b: readonly [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function fillLines(plan: NodePlan): string[] {
  const deleted = new Set(plan.ipsets.filter((c) => c.op === "delete").map((c) => c.key));
  const perSet: [string, string[]][] = [];
  for (const c of plan.ipsets) {
    if (c.op === "create") perSet.push([c.key, [createLine(c.after, c.key), ...adds(c.key, c.after.members)]]);
    if (c.op === "update") perSet.push([c.key, updateLines(c, deleted)]);
  }
  for (const m of plan.ipsetMembers) perSet.push([m.set, memberLines(m)]);
  return perSet.sort(byName).flatMap(([, lines]) => lines);
}

function updateLines(c: Extract<Change<Ipset>, { op: "update" }>, deleted: ReadonlySet<string>): string[] {
  const { key: name, before, after } = c;
  if (before.type !== after.type || before.family !== after.family) {
    return [`destroy ${name}`, createLine(after, name), ...adds(name, after.members)];
  }
  const tmp = tmpSetName(name);
  return [
    ...(deleted.has(tmp) ? [`destroy ${tmp}`] : []),
    createLine(after, tmp),
    ...adds(tmp, after.members),
    `swap ${tmp} ${name}`,
    `destroy ${tmp}`,
  ];
}

function memberLines(m: IpsetMemberChange): string[] {
  const added = new Set(m.add.map(memberElement));
  const dels = m.del.map(memberElement).filter((e) => !added.has(e));
  return [...[...dels].sort().map((e) => `del ${m.set} ${e}`), ...[...m.add].sort().map((e) => `add ${m.set} ${e}`)];
}

function adds(name: string, members: ReadonlySet<string>): string[] {
  return [...members].sort().map((m) => `add ${name} ${m}`);
}

function destroyLines(plan: NodePlan): string[] {
  const rebuiltTmps = new Set(
    plan.ipsets.flatMap((c) => (c.op === "update" && c.before.type === c.after.type && c.before.family === c.after.family ? [tmpSetName(c.key)] : [])),
  );
  return plan.ipsets
    .filter((c) => c.op === "delete" && !rebuiltTmps.has(c.key))
    .map((c) => c.key)
    .sort()
    .flatMap((name) => [`flush ${name}`, `destroy ${name}`]);
}
