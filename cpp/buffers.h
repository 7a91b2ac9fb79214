// Recycled chunk memory for streaming: blocks of one size handed out as external Buffers and returned by
// their finalizer, so steady-state streaming reuses memory that is already mapped and faulted in (no page
// faults, no kernel zeroing) and a block is never handed out again while a Buffer still refers to it.
// Blocks of kHugeChunkMin bytes and more are mapped on transparent huge pages (map_huge_chunk below).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace dgen {

// Blocks from this size on (one huge page) are mapped on transparent huge pages.
constexpr size_t kHugeChunkMin = size_t(2) << 20;

uint8_t* map_huge_chunk(size_t size);
void unmap_huge_chunk(uint8_t* p, size_t size);

class BufferPool {
 public:
  // Free blocks kept for reuse at most (bytes); blocks returned beyond it are freed.
  explicit BufferPool(size_t max_free_bytes) : max_free_(max_free_bytes) {}
  ~BufferPool();

  // A block of `size` bytes, 64-byte aligned (recycled when one is free).
  uint8_t* take(size_t size);
  // Returns a block taken with `size`.
  void give(uint8_t* block, size_t size);
  // Frees every free block.
  void trim();
  // Sets how many bytes of free blocks are kept; frees all free blocks when it lowers the limit.
  void set_max_free(size_t bytes);

  struct Stats {
    size_t outstanding_blocks, outstanding_bytes, free_blocks, free_bytes, allocations, reuses;
  };
  Stats stats();

 private:
  static uint8_t* allocate(size_t size);  // null when out of memory
  static void release(uint8_t* block, size_t size);

  std::mutex mutex_;
  std::map<size_t, std::vector<uint8_t*>> free_;
  size_t max_free_, free_bytes_ = 0, outstanding_blocks_ = 0, outstanding_bytes_ = 0, allocations_ = 0, reuses_ = 0;
};

}  // namespace dgen

namespace dgen {

// Fresh chunk memory backed by transparent huge pages: `size` bytes (rounded up to 2 MiB) mapped at a
// 2 MiB boundary and advised MADV_HUGEPAGE, so the first touch faults in 2 MiB at a time instead of 4 KiB
// (on the KVM guests we run on, a 4 MiB chunk costs 1,024 faults of about 13 us each with small pages:
// 0.3 GB/s; with huge pages it is filled at 20+ GB/s). Nothing is touched here: the thread that first
// writes the memory (a pool worker filling it) takes the faults, on its own NUMA node. Returns null when
// the mapping fails. Where the kernel has no transparent huge pages the advice is ignored and the memory
// is ordinary.
uint8_t* map_huge_chunk(size_t size);
// Unmaps memory from map_huge_chunk(size).
void unmap_huge_chunk(uint8_t* p, size_t size);
// The bytes map_huge_chunk(size) maps.
size_t huge_chunk_bytes(size_t size);

}  // namespace dgen
