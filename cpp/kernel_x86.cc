// AVX2 and AVX-512 xoshiro256++ row kernels. Compiled with per-function target attributes so that the
// addon still loads on CPUs without these extensions; kernels.cc only calls them where the CPU has them.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "kernels.h"
#include "mix.h"

namespace dgen {

__attribute__((target("avx2"))) static inline __m256i rotl256(__m256i x, int k) {
  return _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - k));
}

// Two registers of four lanes: lanes 0-3 and 4-7, stepped in an interleaved way to hide latency.
__attribute__((target("avx2"))) void rows_avx2(LaneState& st, uint8_t* dst, size_t rows) {
  __m256i a0 = _mm256_load_si256((const __m256i*)&st.s[0][0]), b0 = _mm256_load_si256((const __m256i*)&st.s[0][4]);
  __m256i a1 = _mm256_load_si256((const __m256i*)&st.s[1][0]), b1 = _mm256_load_si256((const __m256i*)&st.s[1][4]);
  __m256i a2 = _mm256_load_si256((const __m256i*)&st.s[2][0]), b2 = _mm256_load_si256((const __m256i*)&st.s[2][4]);
  __m256i a3 = _mm256_load_si256((const __m256i*)&st.s[3][0]), b3 = _mm256_load_si256((const __m256i*)&st.s[3][4]);
  for (size_t r = 0; r < rows; ++r) {
    const __m256i ra = _mm256_add_epi64(rotl256(_mm256_add_epi64(a0, a3), 23), a0);
    const __m256i rb = _mm256_add_epi64(rotl256(_mm256_add_epi64(b0, b3), 23), b0);
    _mm256_storeu_si256((__m256i*)dst, ra);
    _mm256_storeu_si256((__m256i*)(dst + 32), rb);
    const __m256i ta = _mm256_slli_epi64(a1, 17), tb = _mm256_slli_epi64(b1, 17);
    a2 = _mm256_xor_si256(a2, a0), b2 = _mm256_xor_si256(b2, b0);
    a3 = _mm256_xor_si256(a3, a1), b3 = _mm256_xor_si256(b3, b1);
    a1 = _mm256_xor_si256(a1, a2), b1 = _mm256_xor_si256(b1, b2);
    a0 = _mm256_xor_si256(a0, a3), b0 = _mm256_xor_si256(b0, b3);
    a2 = _mm256_xor_si256(a2, ta), b2 = _mm256_xor_si256(b2, tb);
    a3 = rotl256(a3, 45), b3 = rotl256(b3, 45);
    dst += kRowBytes;
  }
  _mm256_store_si256((__m256i*)&st.s[0][0], a0), _mm256_store_si256((__m256i*)&st.s[0][4], b0);
  _mm256_store_si256((__m256i*)&st.s[1][0], a1), _mm256_store_si256((__m256i*)&st.s[1][4], b1);
  _mm256_store_si256((__m256i*)&st.s[2][0], a2), _mm256_store_si256((__m256i*)&st.s[2][4], b2);
  _mm256_store_si256((__m256i*)&st.s[3][0], a3), _mm256_store_si256((__m256i*)&st.s[3][4], b3);
}

// The all-lanes masked forms name their pass-through operand; GCC 12 warns (-Wmaybe-uninitialized) about
// the undefined one that the plain _mm512_rol_epi64 / _mm512_slli_epi64 pass.
template <int K>
__attribute__((target("avx512f"))) static inline __m512i rotl512(__m512i x) {
  return _mm512_mask_rol_epi64(x, 0xff, x, K);
}

// One xoshiro256++ state update on eight lanes. The reference's five XORs become two three-way XORs
// (vpternlogq, truth table 0x96) and two XORs: 9 vector operations per row with the output, not 10,
// which measured 7% faster on Zen 4, where this loop is bound by vector-pipe throughput.
__attribute__((target("avx512f"))) static inline void step512(__m512i& s0, __m512i& s1, __m512i& s2, __m512i& s3) {
  const __m512i t = _mm512_mask_slli_epi64(s1, 0xff, s1, 17);
  const __m512i s3x = _mm512_xor_si512(s3, s1);                    // s3 ^ s1
  const __m512i s2x = _mm512_ternarylogic_epi64(s2, s0, t, 0x96);  // s2 ^ s0 ^ t
  s1 = _mm512_ternarylogic_epi64(s1, s2, s0, 0x96);                // s1 ^ (s2 ^ s0)
  s2 = s2x;
  s0 = _mm512_xor_si512(s0, s3x);  // s0 ^ (s3 ^ s1)
  s3 = rotl512<45>(s3x);
}

// One register holds all eight lanes; AVX-512 has a native 64-bit rotate.
__attribute__((target("avx512f"))) void rows_avx512(LaneState& st, uint8_t* dst, size_t rows) {
  __m512i s0 = _mm512_load_si512(&st.s[0][0]), s1 = _mm512_load_si512(&st.s[1][0]);
  __m512i s2 = _mm512_load_si512(&st.s[2][0]), s3 = _mm512_load_si512(&st.s[3][0]);
  for (size_t r = 0; r < rows; ++r) {
    _mm512_storeu_si512(dst, _mm512_add_epi64(rotl512<23>(_mm512_add_epi64(s0, s3)), s0));
    step512(s0, s1, s2, s3);
    dst += kRowBytes;
  }
  _mm512_store_si512(&st.s[0][0], s0), _mm512_store_si512(&st.s[1][0], s1);
  _mm512_store_si512(&st.s[2][0], s2), _mm512_store_si512(&st.s[3][0], s3);
}

