// N-API glue of the chunk buffer pool (cpp/buffers.h): chunk Buffers on recycled or huge-page memory for
// streams, and the pool's limit and statistics.
#include "addon_buffers.h"

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

// allocChunk(size): a Buffer on recycled memory (huge pages from 2 MiB on: buffers.h); its memory goes back
// to the pool when the Buffer is collected, and not before. The caller then allocates a small ArrayBuffer
// (see LetV8CollectYoungChunks).
Napi::Value AllocChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = size_t(ToU64(info[0], "size"));
  uint8_t* block = g_buffers.take(size);
  try {
    return Napi::Buffer<uint8_t>::New(env, block, size, [size](Napi::Env, uint8_t* p) { g_buffers.give(p, size); });
  } catch (...) {
    g_buffers.give(block, size);
    throw;
  }
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

Napi::Value BufferPoolStats(const Napi::CallbackInfo& info) {
  const auto s = g_buffers.stats();
  auto o = Napi::Object::New(info.Env());
  o.Set("outstandingBlocks", double(s.outstanding_blocks));
  o.Set("outstandingBytes", double(s.outstanding_bytes));
  o.Set("freeBlocks", double(s.free_blocks));
  o.Set("freeBytes", double(s.free_bytes));
  o.Set("allocations", double(s.allocations));
  o.Set("reuses", double(s.reuses));
  return o;
}

}  // namespace

void RegisterBuffers(Napi::Env env, Napi::Object exports) {
  exports.Set("allocChunk", Napi::Function::New(env, AllocChunk, "allocChunk"));
  exports.Set("allocHugeChunk", Napi::Function::New(env, AllocHugeChunk, "allocHugeChunk"));
  exports.Set("setBufferPoolLimit", Napi::Function::New(env, SetBufferPoolLimit, "setBufferPoolLimit"));
  exports.Set("bufferPoolStats", Napi::Function::New(env, BufferPoolStats, "bufferPoolStats"));
}

}  // namespace dgen
