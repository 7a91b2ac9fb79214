// The chunk index of `dgen analyze`: the set of distinct chunk fingerprints (XXH3-128 by default, SHA-256
// on request), safe to insert into from every worker at once. It is split into 256 shards by the
// fingerprint's top byte, each an open-addressing table (linear probing) behind its own mutex, so inserts
// on different shards never wait on each other and each shard grows (doubling at 3/4 load) on its own.
// Memory: `words` x 8 bytes per slot (16 for XXH3-128, 32 for SHA-256) at a load of 3/8 to 3/4, i.e.
// 21-43 bytes per distinct 128-bit fingerprint, plus 4 bytes a slot when counts are kept (--sample).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace dgen {

class ChunkIndex {
 public:
  // `words`: 64-bit words per fingerprint (2 or 4); `counts`: keep how often each fingerprint was seen.
  ChunkIndex(size_t words, bool counts);
  // Adds `key` (`words` words; word 0 is the most uniformly spread); true if it was not there before.
  bool insert(const uint64_t* key);
  size_t size() const;
  size_t memory_bytes() const;
  // Sum of the counts and of their squares over all fingerprints (only with counts).
  void count_moments(double& sum, double& sum_squares) const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::vector<uint64_t> keys;  // capacity * words; an all-zero key marks an empty slot
    std::vector<uint32_t> counts;
    size_t capacity = 0, size = 0;
  };
  void grow(Shard& s);
  size_t words_;
  bool counts_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace dgen
