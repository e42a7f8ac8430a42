/**
 * DSR fwmarks (kube-router-features.md §3.7): FNV-1a-32 of `<ip>-<proto>-<port>` masked with
 * 0x3FFF; on a collision with another key (or a zero mark) the next try hashes
 * `<ip>-<proto>-<port>-<n>`, n = 1, 2, … up to 16380 tries, as upstream does. Unlike upstream,
 * whose result depends on in-memory collision history, keys are allocated in sorted order from
 * an empty map, so the same set of DSR services always gets the same marks. Pure.
 *
 * @category render
 */
import { DSR_FWMARK_MAX } from "../../model/names.ts";

const MAX_TRIES = 16380;

/** FNV-1a 32-bit of a string's UTF-8 bytes (keys are ASCII). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** `<ip>-<proto>-<port>`, the identity a DSR mark is derived from. */
export const fwmarkKey = (ip: string, proto: string, port: number): string => `${ip}-${proto}-${port}`;

/**
 * Allocates a mark for every key (any order in; allocation in sorted order). A key that finds
 * no free mark is reported in `errors` with upstream's message and gets no mark.
 */
export function allocateFwmarks(keys: Iterable<string>): { marks: Map<string, number>; errors: string[] } {
  const marks = new Map<string, number>();
  const used = new Set<number>();
  const errors: string[] = [];
  for (const key of [...new Set(keys)].sort()) {
    let mark = fnv1a32(key) & DSR_FWMARK_MAX;
    let n = 0;
    while (mark === 0 || used.has(mark)) {
      n++;
      if (n > MAX_TRIES) break;
      mark = fnv1a32(`${key}-${n}`) & DSR_FWMARK_MAX;
    }
    if (n > MAX_TRIES) {
      const [ip, proto, port] = key.split(/-(?=[a-z]+-\d+$)|-(?=\d+$)/);
      errors.push(`could not obtain a unique FWMark for ${proto}:${ip}:${port} after ${MAX_TRIES} tries`);
      continue;
    }
    used.add(mark);
    marks.set(key, mark);
  }
  return { marks, errors };
}
