// A batch of objects as tasks for the worker pool, shared by the file writer and the file verifier. Each
// object is one task when the batch has an object per worker, so no two workers touch one file; fewer,
// larger objects are cut into ranges of chunks so that every worker has one.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dgen {

class ObjectTasks {
 public:
  // chunks[i]: how many chunks object i has (at least 1); workers: the pool's size.
  ObjectTasks(const std::vector<uint64_t>& chunks, size_t workers) {
    const size_t count = chunks.size();
    for (size_t i = 0; i < count; ++i) {
      parts_.push_back(count >= workers ? 1 : size_t(std::min<uint64_t>(chunks[i], (workers + count - 1) / count)));
      first_.push_back(tasks_);
      tasks_ += parts_.back();
    }
  }

  // Tasks in the batch.
  uint64_t tasks() const { return tasks_; }
  // Ranges object i is cut into (its tasks).
  size_t parts(size_t object) const { return parts_[object]; }
  // (object, part) of task t: the last object whose first task is at or before t.
  std::pair<size_t, size_t> locate(uint64_t t) const {
    const size_t object = size_t(std::upper_bound(first_.begin(), first_.end(), t) - first_.begin()) - 1;
    return {object, size_t(t - first_[object])};
  }
  // Chunks [first, end) of range `part` out of `parts` over `chunks` chunks.
  static std::pair<uint64_t, uint64_t> range(size_t part, size_t parts, uint64_t chunks) {
    return {part * chunks / parts, (part + 1) * chunks / parts};
  }

 private:
  std::vector<uint64_t> first_;
  std::vector<size_t> parts_;
  uint64_t tasks_ = 0;
};

}  // namespace dgen
