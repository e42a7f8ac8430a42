/**
 * A small seeded PRNG (mulberry32) so synthetic clusters are identical run after run.
 * Never Math.random: the generator must be a pure function of its size.
 */

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** `n` lowercase hex digits. */
  hex(n: number): string;
  /** `n` characters of Kubernetes' name-suffix alphabet (bcdfghjklmnpqrstvwxz2456789). */
  suffix(n: number): string;
  /** A random-looking UUID (version 4 layout). */
  uuid(): string;
}

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** mulberry32 seeded with `seed` (any 32-bit integer). */
export function mulberry32(seed: number): Prng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const hex = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += int(16).toString(16);
    return s;
  };
  return {
    next,
    int,
    hex,
    suffix(n) {
      let s = "";
      for (let i = 0; i < n; i++) s += SUFFIX_ALPHABET[int(SUFFIX_ALPHABET.length)];
      return s;
    },
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[int(4)]}${hex(3)}-${hex(12)}`,
  };
}

/** A 32-bit seed from a string (FNV-1a), so each size has its own fixed stream. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