template <int K>
__attribute__((target("avx512f"))) static inline __m512i srli512(__m512i x) {
  return _mm512_mask_srli_epi64(x, 0xff, x, K);  // masked form: see rotl512
}

// mix64 (SplitMix64's output function) on eight lanes; AVX512DQ has the 64-bit multiply.
__attribute__((target("avx512f,avx512dq"))) static inline __m512i mix512(__m512i z) {
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, srli512<30>(z)), _mm512_set1_epi64(int64_t(0xbf58476d1ce4e5b9ULL)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, srli512<27>(z)), _mm512_set1_epi64(int64_t(0x94d049bb133111ebULL)));
  return _mm512_xor_si512(z, srli512<31>(z));
}

// M blocks at a time (M <= 4): seeding vectorized (word w of lane l is SplitMix64 output 4l + w + 1 from
// the block key, as seed_block computes it), then the blocks' rows interleaved so that M independent
// dependency chains keep the vector units busy.
template <size_t M>
__attribute__((target("avx512f,avx512dq"))) static void blocks_avx512_m(const uint64_t* keys, const uint64_t* blocks,
                                                                        uint8_t* const* dst, size_t rows) {
  const __m512i golden = _mm512_set1_epi64(int64_t(0x9e3779b97f4a7c15ULL));
  const __m512i k = _mm512_mullo_epi64(golden, _mm512_set_epi64(29, 25, 21, 17, 13, 9, 5, 1));  // golden * (4l + 1)
  __m512i s0[M], s1[M], s2[M], s3[M];
  for (size_t j = 0; j < M; ++j) {
    const __m512i base = _mm512_add_epi64(_mm512_set1_epi64(int64_t(hash2(keys[j], blocks[j], kDomainBlock))), k);
    s0[j] = mix512(base);
    s1[j] = mix512(_mm512_add_epi64(base, golden));
    s2[j] = mix512(_mm512_add_epi64(base, _mm512_add_epi64(golden, golden)));
    s3[j] = mix512(_mm512_add_epi64(base, _mm512_add_epi64(golden, _mm512_add_epi64(golden, golden))));
  }
  uint8_t* out[M];  // local copies: the compiler cannot keep dst[j] in registers across the stores
  for (size_t j = 0; j < M; ++j) out[j] = dst[j];
  for (size_t r = 0; r < rows; ++r) {
#pragma GCC unroll 4
    for (size_t j = 0; j < M; ++j) {
      _mm512_storeu_si512(out[j], _mm512_add_epi64(rotl512<23>(_mm512_add_epi64(s0[j], s3[j])), s0[j]));
      out[j] += kRowBytes;
      step512(s0[j], s1[j], s2[j], s3[j]);
    }
  }
}

__attribute__((target("avx512f,avx512dq"))) void blocks_avx512(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst,
                                                               size_t n, size_t rows) {
  for (; n >= 4; keys += 4, blocks += 4, dst += 4, n -= 4) blocks_avx512_m<4>(keys, blocks, dst, rows);
  if (n == 3) blocks_avx512_m<3>(keys, blocks, dst, rows);
  if (n == 2) blocks_avx512_m<2>(keys, blocks, dst, rows);
  if (n == 1) blocks_avx512_m<1>(keys, blocks, dst, rows);
}

// One sector is eight 64-byte lines; line i takes n_i = clamp(r - 64 i, 0, 64) keystream bytes through a
// byte-masked load (masked-off bytes read as zero and are never touched in memory) and is stored whole.
// No call and no branch per sector: memcpy/memset of a variable length cost more per sector than the
// keystream itself at c = 3 (measured: c = 3 fills went from 30 to 40 GB/s, c = 2 from 26 to 33), and a
// version that branched on r / 64 ran slower still.
__attribute__((target("avx512f,avx512bw,bmi2"))) void spread_avx512(const uint8_t* ks, uint8_t* dst, size_t sectors,
                                                                    uint64_t random_fp) {
  for (uint64_t s = 0; s < sectors; ++s, dst += 512) {
    const uint64_t at = (s * random_fp) >> 32;
    const int64_t r = int64_t((((s + 1) * random_fp) >> 32) - at);
    const uint8_t* src = ks + at;
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      // Clamped to [0, 64]: bzhi reads only the low 8 bits of its index (keeping all bits from 64 to 255).
      const int64_t n = std::min<int64_t>(64, std::max<int64_t>(0, r - 64 * i));
      const __mmask64 m = _bzhi_u64(~0ULL, unsigned(n));
      _mm512_storeu_si512(dst + 64 * i, _mm512_maskz_loadu_epi8(m, src + 64 * i));
    }
  }
}

}  // namespace dgen
#endif
