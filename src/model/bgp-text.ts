/**
 * Printers of BGP table changes in the `gobgp` CLI's own syntax (what `--dry-run` and the
 * golden files show). Pure; one change → one or more lines, deterministic.
 *
 * What the CLI cannot express (a peer's port, local address, timers, password, graceful
 * restart, BFD; the global graceful-restart settings) follows the command as a shell comment
 * (`# port 179 hold-time 90 …`), so every line still pastes into a shell. Passwords are never
 * printed: `password <set>` only says one is configured.
 *
 * Changes that GoBGP applies in place are printed in place: a peer update is
 * `gobgp neighbor update`, a policy update removes dropped and changed statements from the
 * policy and appends new and changed ones (`policy del|add <name> <statements>`), a
 * defined-set update adds and deletes members, an assignment update is
 * `global policy <dir> set`. A global config change needs a fresh gobgpd: `global del all`
 * then the new `global as …`.
 *
 * @category models
 */
import type {
  BgpDefinedSet, BgpDefinedSetType, BgpGlobal, BgpPath, BgpPeer, BgpPolicy, BgpPolicyAssignment, BgpStatement, BgpTableName,
} from "./bgp.ts";
import { type Change, deepEqual } from "./table.ts";

const comment = (parts: readonly string[]): string => (parts.length > 0 ? ` # ${parts.join(" ")}` : "");

/** `gobgp global as … router-id … listen-port … listen-addresses …`. */
export function globalText(c: Change<BgpGlobal>): string[] {
  const line = (g: BgpGlobal) =>
    `gobgp global as ${g.asn} router-id ${g.routerId} listen-port ${g.listenPort}` +
    (g.listenAddresses.length > 0 ? ` listen-addresses ${g.listenAddresses.join(" ")}` : "") +
    comment(g.gracefulRestart ? [`graceful-restart restart-time ${g.gracefulRestart.restartTime} deferral-time ${g.gracefulRestart.deferralTime}`] : []);
  switch (c.op) {
    case "create": return [line(c.after)];
    case "update": return ["gobgp global del all", line(c.after)];
    case "delete": return ["gobgp global del all"];
  }
}

function peerLine(verb: "add" | "update", p: BgpPeer): string {
  const args = [`gobgp neighbor ${verb} ${p.neighborAddress} as ${p.peerAsn}`];
  if (p.families.length > 0) args.push(`family ${p.families.join(",")}`);
  if (p.routeReflectorClusterId !== undefined) args.push(`route-reflector-client ${p.routeReflectorClusterId}`);
  if (p.ebgpMultihopTtl !== undefined) args.push(`ebgp-multihop-ttl ${p.ebgpMultihopTtl}`);
  const rest = [
    `kind ${p.kind}`, `port ${p.port}`,
    ...(p.localAddress !== undefined ? [`local-address ${p.localAddress}`] : []),
    `hold-time ${p.holdTime}`, `keepalive ${p.keepaliveInterval}`, `connect-retry ${p.connectRetry}`,
    ...(p.password !== undefined ? ["password <set>"] : []),
    ...(p.gracefulRestart ? [`graceful-restart ${p.gracefulRestart.restartTime}/${p.gracefulRestart.deferralTime}`] : []),
    ...(p.bfd ? [`bfd port ${p.bfd.port} multiplier ${p.bfd.detectionMultiplier} tx ${p.bfd.desiredMinTxInterval}us rx ${p.bfd.requiredMinRxInterval}us`] : []),
  ];
  return args.join(" ") + comment(rest);
}

/** `gobgp neighbor add|update|del <address> …`. */
export function peerText(c: Change<BgpPeer>): string[] {
  switch (c.op) {
    case "create": return [peerLine("add", c.after)];
    case "update": return [peerLine("update", c.after)];
    case "delete": return [`gobgp neighbor del ${c.before.neighborAddress}`];
  }
}

const afi = (p: Pick<BgpPath, "family">): string => (p.family === "ipv6" ? "ipv6" : "ipv4");

/** `gobgp global rib add|del <prefix> nexthop <ip> [community …] -a ipv4|ipv6`. */
export function pathText(c: Change<BgpPath>): string[] {
  const add = (p: BgpPath) =>
    `gobgp global rib add ${p.prefix} nexthop ${p.nextHop}` +
    (p.communities.length > 0 ? ` community ${p.communities.join(",")}` : "") +
    ` -a ${afi(p)}` +
    comment(p.asPathPrepend ? [`as-path-prepend ${p.asPathPrepend.asn} x${p.asPathPrepend.repeat}`] : []);
  switch (c.op) {
    case "create":
    case "update": return [add(c.after)]; // re-adding a local path replaces it
    case "delete": return [`gobgp global rib del ${c.before.prefix} -a ${afi(c.before)}`];
  }
}

