#include "buffers.h"

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
  void* p = nullptr;
  if (posix_memalign(&p, 64, size == 0 ? 64 : size) != 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    --outstanding_blocks_, outstanding_bytes_ -= size;
    throw std::bad_alloc();
  }
  return static_cast<uint8_t*>(p);
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
  std::free(block);
}

void BufferPool::trim() {
  std::map<size_t, std::vector<uint8_t*>> blocks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks.swap(free_);
    free_bytes_ = 0;
  }
  for (auto& [size, list] : blocks)
    for (uint8_t* b : list) std::free(b);
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
