// Hash mixing used to derive every key in the generator.
//
// mix64 is the SplitMix64 output function (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014) with the "variant 13" constants from David Stafford's "Better Bit Mixing"
// (2011). It is a bijection on 64-bit words with full avalanche, so keys derived through it never
// overlap the way keys derived by adding to a seed do.
#pragma once
#include <cstdint>

namespace dgen {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, SplitMix64's increment

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Two-input hash: both inputs pass through the mixer before they meet, so neither the difference of
// two `a`s nor of two `b`s can line the outputs up (an XOR of one mixed and one raw input would).
inline uint64_t hash2(uint64_t a, uint64_t b, uint64_t domain) { return mix64(mix64(a ^ domain) ^ mix64(b + kGolden)); }

// Domain separators (first digits of sqrt(2), sqrt(3), sqrt(5), sqrt(7), sqrt(11) in hex, as in SHA-2's
// IVs), so that an object key, a pool key, a unit key and a block key are never the same hash of the
// same numbers.
constexpr uint64_t kDomainObject = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kDomainUnit = 0xbb67ae8584caa73bULL;
constexpr uint64_t kDomainBlock = 0x3c6ef372fe94f82bULL;
constexpr uint64_t kDomainPermute = 0xa54ff53a5f1d36f1ULL;
constexpr uint64_t kDomainPool = 0x510e527fade682d1ULL;  // sqrt(11)

}  // namespace dgen
