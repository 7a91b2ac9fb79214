#include "fill.h"

#include <algorithm>
#include <cstring>

#include "keystream.h"

namespace dgen {

// Bytes [a, b) of one unit whose unique unit has key `key`.
static void fill_unit(const Layout& L, uint64_t key, uint8_t* dst, uint64_t a, uint64_t b, RowKernel kernel) {
  Keystream ks(key, kernel);
  if (L.random_fp() == kFullSectorFp) {  // incompressible: the unit is its keystream
    ks.seek(a);
    ks.read(dst, b - a);
    return;
  }
  bool positioned = false;
  uint64_t pos = a;
  while (pos < b) {
    const uint64_t s = pos / kSector, base = s * kSector;
    const uint64_t ks_start = L.keystream_offset(s);
    const uint64_t random = L.keystream_offset(s + 1) - ks_start;  // r(s)
    uint64_t p = pos - base;
    const uint64_t end = std::min(b - base, kSector);
    if (p < random) {
      const uint64_t n = std::min(random, end) - p;
      if (!positioned) ks.seek(ks_start + p), positioned = true;
      ks.read(dst, n);
      dst += n, p += n;
    }
    if (p < end) {
      std::memset(dst, 0, end - p);
      dst += end - p;
    }
    pos = base + end;
  }
}

void fill(const Layout& L, uint8_t* dst, uint64_t offset, size_t length, RowKernel kernel) {
  const uint64_t end = offset + length;
  const uint64_t U = L.unit_bytes();
  while (offset < end) {
    const uint64_t unit = offset / U, base = unit * U;
    const uint64_t a = offset - base, b = std::min(U, end - base);
    fill_unit(L, L.unit_key(L.unique_of(unit)), dst, a, b, kernel);
    dst += b - a, offset += b - a;
  }
}

std::vector<Piece> split_range(size_t length, size_t parts, size_t min_piece, size_t align) {
  std::vector<Piece> out;
  if (length == 0) return out;
  parts = std::max<size_t>(1, std::min(parts, length / std::max<size_t>(1, min_piece)));
  uint64_t at = 0;
  for (size_t i = 1; i <= parts; ++i) {
    uint64_t end = i == parts ? length : (length * i / parts) / align * align;
    if (end <= at) continue;
    out.push_back(Piece{at, size_t(end - at)});
    at = end;
  }
  return out;
}

}  // namespace dgen
