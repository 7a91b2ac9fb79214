// Limits the addon enforces or works by, in one place. The addon exports them to JavaScript (`limits`,
// cpp/addon_limits.cc); lib/limits.ts reads them from there, so the TypeScript side's checks and these
// cannot drift apart (test/native-limits.test.ts pins the ones TypeScript still spells out).
#pragma once
#include <cstddef>
#include <cstdint>

#include "buffers.h"  // kHugeChunkMin
#include "layout.h"   // kSector

namespace dgen {

// Largest chunk a worker generates and writes at once (writeToFd, writeFiles, verifyFiles), and the
// largest stream chunk: 256 MiB.
constexpr uint64_t kMaxChunk = uint64_t(256) << 20;
// Largest dedup unit (unitBytes): 1 GiB.
constexpr uint64_t kMaxDedupUnit = uint64_t(1) << 30;
// Most worker threads a pool or a generator may have.
constexpr uint64_t kMaxThreads = 1024;
// O_DIRECT alignment of buffers, offsets and chunk sizes: 4096 covers the logical block of every device
// we write to.
constexpr size_t kDirectAlign = 4096;
// Synchronous fills (fillSync) of at least this many bytes are split across the worker pool.
constexpr size_t kParallelMin = size_t(1) << 20;
// Smallest piece of a fill a worker gets; an asynchronous fill no larger than this is not worth handing
// to a worker (SYNC_FILL_LIMIT in lib/generator.ts).
constexpr size_t kMinPiece = size_t(256) << 10;

}  // namespace dgen
