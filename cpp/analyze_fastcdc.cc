#include "analyze_fastcdc.h"

#include <algorithm>
#include <cmath>

namespace dgen {

namespace {

struct Gear {
  uint32_t v[256];
  Gear() {
    uint64_t x = 0;
    for (int i = 0; i < 256; ++i) {
      x += 0x9e3779b97f4a7c15ULL;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      v[i] = uint32_t(z >> 32);
    }
  }
};
const Gear kGear;

uint32_t top_bits(int n) { return n >= 32 ? 0xffffffffu : uint32_t(0xffffffffu << (32 - n)); }

}  // namespace

FastCdc::FastCdc(CdcParams p) : p_(p) {
  int bits = 0;
  while ((size_t(1) << (bits + 1)) <= p.avg) ++bits;
  mask_small_ = top_bits(bits + 2);
  mask_large_ = top_bits(std::max(1, bits - 2));
}

// Same loop as fastcdc.ts push(), over raw pointers.
void FastCdc::push(const uint8_t* data, size_t n, std::vector<size_t>& cuts) {
  const size_t min = p_.min, avg = p_.avg, max = p_.max;
  size_t len = len_, i = 0;
  uint32_t fp = fp_;
  while (i < n) {
    if (len < min) {
      const size_t skip = std::min(min - len, n - i);
      len += skip;
      i += skip;
      fp = 0;
      continue;
    }
    const uint32_t mask = len < avg ? mask_small_ : mask_large_;
    const size_t stop = std::min(n, i + ((len < avg ? avg : max) - len));
    bool cut = false;
    for (; i < stop; ++i) {
      fp = (fp << 1) + kGear.v[data[i]];
      ++len;
      if ((fp & mask) == 0) {
        ++i;
        cut = true;
        break;
      }
    }
    if (cut || len >= max) {
      cuts.push_back(i);
      len = 0;
      fp = 0;
    }
  }
  len_ = len;
  fp_ = fp;
}

bool FastCdc::end() {
  const bool pending = len_ > 0;
  len_ = 0;
  fp_ = 0;
  return pending;
}

size_t FastCdc::next_cut(const uint8_t* data, size_t n) const {
  const size_t min = p_.min, avg = p_.avg, max = p_.max;
  uint32_t fp = 0;
  size_t i = min;
  const size_t normal = std::min(n, avg);
  for (; i < normal; ++i) {
    fp = (fp << 1) + kGear.v[data[i]];
    if ((fp & mask_small_) == 0) return i + 1;
  }
  const size_t limit = std::min(n, max);
  for (; i < limit; ++i) {
    fp = (fp << 1) + kGear.v[data[i]];
    if ((fp & mask_large_) == 0) return i + 1;
  }
  return n >= max ? max : 0;  // a forced cut at max, or none yet
}

}  // namespace dgen
