// N-API glue of the chunk buffer pool (cpp/buffers.h): chunk Buffers on recycled or huge-page memory for
// streams, and the pool's limit and statistics.
#include "addon_buffers.h"

#include <algorithm>
#include <cstdint>

#include "addon_args.h"
#include "buffers.h"

namespace dgen {

namespace {

// Chunk memory for streams, recycled through Buffer finalizers; the streams set how much it keeps.
BufferPool g_buffers(0);

// Chunk Buffers and V8's collector. V8 counts an external Buffer's bytes as external memory by itself
// (adding them again with AdjustExternalMemory, as this file once did, counted them twice: a full
// collection every 32 instead of 64 MiB of chunks, measured with --trace-gc). Past 64 MiB of external
// memory since the last full collection V8 starts another, which costs the main thread milliseconds each
// time. A young generation collection (scavenge) frees dead young Buffers too, at a fraction of the cost,
// but V8 only checks whether one is due when it allocates ArrayBuffer memory itself
// (Heap::AllocateExternalBackingStore: once the young generation's ArrayBuffers hold about twice its
// size), never for external Buffers. So each chunk allocation also allocates a 1-byte ArrayBuffer through
// V8, which lets it see the young chunks and scavenge them; chunks then go back to the pool at scavenges.
// Measured on a 4 GiB stream of 4 MiB chunks into a no-op Writable: a full collection every 40 MiB before;
// after, a scavenge every 24 MiB and no full collection. allocChunk leaves that allocation to its caller
// (lib/source.ts chunkMemory, or a DataSource after it has started the chunk's fill, so that the scavenge
// it may run overlaps the fill instead of delaying it); allocHugeChunk makes it itself.
void LetV8CollectYoungChunks(Napi::Env env) { Napi::ArrayBuffer::New(env, 1); }

// Chunks hidden from V8's external-memory count, within a budget. V8 counts every ArrayBuffer's backing
// store as external memory and weighs the external memory grown since the last full collection against
// the old generation's room (Heap::OldGenerationSpaceAvailable); with the small heap of a streaming process
// (about 9 MB live) 12-32 MiB of chunks alive or dead-awaiting-scavenge use that room up and V8 keeps
// starting full collections (1 GiB into a no-op Writable: runs with 24-28 of them reached 0.3-0.7 GB/s,
// runs with 1-3 3.4-4.0). Young dead chunks go back at scavenges anyway (LetV8CollectYoungChunks), so a
// chunk is taken out of that count (AdjustExternalMemory(-size) once its Buffer exists, +size back in its
// finalizer) while the pool's outstanding bytes stay within a budget: the streams' needs (highWaterMark +
// queueDepth x chunkSize each, lib/source.ts openChunkPool) plus a slack. Chunks a consumer keeps long
// enough to be promoted come back only at a full collection, which hidden chunks never bring on; so when
// an allocation finds the pool over its budget, every hidden chunk is shown to V8 at once (one
// AdjustExternalMemory of their total, and a new epoch so that their finalizers do not add them again),
// and chunks allocated while over it stay visible: V8's own limits then start the full collection that
// returns them. The pulse below makes that collection start at the reveal itself.
// V8 takes a dead chunk's bytes out of its count when it sweeps the chunk, before the finalizer adds them
// back (in a later setImmediate). That lowers V8's baseline (the lowest count since its last full
// collection) for a moment and the add counts as growth once, but the next dead chunks take the count back
// down to that baseline, so it does not build up from chunk to chunk. Node 24's V8 (13.6) keeps the count
// unsigned and aborts the process when it would go below zero, so the count must never be lowered by more
// than it holds: the first budget is added to it once, as a reserve (and any larger budget later), and a
// chunk is hidden only while the hidden bytes, dead or alive, stay within that reserve. The reserve costs one full collection's
// worth of pressure once per process; V8 weighs only growth since its last full collection, so a constant offset after that
// changes nothing. State per thread: finalizers run on the thread of the env that made the Buffer.
// Measured (2026-12-02, 1 GiB per run, 6 runs alternating with the build before, medians, load 3-6.5):
// no-op Writable 2 mark-compacts instead of 8.5, 8.99 against 5.00 GB/s (0.39x writeToFd in the same runs),
// p99 7.6 against 10.4 ms, peak RSS +57 against +65 MiB; web default reader 4 instead of 21, 5.99 against
// 3.01 GB/s, +58 against +70 MiB; fetch body without tee 16 instead of 25.5, 0.91x a zero-cost body against
// 0.82x, but peak RSS +91 against +79 MiB (undici holds chunks of its own, and the pool's budget lets
// hidden ones wait for a scavenge). Quiet (load 0.1-1.4, 3 runs): no-op 11.67 against 5.24 GB/s (0.49x
// writeToFd), 2 against 8 mark-compacts; default reader 10.43 against 3.86 GB/s (0.44x), 2 against 18, +53
// against +85 MiB; fetch 0.98x against 0.86x a zero-cost body, +93 against +74 MiB. At load 8-10 the gain
// mostly went (no-op 7 against 4 mark-compacts, 2.20 against 1.78 GB/s). A consumer keeping its last 8
// chunks (promoted): at most 114 MiB outstanding (median; 140 the highest) against 126 (152) before, 25
// mark-compacts per GiB either way. On Node 24 nothing is gained yet: its V8 starts a young collection for
// ArrayBuffer memory only past 128 MiB of it (32 MiB on 20 and 22), so dead chunks wait for a reveal
// (README, "Threads, NUMA and memory"). Not adding a
// dead hidden chunk back at all (V8's count lowered until the reserve is used up, then paid at once) made
// it worse: 19-24 mark-compacts per GiB instead of 2-13 (3 runs each, load 7-8).
struct HiddenChunks {
  uint64_t budget = 0;    // bytes of outstanding pool chunks under which new chunks are hidden
  uint64_t reserved = 0;  // bytes added to V8's count once, so hiding never takes it below zero
  uint64_t hidden = 0;    // bytes hidden in the current epoch (chunks alive, or dead and not yet finalized)
  uint64_t epoch = 1;     // bumped at each reveal; 0 marks a visible chunk
  uint64_t reveals = 0;
};
thread_local HiddenChunks t_hidden;
constexpr uint64_t kPressurePulse = uint64_t(64) << 20;  // V8's kExternalAllocationSoftLimit
constexpr uint64_t kMaxReserve = uint64_t(256) << 20;

// Shows every hidden chunk to V8 at once and starts the full collection that returns dead ones in old
// space (see HiddenChunks).
void Reveal(Napi::Env env, HiddenChunks& h) {
  const uint64_t shown = h.hidden;
  h.hidden = 0;
  ++h.epoch, ++h.reveals;
  // The chunks over the budget are dead ones in old space (live ones are within it), which only a full
  // collection returns: start one now. V8 starts incremental marking when its count passes the external
  // memory seen at the last full collection (or its lowest since) + kExternalAllocationSoftLimit (64 MiB);
  // showing the hidden chunks with 64 MiB more for a moment gets there at once, instead of after 64 MiB
  // more of chunks.
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(shown + kPressurePulse));
  Napi::MemoryManagement::AdjustExternalMemory(env, -int64_t(kPressurePulse));
}

// allocChunk(size): a Buffer on recycled memory (huge pages from 2 MiB on: buffers.h); its memory goes back
// to the pool when the Buffer is collected, and not before. The caller then allocates a small ArrayBuffer
// (see LetV8CollectYoungChunks).
Napi::Value AllocChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = size_t(ToU64(info[0], "size"));
  uint8_t* block = g_buffers.take(size);
  HiddenChunks& h = t_hidden;
  const bool hide = g_buffers.stats().outstanding_bytes <= h.budget && h.hidden + size <= h.reserved;
  const uint64_t epoch = hide ? h.epoch : 0;
  Napi::Value chunk;
  try {
    chunk = Napi::Buffer<uint8_t>::New(env, block, size, [size, epoch](Napi::Env e, uint8_t* p) {
      g_buffers.give(p, size);
      HiddenChunks& t = t_hidden;
      if (epoch != 0 && epoch == t.epoch) {
        t.hidden -= size;
        Napi::MemoryManagement::AdjustExternalMemory(e, int64_t(size));
      }
    });
  } catch (...) {
    g_buffers.give(block, size);
    throw;
  }
  if (hide) {
    h.hidden += size;
    Napi::MemoryManagement::AdjustExternalMemory(env, -int64_t(size));
  } else if (h.hidden > 0) {
    Reveal(env, h);
  }
  return chunk;
}

