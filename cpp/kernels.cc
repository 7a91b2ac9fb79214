// Run-time choice of the row kernel from the CPU's features.
#include <cstring>

#include "kernels.h"

#include "mix.h"

namespace dgen {

void seed_block(LaneState& st, uint64_t key, uint64_t block) {
  uint64_t x = hash2(key, block, kDomainBlock);
  for (int l = 0; l < kLanes; ++l)
    for (int w = 0; w < 4; ++w) st.s[w][l] = mix64(x += kGolden);
}

// One block after another through a row kernel (for kernels with nothing to gain from interleaving).
template <RowKernel kernel>
static void blocks_one_by_one(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows) {
  LaneState st;
  for (size_t j = 0; j < n; ++j) {
    seed_block(st, keys[j], blocks[j]);
    kernel(st, dst[j], rows);
  }
}

void blocks_scalar(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows) {
  blocks_one_by_one<rows_scalar>(keys, blocks, dst, n, rows);
}
#if defined(__x86_64__) || defined(_M_X64)
void blocks_avx2(const uint64_t* keys, const uint64_t* blocks, uint8_t* const* dst, size_t n, size_t rows) {
  blocks_one_by_one<rows_avx2>(keys, blocks, dst, n, rows);
}
#endif

int available_kernels(KernelInfo* out, int max) {
  int n = 0;
  if (n < max) out[n++] = {"scalar", rows_scalar, blocks_scalar, spread_scalar};
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && n < max) out[n++] = {"avx2", rows_avx2, blocks_avx2, spread_scalar};
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("bmi2") && n < max)
    out[n++] = {"avx512", rows_avx512, blocks_avx512, spread_avx512};
#endif
  return n;
}

const KernelInfo* find_kernel(const char* name) {
  static KernelInfo table[4];
  static const int count = available_kernels(table, 4);
  if (name == nullptr || std::strcmp(name, "auto") == 0) return &table[count - 1];
  for (int i = 0; i < count; ++i)
    if (std::strcmp(table[i].name, name) == 0) return &table[i];
  return nullptr;
}

}  // namespace dgen
