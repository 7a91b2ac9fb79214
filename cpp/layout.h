// Where every byte of an object comes from: units, unique units, and the sector layout inside a unit.
//
// An object of `size` bytes is cut into n = ceil(size / U) dedup units of U bytes (the last may be
// partial). K = max(1, round(n / d)) of them are unique. The units form periods of K units; unit
// i = q K + r (period q, offset r) holds the bytes of unique unit
//   j(i) = P_q(r)
// where P_q is a pseudo-random permutation of [0, K) keyed by (object, q): a 4-round balanced Feistel
// network over the smallest even number of bits that covers K, with cycle walking (Black and Rogaway,
// "Ciphers with arbitrary finite domains", CT-RSA 2002). With K == n (dedup ratio 1) j(i) = i.
// So every j in [0, K) is used, each floor(n/K) or ceil(n/K) times, once per period; neighbours in one
// period are unrelated in the next, so chunks larger than U do not repeat; and two copies of a unit are
// one period (S/d bytes) apart on average, closer than a compressor's window W only with probability
// about (W d / S)^2 / 2. A partial last unit is the prefix of its unique unit.
//
// In dataset scope the same holds over the whole data set: its N units (each object's units in object
// order) form periods of K = max(1, round(N / d)), unit g = qK + r of the data set holds pool unit
// P_q(r), and every key comes from the seed and the pool instead of the object.
//
// Inside a unit, every 512-byte sector s starts with r(s) keystream bytes and is zero after them:
//   r(s) = floor((s+1) R) - floor(s R), R = random bytes per sector (fixed point 32.32),
// so the keystream offset of sector s is floor(s R) and any aligned run of sectors holds R bytes of
// keystream per sector to within one byte (error accumulation, no zero tails).
#pragma once
#include <cstdint>

namespace dgen {

constexpr uint64_t kSector = 512;
constexpr uint64_t kFullSectorFp = kSector << 32;  // R = 512: no filler, incompressible

struct LayoutParams {
  uint64_t seed;
  uint64_t object_id;
  uint64_t size;          // bytes
  uint64_t unit_bytes;    // U, a multiple of 512
  double dedup_ratio;     // d >= 1
  double compress_ratio;  // c >= 1
  // Dataset scope: the object's units are units [unit_offset, unit_offset + n) of a data set of
  // dataset_units units that dedups as a whole, drawing from one pool of unique units shared by every
  // object (keyed by the seed alone). 0 means object scope: the object dedups on its own.
  uint64_t dataset_units;
  uint64_t unit_offset;
};

// Keystream bytes per sector that make real compressors measure ratio c (see layout.cc for the
// calibration), as 32.32 fixed point; always at least 1 byte so that no sector is all zeros.
uint64_t random_bytes_per_sector_fp(double compress_ratio);

class Layout {
 public:
  explicit Layout(const LayoutParams& p);

  uint64_t size() const { return size_; }
  uint64_t unit_bytes() const { return unit_; }
  uint64_t units() const { return units_; }
  uint64_t unique_units() const { return unique_; }
  uint64_t random_fp() const { return random_fp_; }
  uint64_t object_key() const { return object_key_; }

  // j(i): which unique unit unit i copies.
  uint64_t unique_of(uint64_t unit) const;
  // Key of unique unit j, from which its keystream is seeded.
  uint64_t unit_key(uint64_t unique) const;
  // Keystream offset of sector s of a unit: floor(s R).
  uint64_t keystream_offset(uint64_t sector) const { return (sector * random_fp_) >> 32; }

 private:
  // P_q(x) for x in [0, K).
  uint64_t permute(uint64_t period, uint64_t x) const;

  uint64_t size_, unit_, units_, unique_, random_fp_, object_key_, unit_offset_;
  bool identity_;  // K equals the units the mapping runs over: j(i) = i
  unsigned half_bits_;
  uint64_t half_mask_;
};

}  // namespace dgen
