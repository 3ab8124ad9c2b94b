/**
 * mulberry32: a small seeded generator, good enough to pick fuzz cases, with the helpers the
 * seeded fuzz suites use (test/http/fuzz.test.ts, test/records/rest-model-fuzz.test.ts). A seed
 * replays the same cases, ids included. (The simulations' `Rng` class, test/support/device.ts,
 * draws its own sequences.)
 */
export function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** An integer in [a, b]. */
  const int = (a: number, b: number) => a + Math.floor(next() * (b - a + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const chance = (p: number) => next() < p;
  const subset = <T>(xs: readonly T[], p = 0.4): T[] => xs.filter(() => chance(p));
  /** A UUID drawn from the generator, so that a seed replays the same ids. */
  const uuid = () => {
    const h = Array.from({ length: 32 }, () => "0123456789abcdef"[int(0, 15)]).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  return { int, pick, chance, subset, uuid };
}

/** The generator {@link prng} returns. */
export type Prng = ReturnType<typeof prng>;
