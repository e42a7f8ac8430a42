/**
 * Rule-text builders for the firewall's chains, in the canonical form iptables-save prints
 * (src/apply/iptables/canonical.ts catalogues each shape), so an unchanged chain compares
 * equal to what observe reads back and is never rewritten. Pure.
 *
 * @category render
 */
import { hashName } from "../../model/names.ts";
import { ruleText } from "../../model/iptables-rule.ts";
import type { Family } from "../../model/state.ts";

/** `0x10000`: allowed by some policy in the pod chain being evaluated. */
export const MARK_ALLOWED = "0x10000/0x10000";
/** `0x20000`: passed network policy (accepted by the tail). */
export const MARK_NETPOL_OK = "0x20000/0x20000";
/** NFLOG group of logged drops (upstream). */
export const NFLOG_GROUP = "100";

/** iptables comments are at most 255 characters; longer ones are clamped. */
export function commentArgs(text: string): string[] {
  return ["-m", "comment", "--comment", text.length > 255 ? text.slice(0, 255) : text];
}

/** An address as iptables-save prints it in `-s`/`-d`: with its full prefix length. */
export function hostCidr(ip: string, family: Family): string {
  return `${ip}/${family === "ipv4" ? 32 : 128}`;
}

/** The REJECT target with the family's default reject type, as saved. */
export function rejectArgs(family: Family): string[] {
  return ["-j", "REJECT", "--reject-with", family === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable"];
}

/** upstream's frozen comment suffix: ` - ` + H(chain + rule arguments). */
export function uuidSuffix(chain: string, args: readonly string[]): string {
  return hashName(chain + ruleText(args));
}

export { ruleText };
