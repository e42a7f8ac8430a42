/**
 * Compiles the iproute2 part of a plan (links, addresses, routes, policy rules) into
 * `ip -batch` scripts. Pure and deterministic: the same plan gives byte-identical text.
 *
 * Scripts (at most four, none when nothing changes):
 * - ORDER.ipRemove, `ip -force -batch -`: `neigh del` (neigh.ts), `rule del` (IPv4), `route del`, `address del` for
 *   deletes and for the `before` of updates that cannot be done in place (an address or rule
 *   whose value changed, a route whose family changed);
 * - ORDER.ipRemove, `ip -6 -force -batch -`: `rule del` (IPv6);
 * - ORDER.ipAdd, `ip -force -batch -`: links (`link add` for creates; `link set` for MTU and
 *   up/down; `link del` + `link add` when the kind or a vxlan/tunnel attribute changed, since
 *   those cannot change in place), `address add`, `route replace … proto 17 table T`,
 *   `rule add priority P …` (IPv4), `link del` of deleted links, then `neigh replace`;
 * - ORDER.ipAdd, `ip -6 -force -batch -`: `fou add port P gue` (IPv6), `rule add` (IPv6);
 *   the main ipAdd batch has the IPv4 `fou add` lines right after the links.
 *
 * Why IPv6 rules get their own batch: `ip rule` treats an unspecified family as IPv4 (even
 * `from fd00::/64` fails with "Invalid source address" without `-6`), and `ip -batch` accepts
 * no per-line options (`-6 rule …` is "Object "-6" is unknown"). `route` and `address` infer
 * the family from their addresses, so they share the main batch; default routes are written
 * `0.0.0.0/0` / `::/0` so the family is never ambiguous.
 *
 * A large block of gateway route lines (`route replace … via`, after every route without a
 * gateway) or of `route del` lines is independent line by line: the script runs it as up to
 * four concurrent `ip -batch` processes (parallel-batch.ts); its text stays the one batch.
 *
 * Why `-force`: objects in one batch are independent more often than not (one route with an
 * unreachable gateway must not keep every other route out), so the batch goes on after a
 * failed line. `ip` still exits 1 and prints each failure, so `run` fails with ExecError and
 * the engine's next sync is a full one, which re-observes and retries only what is missing.
 *
 * Known limits, both repaired by the next full sync (observe sees what is missing):
 * - a re-created (or downed) link loses the kernel's addresses and routes on it, also those
 *   the plan does not mention;
 * - `ip rule del` matches only the attributes given (the kernel treats a missing `from` as a
 *   wildcard), so deleting `from all` next to a kept, more specific rule of the same priority
 *   and table may delete the kept one; rule deletes run most specific first so that deleting
 *   both is always right, and the kernel keeps equal priorities in insertion order, so the
 *   retry after the re-add deletes the right one.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import type { Address, Link, PolicyRule, Route } from "../../model/state.ts";
import { deepEqual, type Change } from "../../model/table.ts";
import { availableParallelism } from "node:os";
import type { Exec, StandbyLine } from "../exec.ts";
import { ORDER, type Script } from "../driver.ts";
import { VXLAN_DEFAULT_PORT } from "./canon.ts";
import { fouAddLine } from "./fou.ts";
import { type BatchLines, batchLines, PARALLEL_MAX, runIpBatch } from "./parallel-batch.ts";
import { compileNeighbors } from "./neigh.ts";

/** Argument vectors of the two batch invocations. */
export const IP_BATCH_ARGS: readonly string[] = ["-force", "-batch", "-"];
export const IP6_BATCH_ARGS: readonly string[] = ["-6", "-force", "-batch", "-"];

/**
 * The standby processes (standby.ts) the agent keeps for its IPv4 batch: one per part a large
 * route block splits into (parallel-batch.ts) and one for the lines before it, so a big route
 * change (learned routes after a BGP event) starts writing without a spawn on its path. IPv6
 * batches spawn as usual (their big route changes are rare; a waiting process is ~1 MiB).
 */
export const ipBatchStandby = (cores: number = availableParallelism()): StandbyLine[] =>
  [{ cmd: "ip", args: IP_BATCH_ARGS, count: Math.min(Math.max(1, cores), PARALLEL_MAX) + 1 }];

export type IpPlan = Pick<NodePlan, "links" | "addresses" | "routes" | "rules"> & Partial<Pick<NodePlan, "neighbors" | "fouPorts">>;

/** Links a plan deletes, or re-creates (`link del` + `link add`): the kernel drops what was on them. */
export function linksGone(links: readonly Change<Link>[]): Set<string> {
  return new Set(links.flatMap((c) => (c.op === "delete" || (c.op === "update" && needsRecreate(c.before, c.after)) ? [c.key] : [])));
}
/** Links a plan re-creates. */
export function linksRecreated(links: readonly Change<Link>[]): string[] {
  return links.flatMap((c) => (c.op === "update" && needsRecreate(c.before, c.after) ? [c.key] : []));
}

