// fill(): the bytes of an object at [offset, offset + length), a pure function of the layout and the
// offset. Any split of a range into calls gives the same bytes as one call; a call touches only the units
// (and inside them, the keystream blocks) that the range overlaps.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels.h"
#include "layout.h"

namespace dgen {

// Requires offset + length <= layout.size().
void fill(const Layout& layout, uint8_t* dst, uint64_t offset, size_t length, RowKernel kernel);

}  // namespace dgen
