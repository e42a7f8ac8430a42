/**
 * NodePlan (chains + jumps) → one `iptables-restore --noflush --wait` script per family and
 * table that changes. Pure: the script text shows the restore command and its exact stdin.
 *
 * Inside one restore (one COMMIT block, applied atomically by the kernel):
 *
 *   *<table>
 *   :<chain> - [0:0]            created, updated and deleted owned chains (creates or flushes:
 *                               in --noflush mode declaring an existing chain empties it, on
 *                               both backends; declaring a builtin chain does not)
 *   -D <builtin> <rule>         the `before` rule of every deleted and updated jump
 *   -A <chain> <rule>           every rule of created and updated chains
 *   -I <builtin> <pos> <rule>   created and updated jumps, per chain in ascending position
 *   -X <chain>                  deleted chains (now empty, and no jump of ours refers to them)
 *   COMMIT
 *
 * Why the jump order places every jump at its position (renderers give each builtin chain
 * the contiguous positions 1..n; parse.ts reports a jump "in place" only when every rule
 * above it is owned and its text is unique, otherwise with a negative, never-desired position):
 *   1. After the deletes, the chain is: the unchanged jumps, then the foreign rules. (Every
 *      displaced or changed jump was deleted; `-D` by rule text removes the first copy, and
 *      identical copies are all displaced, so all of them go. An unchanged jump is in place,
 *      so nothing foreign was above it.) Each unchanged jump sits at its desired position p
 *      in the observed chain, with only owned rules above it.
 *   2. Inserting at ascending positions q1 < q2 < … leaves each inserted rule at its q (a
 *      later insert lands below it). The n − k slots of 1..n not inserted are filled, in
 *      order, by the first n − k rules left after the deletes — exactly the unchanged jumps,
 *      which are in ascending order of their (desired) positions. Foreign rules end up below n.
 *   3. Each insert position q is at most (rules already in the chain) + 1, because slots
 *      1..q−1 are filled by then, so no insert fails with "index too big".
 * Deleting jumps before `-X` lets a chain go together with the jump that referenced it;
 * declaring deleted chains first empties them, so `-X` does not fail on their rules.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import type { Chain, Family, IptTableName, Jump } from "../../model/state.ts";
import type { Change } from "../../model/table.ts";
import type { Script } from "../driver.ts";
import { ORDER } from "../driver.ts";
import type { IptablesBackend } from "./backend.ts";

const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];
const TABLES: readonly IptTableName[] = ["filter", "nat", "mangle", "raw"];
const TITLE_TOOL: Readonly<Record<Family, string>> = { ipv4: "iptables-restore", ipv6: "ip6tables-restore" };

/** The arguments every restore runs with. */
export const RESTORE_ARGS: readonly string[] = ["--noflush", "--wait"];

const line = (...parts: (string | number)[]): string => parts.filter((p) => p !== "").join(" ");

/**
 * The restore input for one table's changes (see the module comment for its shape and why
 * it is correct). `chains` and `jumps` must all belong to `table`. Pure; never throws.
 */
export function restoreText(table: IptTableName, chains: readonly Change<Chain>[], jumps: readonly Change<Jump>[]): string {
  const out: string[] = [`*${table}`];
  for (const c of chains) out.push(`:${(c.op === "delete" ? c.before : c.after).name} - [0:0]`);
  for (const j of jumps) if (j.op !== "create") out.push(line("-D", j.before.chain, j.before.rule));
  for (const c of chains) if (c.op !== "delete") for (const r of c.after.rules) out.push(line("-A", c.after.name, r));
  const inserts = jumps.flatMap((j) => (j.op === "delete" ? [] : [j.after]));
  inserts.sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.position - b.position));
  for (const j of inserts) out.push(line("-I", j.chain, j.position, j.rule));
  for (const c of chains) if (c.op === "delete") out.push(`-X ${c.before.name}`);
  out.push("COMMIT");
  return out.join("\n") + "\n";
}

const where = (c: Change<Chain> | Change<Jump>): Chain | Jump => (c.op === "delete" ? c.before : c.after);

/**
 * The restore scripts for the chains and jumps of a plan: one per (family, table) with at
 * least one change, ipv4 before ipv6, tables in filter, nat, mangle, raw order; [] when the
 * plan changes no chain or jump. Each script's `text` is the command with its exact stdin as a heredoc (what an operator would type); `run` feeds that stdin to
 * `<backend restore tool> --noflush --wait` as a write, and fails with the Exec's ExecError
 * (the kernel then kept that table unchanged, since one COMMIT block is atomic).
 * The family, table (and, for jumps, builtin chain) are part of every key, so an update's
 * before and after always sit in the same restore.
 */
export function compileIptables(plan: Pick<NodePlan, "chains" | "jumps">, backend: IptablesBackend): Script[] {
  const scripts: Script[] = [];
  for (const family of FAMILIES) {
    for (const table of TABLES) {
      const inTable = (o: Chain | Jump): boolean => o.family === family && o.table === table;
      const chains = plan.chains.filter((c) => inTable(where(c)));
      const jumps = plan.jumps.filter((j) => inTable(where(j)));
      if (chains.length + jumps.length === 0) continue;
      const stdin = restoreText(table, chains, jumps);
      const cmd = backend.restore[family];
      scripts.push({
        order: ORDER.iptables,
        title: `${TITLE_TOOL[family]} (${family} ${table})`,
        text: `${TITLE_TOOL[family]} ${RESTORE_ARGS.join(" ")} <<'EOF'\n${stdin}EOF\n`,
        run: async (exec) => {
          await exec.run(cmd, RESTORE_ARGS, { stdin, write: true });
        },
      });
    }
  }
  return scripts;
}