// collectChunks(): shows the hidden chunks to V8 and starts a full collection (as a reveal does), without
// allocating: a web stream calls it when the pool is near its budget and waits for the dead chunks to come
// back before it takes another block (lib/source.ts chunkPoolRoom). With nothing hidden it still starts the
// collection: chunks shown at an earlier reveal are dead in old space just the same, and V8's own limits
// would wait for 64 MiB more of them.
Napi::Value CollectChunks(const Napi::CallbackInfo& info) {
  Reveal(info.Env(), t_hidden);
  return info.Env().Undefined();
}

// allocHugeChunk(size): a Buffer on fresh memory backed by transparent huge pages (see buffers.h), not
// yet touched; unmapped by its finalizer. Throws when the mapping fails.
Napi::Value AllocHugeChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = size_t(ToU64(info[0], "size"));
  uint8_t* block = map_huge_chunk(size);
  if (block == nullptr) throw Napi::Error::New(env, "allocHugeChunk: mmap failed");
  try {
    LetV8CollectYoungChunks(env);  // as for allocChunk: dead chunks unmapped at scavenges
    return Napi::Buffer<uint8_t>::New(env, block, size, [size](Napi::Env, uint8_t* p) { unmap_huge_chunk(p, size); });
  } catch (...) {
    unmap_huge_chunk(block, size);
    throw;
  }
}

