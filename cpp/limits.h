// Limits the addon enforces or works by, in one place; the addon exports them to JavaScript (`limits`,
// cpp/addon_limits.cc) so lib/limits.ts reads them instead of keeping copies.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dgen {

// Fills of at least this many bytes are split across the worker pool.
constexpr size_t kParallelMin = size_t(1) << 20;
// Largest chunk a worker writes at once (writeToFd, writeFiles, verifyFiles): 1 GiB.
constexpr uint64_t kMaxChunk = uint64_t(1) << 30;
// Smallest piece of a parallel fill a worker gets.
constexpr size_t kMinPiece = size_t(256) << 10;

}  // namespace dgen