/** True when a link update cannot be done with `link set` (kind or tunnel parameters changed). */
export function needsRecreate(before: Link, after: Link): boolean {
  return before.kind !== after.kind || !deepEqual(before.vxlan, after.vxlan) || !deepEqual(before.tunnel, after.tunnel);
}

/** `ip link add` line for a link. */
export function linkAddLine(l: Link): string {
  const head = [`link add ${l.name}`];
  const x = l; // overlay extras: MAC, tunnel ttl and GUE encap
  if (x.address !== undefined) head.push(`address ${x.address}`);
  if (l.mtu !== undefined) head.push(`mtu ${l.mtu}`);
  if (l.up) head.push("up");
  head.push(`type ${l.kind}`);
  if (l.kind === "vxlan") {
    const v = l.vxlan ?? { id: 0 };
    head.push(`id ${v.id}`);
    if (v.local !== undefined) head.push(`local ${v.local}`);
    if (v.dev !== undefined) head.push(`dev ${v.dev}`);
    head.push(`dstport ${v.port ?? VXLAN_DEFAULT_PORT}`);
    if (v.learning === false) head.push("nolearning");
  } else if (l.kind === "ipip" || l.kind === "ip6tnl") {
    if (l.kind === "ip6tnl") head.push("mode ip6ip6");
    if (l.tunnel?.local !== undefined) head.push(`local ${l.tunnel.local}`);
    head.push(`remote ${l.tunnel?.remote ?? "any"}`);
    if (x.tunnel?.ttl !== undefined) head.push(`ttl ${x.tunnel.ttl}`);
    if (x.tunnel?.encap !== undefined) head.push(`encap ${x.tunnel.encap.type} encap-sport auto encap-dport ${x.tunnel.encap.dport}`);
  }
  return head.join(" ");
}

function linkSetLine(before: Link, after: Link): string | undefined {
  const parts: string[] = [];
  const mac = after.address;
  if (mac !== undefined && mac !== before.address) parts.push(`address ${mac}`);
  if (after.mtu !== undefined && after.mtu !== before.mtu) parts.push(`mtu ${after.mtu}`);
  if (after.up !== before.up) parts.push(after.up ? "up" : "down");
  return parts.length === 0 ? undefined : `link set ${after.name} ${parts.join(" ")}`;
}

const addressAddLine = (a: Address): string => `address add ${a.cidr} dev ${a.dev}${a.scope !== undefined ? ` scope ${a.scope}` : ""}`;
const addressDelLine = (a: Address): string => `address del ${a.cidr} dev ${a.dev}`;

/** The route destination as a batch line needs it: `default` spelled with its family. */
const dstText = (r: Route): string => (r.dst === "default" ? (r.family === "ipv4" ? "0.0.0.0/0" : "::/0") : r.dst);

/** `ip route replace` line for a route. */
export function routeReplaceLine(r: Route): string {
  // string concatenation, not an array join: this runs once per route of a plan (thousands)
  let line = r.type === "local" ? "route replace local " : "route replace ";
  line += dstText(r);
  if (r.via !== undefined) line += " via " + r.via;
  if (r.dev !== undefined) line += " dev " + r.dev;
  if (r.onlink === true) line += " onlink";
  if (r.src !== undefined) line += " src " + r.src;
  if (r.scope !== undefined) line += " scope " + r.scope;
  return line + " proto " + r.proto + " table " + r.table;
}

const routeDelLine = (r: Route): string => `route del ${dstText(r)} table ${r.table} proto ${r.proto}`;
const ruleLine = (op: "add" | "del", r: PolicyRule): string => `rule ${op} priority ${r.priority} ${r.selector} lookup ${r.table}`;

/** How many selector attributes a rule names (`from all` names none). */
const selectorParts = (r: PolicyRule): number => (r.selector === "from all" ? 0 : r.selector.split(" ").filter((w) => w !== "not").length / 2);

const befores = <T>(cs: readonly Change<T>[], inPlace: (b: T, a: T) => boolean = () => false): T[] =>
  cs.flatMap((c) => (c.op === "delete" || (c.op === "update" && !inPlace(c.before, c.after)) ? [c.before] : []));
const afters = <T>(cs: readonly Change<T>[]): T[] => cs.flatMap((c) => (c.op === "delete" ? [] : [c.after]));

/** Links a vxlan may sit on come first, so a vxlan's `dev` exists when it is created. */
const linkRank = (l: Link): number => (l.kind === "vxlan" || l.kind === "ipip" || l.kind === "ip6tnl" ? 1 : 0);
/** Routes without a gateway first: a later route's gateway may be reachable only through them. */
const routeRank = (r: Route): number => (r.via === undefined ? 0 : 1);
/** `route replace` lines of the created and updated routes of one rank (stable, one pass: plans can hold thousands). */
function routesIn(cs: readonly Change<Route>[], rank: 0 | 1): string[] {
  const out: string[] = [];
  for (const c of cs) if (c.op !== "delete" && routeRank(c.after) === rank) out.push(routeReplaceLine(c.after));
  return out;
}

