#include "keystream.h"

#include <algorithm>
#include <cstring>

namespace dgen {

void Keystream::start_block(uint64_t block) {
  block_ = block;
  row_ = 0;
  seed_block(lanes_, key_, block);
}

void Keystream::next_row_into_buffer() {
  if (row_ == kRowsPerBlock) start_block(block_ + 1);
  kernel_(lanes_, row_buf_, 1);
  ++row_;
  buf_pos_ = 0;
}

void Keystream::seek(uint64_t offset) {
  start_block(offset / kKeystreamBlock);
  const uint64_t in_block = offset % kKeystreamBlock;
  for (uint64_t r = 0; r < in_block / kRowBytes; ++r) next_row_into_buffer();
  buf_pos_ = kRowBytes;
  if (in_block % kRowBytes != 0) {
    next_row_into_buffer();
    buf_pos_ = in_block % kRowBytes;
  }
}

void Keystream::read(uint8_t* dst, size_t n) {
  const size_t from_buf = std::min(n, kRowBytes - buf_pos_);
  std::memcpy(dst, row_buf_ + buf_pos_, from_buf);
  buf_pos_ += from_buf, dst += from_buf, n -= from_buf;
  while (n >= kRowBytes) {
    if (row_ == kRowsPerBlock) start_block(block_ + 1);
    const size_t rows = std::min<uint64_t>(n / kRowBytes, kRowsPerBlock - row_);
    kernel_(lanes_, dst, rows);
    row_ += rows, dst += rows * kRowBytes, n -= rows * kRowBytes;
  }
  if (n > 0) {
    next_row_into_buffer();
    std::memcpy(dst, row_buf_, n);
    buf_pos_ = n;
  }
}

}  // namespace dgen
