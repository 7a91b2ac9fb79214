#include "analyze_index.h"

#include <cstring>

namespace dgen {

namespace {
constexpr size_t kShards = 256;
constexpr size_t kInitial = 64;  // slots per shard at first (256 KiB an index: small inputs stay small)
}  // namespace

ChunkIndex::ChunkIndex(size_t words, bool counts) : words_(words), counts_(counts), shards_(new Shard[kShards]) {}

void ChunkIndex::grow(Shard& s) {
  const size_t capacity = s.capacity ? s.capacity * 2 : kInitial;
  std::vector<uint64_t> keys(capacity * words_, 0);
  std::vector<uint32_t> counts(counts_ ? capacity : 0, 0);
  for (size_t i = 0; i < s.capacity; ++i) {
    const uint64_t* k = &s.keys[i * words_];
    if (k[0] == 0 && k[1] == 0) continue;
    size_t slot = k[1] & (capacity - 1);
    while (keys[slot * words_] != 0 || keys[slot * words_ + 1] != 0) slot = (slot + 1) & (capacity - 1);
    std::memcpy(&keys[slot * words_], k, words_ * 8);
    if (counts_) counts[slot] = s.counts[i];
  }
  s.keys.swap(keys);
  s.counts.swap(counts);
  s.capacity = capacity;
}

bool ChunkIndex::insert(const uint64_t* key_in) {
  uint64_t key[4];
  std::memcpy(key, key_in, words_ * 8);
  if (key[0] == 0 && key[1] == 0) key[1] = 1;  // the empty marker; a 2^-128 event, folded into its neighbour
  Shard& s = shards_[key[0] >> 56];
  std::lock_guard<std::mutex> lock(s.mutex);
  if ((s.size + 1) * 4 > s.capacity * 3) grow(s);
  const size_t mask = s.capacity - 1;
  // Slots come from word 1: word 0's top byte chose the shard, and word 0 is what --sample thresholds.
  for (size_t slot = key[1] & mask;; slot = (slot + 1) & mask) {
    uint64_t* k = &s.keys[slot * words_];
    if (k[0] == 0 && k[1] == 0) {
      std::memcpy(k, key, words_ * 8);
      if (counts_) s.counts[slot] = 1;
      ++s.size;
      return true;
    }
    if (std::memcmp(k, key, words_ * 8) == 0) {
      if (counts_ && s.counts[slot] != UINT32_MAX) ++s.counts[slot];
      return false;
    }
  }
}

size_t ChunkIndex::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    n += shards_[i].size;
  }
  return n;
}

size_t ChunkIndex::memory_bytes() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    n += shards_[i].capacity * (words_ * 8 + (counts_ ? 4 : 0));
  }
  return n;
}

void ChunkIndex::count_moments(double& sum, double& sum_squares) const {
  sum = sum_squares = 0;
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    for (size_t j = 0; j < s.counts.size(); ++j) {
      const double c = s.counts[j];
      sum += c;
      sum_squares += c * c;
    }
  }
}

}  // namespace dgen