function script(order: number, v6: boolean, tables: readonly string[], batch: BatchLines): Script {
  const args = v6 ? IP6_BATCH_ARGS : IP_BATCH_ARGS;
  return {
    order,
    title: `ip ${v6 ? "-6 " : ""}-batch (${tables.join(", ")})`,
    text: `ip ${args.join(" ")} <<'EOF'\n${batch.stdin}EOF\n`,
    run: (exec: Exec) => runIpBatch(exec, args, batch),
  };
}

/**
 * One section of a script: its table, its lines, and whether they are independent of each
 * other (route lines: they may run in parallel processes, parallel-batch.ts).
 */
type Section = readonly [table: string, lines: readonly string[], independent?: "independent"];

/** Sections of one script, in order; empty sections dropped; at most one independent section is split (the largest). */
function build(order: number, v6: boolean, sections: readonly Section[]): Script[] {
  const used = sections.filter(([, ls]) => ls.length > 0);
  if (used.length === 0) return [];
  const tables = [...new Set(used.map(([t]) => t))];
  const lines: string[] = [];
  let block: BatchLines["block"];
  for (const [, ls, independent] of used) {
    if (independent && (block === undefined || ls.length > block.end - block.start)) block = { start: lines.length, end: lines.length + ls.length };
    for (const l of ls) lines.push(l);
  }
  return [script(order, v6, tables, batchLines(lines, block))];
}

/** The scripts for a plan's iproute2 tables; [] when they hold no change. */
export function compileIp(plan: IpPlan): Script[] {
  // `ip rule del` matches on the attributes it is given, so `from all` would also hit a more
  // specific rule of the same priority and table: delete the most specific rules first.
  const rulesOut = befores(plan.rules).sort((a, b) => selectorParts(b) - selectorParts(a));
  const rulesIn = afters(plan.rules);
  const routesOut = befores(plan.routes, (b, a) => b.family === a.family);
  const addressesOut = befores(plan.addresses);

  const linkLines: string[] = [];
  const linkDeletes: string[] = [];
  const ordered = [...plan.links].sort((x, y) =>
    linkRank(x.op === "delete" ? x.before : x.after) - linkRank(y.op === "delete" ? y.before : y.after));
  for (const c of ordered) {
    if (c.op === "create") linkLines.push(linkAddLine(c.after));
    else if (c.op === "delete") linkDeletes.push(`link del ${c.before.name}`);
    else if (needsRecreate(c.before, c.after)) linkLines.push(`link del ${c.before.name}`, linkAddLine(c.after));
    else {
      const line = linkSetLine(c.before, c.after);
      if (line !== undefined) linkLines.push(line);
    }
  }

  const v4 = (r: PolicyRule): boolean => r.family === "ipv4";
  const v6 = (r: PolicyRule): boolean => r.family === "ipv6";
  // neighbour deletes before any `address del` (the kernel flushes a device's IPv4
  // neighbours with its last IPv4 address); adds at the end, once the devices exist (neigh.ts)
  const neigh = compileNeighbors(plan.neighbors ?? []);
  // FoU receive ports: created, never deleted (registry `never-delete`)
  const fouIn = afters(plan.fouPorts ?? []);
  return [
    ...build(ORDER.ipRemove, false, [
      ["neighbors", neigh.remove],
      ["rules", rulesOut.filter(v4).map((r) => ruleLine("del", r))],
      ["routes", routesOut.map(routeDelLine), "independent"],
      ["addresses", addressesOut.map(addressDelLine)],
    ]),
    ...build(ORDER.ipRemove, true, [["rules", rulesOut.filter(v6).map((r) => ruleLine("del", r))]]),
    ...build(ORDER.ipAdd, false, [
      ["links", linkLines],
      ["fouPorts", fouIn.filter((p) => p.family === "ipv4").map(fouAddLine)],
      ["addresses", afters(plan.addresses).map(addressAddLine)],
      ["routes", routesIn(plan.routes, 0)],
      ["routes", routesIn(plan.routes, 1), "independent"],
      ["rules", rulesIn.filter(v4).map((r) => ruleLine("add", r))],
      ["links", linkDeletes],
      ["neighbors", neigh.add],
    ]),
    ...build(ORDER.ipAdd, true, [
      ["fouPorts", fouIn.filter((p) => p.family === "ipv6").map(fouAddLine)],
      ["rules", rulesIn.filter(v6).map((r) => ruleLine("add", r))],
    ]),
  ];
}
