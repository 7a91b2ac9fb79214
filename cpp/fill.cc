#include "fill.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

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
    if (n_ > 0) kernel_(keys_, blocks_, dst_, n_, kRowsPerBlock);
    n_ = 0;
  }

 private:
  static constexpr size_t kBatch = 16;
  BlockKernel kernel_;
  uint64_t keys_[kBatch], blocks_[kBatch];
  uint8_t* dst_[kBatch];
  size_t n_ = 0;
};

// Whole compressible units (c > 1, U <= 64 KiB) gathered four at a time: their keystreams (equal in
// length, since every whole unit has the same sector layout) are generated together by the block kernel
// into scratch memory, then laid out sector by sector (r(s) keystream bytes, then zeros) by the kernel's
// spread function.
class UnitBatch {
 public:
  static constexpr uint64_t kMaxUnit = 64 * 1024;
  UnitBatch(const Layout& layout, const KernelInfo& kernel) : L_(layout), kernel_(kernel) {
    const uint64_t sectors = L_.unit_bytes() / kSector;
    ks_len_ = L_.keystream_offset(sectors);
    // Rounded up to whole rows; thread-local so that workers never share it.
    thread_local std::vector<uint8_t> scratch;
    stride_ = (ks_len_ + kRowBytes - 1) / kRowBytes * kRowBytes;
    if (scratch.size() < 4 * stride_) scratch.resize(4 * stride_);
    scratch_ = scratch.data();
  }
  ~UnitBatch() { flush(); }
  void add(uint64_t key, uint8_t* dst) {
    keys_[n_] = key, dst_[n_] = dst;
    if (++n_ == 4) flush();
  }
  void flush() {
    if (n_ == 0) return;
    for (uint64_t blk = 0; blk * kKeystreamBlock < ks_len_; ++blk) {
      const uint64_t rows = std::min<uint64_t>(kRowsPerBlock, (ks_len_ - blk * kKeystreamBlock + kRowBytes - 1) / kRowBytes);
      uint64_t blocks[4] = {blk, blk, blk, blk};
      uint8_t* out[4];
      for (size_t j = 0; j < n_; ++j) out[j] = scratch_ + j * stride_ + blk * kKeystreamBlock;
      kernel_.blocks(keys_, blocks, out, n_, rows);
    }
    const uint64_t sectors = L_.unit_bytes() / kSector;
    for (size_t j = 0; j < n_; ++j) kernel_.spread(scratch_ + j * stride_, dst_[j], sectors, L_.random_fp());
    n_ = 0;
  }

 private:
  const Layout& L_;
  const KernelInfo& kernel_;
  uint64_t ks_len_, stride_;
  uint8_t* scratch_;
  uint64_t keys_[4];
  uint8_t* dst_[4];
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
  const bool batch_units = L.random_fp() != kFullSectorFp && U <= UnitBatch::kMaxUnit;
  std::optional<UnitBatch> units;
  if (batch_units) units.emplace(L, kernel);
  while (offset < end) {
    const uint64_t unit = offset / U, base = unit * U;
    const uint64_t a = offset - base, b = std::min(U, end - base);
    const uint64_t key = L.unit_key(L.unique_of(unit));
    if (batch_units && a == 0 && b == U)
      units->add(key, dst);
    else
      fill_unit(L, key, dst, a, b, kernel, batch);
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
