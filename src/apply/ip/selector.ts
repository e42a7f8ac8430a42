/**
 * Policy-rule selectors (`ip rule` syntax): one structured form, parsed from the text
 * compile writes or from `ip -j rule show` fields, and one canonical text. Canonical text
 * lists the parts in the order `ip rule show` prints them (`not`, `from`, `to`, `tos`,
 * `fwmark`, `iif`, `oif`), omits `from all`/`to all` (an empty selector is `from all`), writes
 * prefixes as `addr/len` (`/32`, `/128` for hosts; host bits are kept, as the kernel keeps them)
 * and fwmarks in lowercase hex with the mask only when it is not 0xffffffff.
 * Pure.
 *
 * @category apply
 */
import type { Family } from "../../model/state.ts";
import { formatPrefix, parsePrefix } from "../../model/ip.ts";

export interface Selector {
  readonly not: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly tos?: string;
  /** `0xV` or `0xV/0xM` */
  readonly fwmark?: string;
  readonly iif?: string;
  readonly oif?: string;
}

const FULL_MASK = 0xffffffffn;

function u32(text: string): bigint | undefined {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(text)) return undefined;
  const v = BigInt(text);
  return v <= FULL_MASK ? v : undefined;
}

/** Canonical `0xV[/0xM]` for a fwmark text (decimal or hex parts); undefined when malformed. */
export function canonicalFwmark(text: string): string | undefined {
  const [v, m, extra] = text.split("/");
  if (v === undefined || extra !== undefined) return undefined;
  const value = u32(v);
  const maskv = m === undefined ? FULL_MASK : u32(m);
  if (value === undefined || maskv === undefined) return undefined;
  return maskv === FULL_MASK ? `0x${value.toString(16)}` : `0x${value.toString(16)}/0x${maskv.toString(16)}`;
}

function prefixFor(text: string, family: Family): string | { error: string } | undefined {
  if (text === "all") return undefined;
  const p = parsePrefix(text);
  if (p === undefined) return { error: `invalid prefix "${text}"` };
  if (p.family !== family) return { error: `prefix "${text}" is not ${family}` };
  return formatPrefix(p);
}

/**
 * Parses selector text (`from 10.0.0.0/8 fwmark 0x4d`, `not to fd00::/64`, `iif eth0`, …) for
 * a family. Returns the selector, or an error message naming the offending token.
 */
export function parseSelector(text: string, family: Family): Selector | { error: string } {
  const t = text.trim().split(/\s+/).filter((s) => s !== "");
  const out: { not: boolean; from?: string; to?: string; tos?: string; fwmark?: string; iif?: string; oif?: string } = { not: false };
  for (let i = 0; i < t.length; i++) {
    const word = t[i] as string;
    if (word === "not") { out.not = true; continue; }
    const arg = t[i + 1];
    if (arg === undefined) return { error: `"${word}" needs an argument` };
    i++;
    switch (word) {
      case "from":
      case "to": {
        const p = prefixFor(arg, family);
        if (typeof p === "object") return p;
        if (p !== undefined) out[word] = p;
        break;
      }
      case "fwmark": {
        const m = canonicalFwmark(arg);
        if (m === undefined) return { error: `invalid fwmark "${arg}"` };
        out.fwmark = m;
        break;
      }
      case "tos":
      case "dsfield":
        out.tos = arg;
        break;
      case "iif":
      case "dev":
        out.iif = arg;
        break;
      case "oif":
        out.oif = arg;
        break;
      default:
        return { error: `unsupported selector "${word}"` };
    }
  }
  return out;
}

/** The canonical text of a selector (see the module comment). */
export function formatSelector(s: Selector): string {
  const parts: string[] = [];
  if (s.not) parts.push("not");
  if (s.from !== undefined) parts.push(`from ${s.from}`);
  if (s.to !== undefined) parts.push(`to ${s.to}`);
  if (s.tos !== undefined) parts.push(`tos ${s.tos}`);
  if (s.fwmark !== undefined) parts.push(`fwmark ${s.fwmark}`);
  if (s.iif !== undefined) parts.push(`iif ${s.iif}`);
  if (s.oif !== undefined) parts.push(`oif ${s.oif}`);
  if (parts.length === 0 || (parts.length === 1 && s.not)) parts.push("from all");
  return parts.join(" ");
}

/**
 * Canonical selector text for a family. Throws Error (one line) on text `parseSelector`
 * rejects. Renderers call it so desired rules compare equal to observed ones.
 */
export function canonicalSelector(text: string, family: Family): string {
  const s = parseSelector(text, family);
  if ("error" in s) throw new Error(`rule selector "${text}": ${s.error}`);
  return formatSelector(s);
}
