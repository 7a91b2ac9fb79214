#include "buffers.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace dgen {

BufferPool::~BufferPool() { trim(); }

uint8_t* BufferPool::take(size_t size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      uint8_t* block = it->second.back();
      it->second.pop_back();
      free_bytes_ -= size;
      ++outstanding_blocks_, outstanding_bytes_ += size, ++reuses_;
      return block;
    }
    ++outstanding_blocks_, outstanding_bytes_ += size, ++allocations_;
  }
  uint8_t* block = allocate(size);
  if (block == nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    --outstanding_blocks_, outstanding_bytes_ -= size;
    throw std::bad_alloc();
  }
  return block;
}

uint8_t* BufferPool::allocate(size_t size) {
  if (size >= kHugeChunkMin) return map_huge_chunk(size);
  void* p = nullptr;
  if (posix_memalign(&p, 64, size == 0 ? 64 : size) != 0) return nullptr;
  return static_cast<uint8_t*>(p);
}

void BufferPool::release(uint8_t* block, size_t size) {
  if (size >= kHugeChunkMin)
    unmap_huge_chunk(block, size);
  else
    std::free(block);
}

void BufferPool::give(uint8_t* block, size_t size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --outstanding_blocks_, outstanding_bytes_ -= size;
    if (free_bytes_ + size <= max_free_) {
      free_[size].push_back(block);
      free_bytes_ += size;
      return;
    }
  }
  release(block, size);
}

void BufferPool::trim() {
  std::map<size_t, std::vector<uint8_t*>> blocks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks.swap(free_);
    free_bytes_ = 0;
  }
  for (auto& [size, list] : blocks)
    for (uint8_t* b : list) release(b, size);
}

void BufferPool::set_max_free(size_t bytes) {
  bool lower;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lower = bytes < max_free_;
    max_free_ = bytes;
  }
  if (lower) trim();
}

BufferPool::Stats BufferPool::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t free_blocks = 0;
  for (auto& [size, list] : free_) free_blocks += list.size();
  return {outstanding_blocks_, outstanding_bytes_, free_blocks, free_bytes_, allocations_, reuses_};
}

}  // namespace dgen

namespace dgen {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
}

size_t huge_chunk_bytes(size_t size) { return (std::max<size_t>(size, 1) + kHugePage - 1) / kHugePage * kHugePage; }

uint8_t* map_huge_chunk(size_t size) {
  const size_t bytes = huge_chunk_bytes(size);
  // Map one huge page more than needed and trim both ends to the 2 MiB boundary.
  void* raw = ::mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t(kHugePage) - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t end = start + bytes + kHugePage;
  if (end > aligned + bytes) ::munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
#endif
  return reinterpret_cast<uint8_t*>(aligned);
}

void unmap_huge_chunk(uint8_t* p, size_t size) { ::munmap(p, huge_chunk_bytes(size)); }

}  // namespace dgen
