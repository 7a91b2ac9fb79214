#include "fill.h"

#include <algorithm>
#include <cstring>

#include "keystream.h"

namespace dgen {

// Whole keystream blocks gathered from several units, generated together by the block kernel.
class BlockBatch {
 public:
  explicit BlockBatch(BlockKernel kernel) : kernel_(kernel) {}
  ~BlockBatch() { flush(); }
  void add(uint64_t key, uint64_t block, uint8_t* dst) {
    keys_[n_] = key, blocks_[n_] = block, dst_[n_] = dst;
    if (++n_ == kBatch) flush();
  }
  void flush() {
    if (n_ > 0) kernel_(keys_, blocks_, dst_, n_);
    n_ = 0;
  }

 private:
  static constexpr size_t kBatch = 16;
  BlockKernel kernel_;
  uint64_t keys_[kBatch], blocks_[kBatch];
  uint8_t* dst_[kBatch];
  size_t n_ = 0;
};

// Bytes [a, b) of one unit whose unique unit has key `key`.
static void fill_unit(const Layout& L, uint64_t key, uint8_t* dst, uint64_t a, uint64_t b, const KernelInfo& kernel,
                      BlockBatch& batch) {
  Keystream ks(key, kernel.fn);
  if (L.random_fp() == kFullSectorFp) {  // incompressible: the unit is its keystream
    // Whole keystream blocks go to the block kernel; the unaligned head and tail through the cursor.
    const uint64_t first = (a + kKeystreamBlock - 1) / kKeystreamBlock, last = b / kKeystreamBlock;
    if (first >= last) {
      ks.seek(a);
      ks.read(dst, b - a);
      return;
    }
    const uint64_t head = first * kKeystreamBlock - a;
    if (head > 0) ks.seek(a), ks.read(dst, head);
    for (uint64_t blk = first; blk < last; ++blk) batch.add(key, blk, dst + (blk * kKeystreamBlock - a));
    const uint64_t tail_at = last * kKeystreamBlock;
    if (tail_at < b) ks.seek(tail_at), ks.read(dst + (tail_at - a), b - tail_at);
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

void fill(const Layout& L, uint8_t* dst, uint64_t offset, size_t length, const KernelInfo& kernel) {
  const uint64_t end = offset + length;
  const uint64_t U = L.unit_bytes();
  BlockBatch batch(kernel.blocks);
  while (offset < end) {
    const uint64_t unit = offset / U, base = unit * U;
    const uint64_t a = offset - base, b = std::min(U, end - base);
    fill_unit(L, L.unit_key(L.unique_of(unit)), dst, a, b, kernel, batch);
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
