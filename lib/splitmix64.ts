/**
 * SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the
 * fixed-increment form of Vigna's splitmix64.c, https://prng.di.unimi.it/splitmix64.c) on BigInts: the
 * one TypeScript copy of the mixer the addon derives every key with (cpp/mix.h, "variant 13" constants
 * from Stafford's "Better Bit Mixing", 2011). test/native-limits.test.ts pins it to the addon's and to
 * published outputs.
 * @module
 */

/** 2^64 - 1: every step is reduced modulo 2^64. */
export const MASK64 = (1n << 64n) - 1n;

/** SplitMix64's increment: 2^64 / golden ratio (kGolden in cpp/mix.h). */
export const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/**
 * SplitMix64's output function (mix64 in cpp/mix.h): a bijection on 64-bit words with full avalanche.
 * @param z - a 64-bit word (0 <= z < 2^64; higher bits are not expected).
 * @returns the mixed word, 0 <= result < 2^64.
 */
export function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * The SplitMix64 sequence from `seed`: the i-th output (i from 1) is mix64(seed + i x GOLDEN_GAMMA mod
 * 2^64), as splitmix64.c's next() returns it.
 * @param seed - the state before the first output (a 64-bit word).
 * @param count - how many outputs.
 * @returns `count` 64-bit words.
 */
export function splitmix64(seed: bigint, count: number): bigint[] {
  const out: bigint[] = [];
  let state = seed & MASK64;
  for (let i = 0; i < count; i++) {
    state = (state + GOLDEN_GAMMA) & MASK64;
    out.push(mix64(state));
  }
  return out;
}