const SET_WORD: Readonly<Record<BgpDefinedSetType, string>> = {
  "prefix": "prefix", "neighbor": "neighbor", "community": "community", "ext-community": "ext-community",
  "large-community": "large-community", "as-path": "as-path", "next-hop": "next-hop",
};
/** The members of a set as the CLI writes them (`10.0.0.0/24 24..24`, `10.0.0.1/32`). */
const members = (s: BgpDefinedSet): string[] =>
  s.type === "prefix" ? s.prefixes.map((p) => `${p.prefix} ${p.maskLengthMin}..${p.maskLengthMax}`) : [...s.list];

/** `gobgp policy prefix|neighbor|community … add|del <name> <member>`. */
export function definedSetText(c: Change<BgpDefinedSet>): string[] {
  const s = c.op === "delete" ? c.before : c.after;
  const head = `gobgp policy ${SET_WORD[s.type]}`;
  switch (c.op) {
    case "create": return members(c.after).map((m) => `${head} add ${s.name} ${m}`);
    case "update": {
      const before = new Set(members(c.before));
      const after = new Set(members(c.after));
      return [
        ...[...after].filter((m) => !before.has(m)).map((m) => `${head} add ${s.name} ${m}`),
        ...[...before].filter((m) => !after.has(m)).map((m) => `${head} del ${s.name} ${m}`),
      ];
    }
    case "delete": return [`${head} del ${s.name}`];
  }
}

/** The lines that create one statement. */
export function statementLines(st: BgpStatement): string[] {
  const at = `gobgp policy statement ${st.name} add`;
  const out = [`gobgp policy statement add ${st.name}`];
  const cond = (kind: string, m: { name: string; match: string } | undefined) => {
    if (m !== undefined) out.push(`${at} condition ${kind} ${m.name}${m.match === "any" ? "" : ` ${m.match}`}`);
  };
  cond("prefix", st.conditions.prefixSet);
  cond("neighbor", st.conditions.neighborSet);
  const a = st.actions;
  if (a.community) out.push(`${at} action community ${a.community.type} ${a.community.communities.join(" ")}`);
  if (a.asPrepend) out.push(`${at} action as-prepend ${a.asPrepend.asn} ${a.asPrepend.repeat}`);
  if (a.nexthopSelf) out.push(`${at} action next-hop self`);
  if (a.route !== "none") out.push(`${at} action ${a.route}`);
  return out;
}

/** `gobgp policy statement …` then `gobgp policy add|set|del <name> <statements…>`. */
export function policyText(c: Change<BgpPolicy>): string[] {
  const names = (p: BgpPolicy) => p.statements.map((s) => s.name).join(" ");
  switch (c.op) {
    case "create": return [...c.after.statements.flatMap(statementLines), `gobgp policy add ${c.after.name}${c.after.statements.length > 0 ? ` ${names(c.after)}` : ""}`];
    case "update": {
      // GoBGP's CLI (and API) edits a policy by removing and appending statements; our
      // statements are disjoint in what they match, so their order does not change the result
      const old = new Map(c.before.statements.map((st) => [st.name, st]));
      const now = new Set(c.after.statements.map((st) => st.name));
      const changed = c.after.statements.filter((st) => old.has(st.name) && !deepEqual(old.get(st.name), st));
      const added = c.after.statements.filter((st) => !old.has(st.name));
      const dropped = c.before.statements.filter((st) => !now.has(st.name));
      const out: string[] = [];
      const off = [...dropped, ...changed];
      if (off.length > 0) out.push(`gobgp policy del ${c.after.name} ${off.map((st) => st.name).join(" ")}`, ...off.map((st) => `gobgp policy statement del ${st.name}`));
      const on = [...changed, ...added];
      if (on.length > 0) out.push(...on.flatMap(statementLines), `gobgp policy add ${c.after.name} ${on.map((st) => st.name).join(" ")}`);
      return out;
    }
    case "delete": return [`gobgp policy del ${c.before.name}`, ...c.before.statements.map((s) => `gobgp policy statement del ${s.name}`)];
  }
}

/** `gobgp global policy import|export add|set <policies…> default accept|reject`, or `del`. */
export function assignmentText(c: Change<BgpPolicyAssignment>): string[] {
  const line = (verb: string, a: BgpPolicyAssignment) => `gobgp global policy ${a.direction} ${verb} ${a.policies.join(" ")} default ${a.defaultAction}`;
  switch (c.op) {
    case "create": return [line("add", c.after)];
    case "update": return [line("set", c.after)];
    case "delete": return [`gobgp global policy ${c.before.direction} del`];
  }
}

/** The printer of each BGP table. */
export const BGP_TEXT: { readonly [T in BgpTableName]: (c: Change<never>) => string[] } = {
  bgpGlobal: globalText as (c: Change<never>) => string[],
  bgpPeers: peerText as (c: Change<never>) => string[],
  bgpPaths: pathText as (c: Change<never>) => string[],
  bgpDefinedSets: definedSetText as (c: Change<never>) => string[],
  bgpPolicies: policyText as (c: Change<never>) => string[],
  bgpAssignments: assignmentText as (c: Change<never>) => string[],
};

/** Prints one change of a BGP table. */
export function bgpChangeText(table: BgpTableName, c: Change<unknown>): string[] {
  return BGP_TEXT[table](c as Change<never>);
}
