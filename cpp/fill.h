// fill(): the bytes of an object at [offset, offset + length), a pure function of the layout and the
// offset. Any split of a range into calls gives the same bytes as one call; a call touches only the units
// (and inside them, the keystream blocks) that the range overlaps.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "layout.h"

namespace dgen {

// Requires offset + length <= layout.size().
void fill(const Layout& layout, uint8_t* dst, uint64_t offset, size_t length, const KernelInfo& kernel);

// A range cut into at most `parts` pieces of at least `min_piece` bytes, cut points on multiples of
// `align` (so pieces start on sector or unit boundaries), for workers to fill independently.
struct Piece {
  uint64_t offset;  // from the start of the range
  size_t length;
};
std::vector<Piece> split_range(size_t length, size_t parts, size_t min_piece, size_t align);

}  // namespace dgen
