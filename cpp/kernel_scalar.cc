// Portable xoshiro256++ row kernel: the reference for every SIMD kernel.
#include <cstring>

#include "kernels.h"

namespace dgen {

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline void store_le64(uint8_t* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  std::memcpy(p, &v, 8);
}

void rows_scalar(LaneState& st, uint8_t* dst, size_t rows) {
  for (size_t r = 0; r < rows; ++r) {
    for (int l = 0; l < kLanes; ++l) {
      uint64_t s0 = st.s[0][l], s1 = st.s[1][l], s2 = st.s[2][l], s3 = st.s[3][l];
      store_le64(dst + 8 * l, rotl(s0 + s3, 23) + s0);
      const uint64_t t = s1 << 17;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 45);
      st.s[0][l] = s0, st.s[1][l] = s1, st.s[2][l] = s2, st.s[3][l] = s3;
    }
    dst += kRowBytes;
  }
}

void spread_scalar(const uint8_t* ks, uint8_t* dst, size_t sectors, uint64_t random_fp) {
  for (uint64_t s = 0; s < sectors; ++s, dst += 512) {
    const uint64_t at = (s * random_fp) >> 32, r = (((s + 1) * random_fp) >> 32) - at;
    std::memcpy(dst, ks + at, r);
    std::memset(dst + r, 0, 512 - r);
  }
}

}  // namespace dgen
