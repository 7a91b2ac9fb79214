#include "layout.h"

#include <algorithm>
#include <cmath>

#include "mix.h"

namespace dgen {

// Calibration. A sector of r random bytes and 512 - r zeros costs a compressor r bytes of literals plus
// the encoding of one long match (sequence header, lengths, offset; several for gzip, whose matches stop
// at 258 bytes). Measured on this layout, that overhead is about 2 bytes per sector for zstd and 5-6 for
// gzip and lz4 (measured with the command-line tools and node:zlib; README.md, "Accuracy", has the
// matrix), so the keystream share is lowered by kMatchOverhead bytes per sector to land between them.
// Measured at c = 10 on 32 MiB: zstd -1 10.33, gzip -6 9.73, lz4 -1 9.65 (without the correction: 9.60 / 9.05 / 9.01).
constexpr double kMatchOverhead = 4.0;

uint64_t random_bytes_per_sector_fp(double c) {
  if (!(c > 1.0)) return kFullSectorFp;
  double r = double(kSector) / c;
  // Subtract the overhead, but never turn a barely compressible request into a more compressible one
  // than asked: phase the correction in over the first 8 bytes of filler.
  const double filler = double(kSector) - r;
  r -= std::min(kMatchOverhead, filler / 2);
  r = std::max(r, 1.0);
  return std::min<uint64_t>(kFullSectorFp, uint64_t(std::llround(r * 4294967296.0)));
}

Layout::Layout(const LayoutParams& p)
    : size_(p.size),
      unit_(p.unit_bytes),
      units_((p.size + p.unit_bytes - 1) / p.unit_bytes),
      random_fp_(random_bytes_per_sector_fp(p.compress_ratio)),
      object_key_(p.dataset_units ? hash2(p.seed, 0, kDomainPool) : hash2(p.seed, p.object_id, kDomainObject)),
      unit_offset_(p.dataset_units ? p.unit_offset : 0) {
  const uint64_t span = p.dataset_units ? p.dataset_units : units_;  // units the mapping runs over
  const double k = std::round(double(span) / p.dedup_ratio);
  unique_ = std::max<uint64_t>(1, std::min<uint64_t>(span, uint64_t(k)));
  identity_ = unique_ == span;
  unsigned bits = 2;
  while (bits < 64 && (uint64_t(1) << bits) < unique_) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t(1) << half_bits_) - 1;
}

uint64_t Layout::permute(uint64_t period, uint64_t x) const {
  // Round keys of period q: one hash, then SplitMix64 steps (each round's function mixes again).
  const uint64_t key = hash2(object_key_, period, kDomainPermute);
  do {  // cycle walking: re-encrypt until the value falls back inside [0, K)
    uint64_t left = x >> half_bits_, right = x & half_mask_;
    for (uint64_t r = 0; r < 4; ++r) {
      const uint64_t t = left ^ (mix64(right ^ (key + r * kGolden)) & half_mask_);
      left = right;
      right = t;
    }
    x = (left << half_bits_) | right;
  } while (x >= unique_);
  return x;
}

uint64_t Layout::unique_of(uint64_t unit) const {
  const uint64_t g = unit_offset_ + unit;
  if (identity_) return g;
  return permute(g / unique_, g % unique_);
}

uint64_t Layout::unit_key(uint64_t unique) const { return hash2(object_key_, unique, kDomainUnit); }

}  // namespace dgen
