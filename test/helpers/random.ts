// A seeded pseudo-random generator for the fuzz and differential tests: a failure names the seed
// that replays it.

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function random (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