Napi::Value SetBufferPoolLimit(const Napi::CallbackInfo& info) {
  g_buffers.set_max_free(size_t(ToU64(info[0], "bytes")));
  return info.Env().Undefined();
}

// setChunkBudget(bytes): outstanding pool bytes under which new chunks are hidden from V8 (see HiddenChunks).
Napi::Value SetChunkBudget(const Napi::CallbackInfo& info) {
  HiddenChunks& h = t_hidden;
  h.budget = ToU64(info[0], "bytes");
  // The reserve follows the budget up to kMaxReserve: a larger one (streams with highWaterMarks of hundreds
  // of MiB) would be a pressure of its own, and past it chunks simply stay visible.
  const uint64_t reserve = std::min(h.budget, kMaxReserve);
  if (reserve > h.reserved) {
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), int64_t(reserve - h.reserved));
    h.reserved = reserve;
  }
  return info.Env().Undefined();
}

Napi::Value BufferPoolStats(const Napi::CallbackInfo& info) {
  const auto s = g_buffers.stats();
  auto o = Napi::Object::New(info.Env());
  o.Set("outstandingBlocks", double(s.outstanding_blocks));
  o.Set("outstandingBytes", double(s.outstanding_bytes));
  o.Set("freeBlocks", double(s.free_blocks));
  o.Set("freeBytes", double(s.free_bytes));
  o.Set("allocations", double(s.allocations));
  o.Set("reuses", double(s.reuses));
  o.Set("hiddenBytes", double(t_hidden.hidden));
  o.Set("budgetBytes", double(t_hidden.budget));
  o.Set("reveals", double(t_hidden.reveals));
  return o;
}

}  // namespace

void RegisterBuffers(Napi::Env env, Napi::Object exports) {
  exports.Set("allocChunk", Napi::Function::New(env, AllocChunk, "allocChunk"));
  exports.Set("allocHugeChunk", Napi::Function::New(env, AllocHugeChunk, "allocHugeChunk"));
  exports.Set("setBufferPoolLimit", Napi::Function::New(env, SetBufferPoolLimit, "setBufferPoolLimit"));
  exports.Set("collectChunks", Napi::Function::New(env, CollectChunks, "collectChunks"));
  exports.Set("setChunkBudget", Napi::Function::New(env, SetChunkBudget, "setChunkBudget"));
  exports.Set("bufferPoolStats", Napi::Function::New(env, BufferPoolStats, "bufferPoolStats"));
}

}  // namespace dgen
