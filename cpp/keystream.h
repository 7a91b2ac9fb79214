// The keystream of one unique unit: a seekable stream of random bytes.
//
// The stream is cut into keystream blocks of 4096 bytes. Block b is 64 rows of the eight-lane
// xoshiro256++ (see kernels.h), whose lane states are seeded from a SplitMix64 sequence started at
// hash(unit key, b). Seeking therefore costs at most one block's worth of generation, whatever the unit
// size, and every byte is a pure function of (unit key, offset).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace dgen {

constexpr uint64_t kKeystreamBlock = 4096;
constexpr uint64_t kRowsPerBlock = kKeystreamBlock / kRowBytes;

class Keystream {
 public:
  Keystream(uint64_t unit_key, RowKernel kernel) : key_(unit_key), kernel_(kernel) {}

  // Positions the stream at byte `offset`. Cost: up to 63 discarded rows inside the block.
  void seek(uint64_t offset);
  // Copies the next n bytes of the stream to dst (whole rows go straight to dst).
  void read(uint8_t* dst, size_t n);

 private:
  void start_block(uint64_t block);
  void next_row_into_buffer();

  uint64_t key_;
  RowKernel kernel_;
  uint64_t block_ = 0;
  uint64_t row_ = 0;  // rows of the current block already generated
  LaneState lanes_;
  uint8_t row_buf_[kRowBytes];
  size_t buf_pos_ = kRowBytes;  // bytes of row_buf_ already handed out
};

}  // namespace dgen
