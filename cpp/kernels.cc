// Run-time choice of the row kernel from the CPU's features.
#include <cstring>

#include "kernels.h"

namespace dgen {

int available_kernels(KernelInfo* out, int max) {
  int n = 0;
  if (n < max) out[n++] = {"scalar", rows_scalar};
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && n < max) out[n++] = {"avx2", rows_avx2};
  if (__builtin_cpu_supports("avx512f") && n < max) out[n++] = {"avx512", rows_avx512};
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
