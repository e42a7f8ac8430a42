/**
 * An ipBlock peer as `hash:net` members (kube-router-features.md §4.2). Pure.
 *
 * Guarantees:
 * - `cidr` must be a valid CIDR, each `except` too; an invalid one is a problem naming the
 *   field and the block yields no members (the caller fails the direction closed);
 * - the block contributes to the set of its own family only (an IPv6 block adds nothing to the
 *   IPv4 set); an except of the other family is ignored;
 * - members are in `ipset save` form; excepts carry ` nomatch`, so the most specific entry
 *   wins at lookup: an address in an except does not match, the rest of the cidr does;
 * - a `/0` (which ipset refuses) is split in two halves: `0.0.0.0/1` + `128.0.0.0/1`, and for
 *   IPv6 `::/1` + `8000::/1` (upstream uses `2000::/3` + `fd00::/8`, which misses most of the
 *   space; we cover all of it);
 * - an except equal to the cidr removes it (nothing matches), never both flags on one element.
 *
 * @category render
 */
import { canonicalCidr, cidrFamily } from "../../model/ip.ts";
import { canonicalMember } from "../../model/ipset-members.ts";
import type { Family } from "../../model/state.ts";

/** The block's family (undefined when the cidr is invalid). */
export function ipBlockFamily(cidr: string): Family | undefined {
  return cidrFamily(cidr);
}

/** Problems of a block: invalid cidr or except (each `<field>: <why>`). */
export function ipBlockProblems(block: { readonly cidr: string; readonly except: readonly string[] }, field: string): string[] {
  const out: string[] = [];
  if (canonicalCidr(block.cidr) === undefined) out.push(`${field}.cidr: invalid CIDR ${JSON.stringify(block.cidr)}`);
  block.except.forEach((e, i) => {
    if (canonicalCidr(e) === undefined) out.push(`${field}.except[${i}]: invalid CIDR ${JSON.stringify(e)}`);
  });
  return out;
}

function elements(cidr: string, family: Family): string[] {
  const c = canonicalCidr(cidr);
  if (c === undefined || cidrFamily(c) !== family) return [];
  const setFamily = family === "ipv4" ? "inet" : "inet6";
  if (c.endsWith("/0")) return family === "ipv4" ? ["0.0.0.0/1", "128.0.0.0/1"] : ["::/1", "8000::/1"];
  return [canonicalMember("hash:net", setFamily, c)];
}

/** The block's members for the set of `family` (empty for a block of the other family). */
export function ipBlockMembers(block: { readonly cidr: string; readonly except: readonly string[] }, family: Family): string[] {
  const byElement = new Map<string, boolean>(); // element → nomatch
  for (const e of elements(block.cidr, family)) byElement.set(e, false);
  if (byElement.size === 0) return [];
  for (const x of block.except) {
    for (const e of elements(x, family)) {
      if (byElement.get(e) === false) byElement.delete(e);
      else byElement.set(e, true);
    }
  }
  return [...byElement].map(([e, nomatch]) => (nomatch ? `${e} nomatch` : e)).sort();
}
