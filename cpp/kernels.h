// xoshiro256++ keystream kernels: one row is eight independent xoshiro256++ lanes stepped once, lane l's
// 64-bit output stored little-endian at bytes [8l, 8l+8) of the row. Every kernel (scalar, AVX2,
// AVX-512) writes the same bytes; which one runs is chosen at run time from the CPU's features.
//
// xoshiro256++: Blackman and Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4),
// 2021; reference code at prng.di.unimi.it/xoshiro256plusplus.c.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dgen {

constexpr int kLanes = 8;
constexpr size_t kRowBytes = kLanes * 8;

// State of the eight lanes, word-major (s[w][lane]) so that a vector load takes one word of 4 or 8 lanes.
struct alignas(64) LaneState {
  uint64_t s[4][kLanes];
};

// Writes `rows` rows (64 bytes each) to dst and advances every lane by `rows` steps.
using RowKernel = void (*)(LaneState& st, uint8_t* dst, size_t rows);

// Seeds the eight lanes of keystream block `block` of the unit with key `key`: a SplitMix64 sequence
// started at hash(key, block) gives lane l's words w = 0..3 as outputs 4l + w + 1.
void seed_block(LaneState& st, uint64_t key, uint64_t block);

// Several keystream blocks at once: for j < n, the first `rows` rows (rows x 64 bytes, rows <= 64) of
// block blocks[j] of unit key keys[j], written to dst[j]. Lets a kernel interleave independent blocks
// to hide latency.
using BlockKernel = void (*)(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows);

// The sector layout of compressible units (see layout.h): for s < sectors, sector s of dst (512 bytes)
// gets keystream bytes ks[floor(s R), floor((s+1) R)) followed by zeros, R = random_fp / 2^32 <= 512.
// Reads ks only inside [0, floor(sectors R)).
using SpreadKernel = void (*)(const uint8_t* ks, uint8_t* dst, size_t sectors, uint64_t random_fp);

void rows_scalar(LaneState& st, uint8_t* dst, size_t rows);
void spread_scalar(const uint8_t* ks, uint8_t* dst, size_t sectors, uint64_t random_fp);
void blocks_scalar(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows);
#if defined(__x86_64__) || defined(_M_X64)
void rows_avx2(LaneState& st, uint8_t* dst, size_t rows);
void blocks_avx2(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows);
void rows_avx512(LaneState& st, uint8_t* dst, size_t rows);
void blocks_avx512(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows);
void spread_avx512(const uint8_t* ks, uint8_t* dst, size_t sectors, uint64_t random_fp);
#endif

struct KernelInfo {
  const char* name;
  RowKernel fn;
  BlockKernel blocks;
  SpreadKernel spread;
};

// The kernels this CPU can run, fastest last. Never empty: the scalar kernel always runs.
int available_kernels(KernelInfo* out, int max);
// The fastest kernel this CPU can run, or the named one (nullptr when unknown or unsupported here).
const KernelInfo* find_kernel(const char* name);

}  // namespace dgen
