/**
 * A seeded PRNG for the corpus (mulberry32): a failing case is replayed with FERRY_CORPUS_SEED=<seed>,
 * which every test prints.
 */
export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export function corpusSeed(): number {
  const fromEnv = Number(process.env.FERRY_CORPUS_SEED);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 0xffffffff) + 1;
}

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { seed, next, int, pick: (items) => items[int(items.length)] as (typeof items)[number] };
}
