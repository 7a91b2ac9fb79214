#include "analyze.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <exception>

namespace dgen {

namespace {

constexpr size_t kZstdHistory = 512 * 1024;  // the most history a segment uses (zstd; deflate uses 32 KiB)
constexpr size_t kPieceBytes = 1 << 20;      // a task's share of a chunking's chunks
constexpr size_t kCdcPieceChunks = 128;

bool all_zero(const uint8_t* p, size_t n) { return n > 0 && p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0; }

}  // namespace

void RatioMoments::add(double bytes, const size_t* compressed) {
  n += 1;
  x += bytes;
  xx += bytes * bytes;
  for (int c = 0; c < kAnalyzeCodecs; ++c) {
    const double v = double(compressed[c]);
    y[c] += v;
    yy[c] += v * v;
    xy[c] += bytes * v;
  }
}

void RatioMoments::merge(const RatioMoments& o) {
  n += o.n;
  x += o.x;
  xx += o.xx;
  for (int c = 0; c < kAnalyzeCodecs; ++c) y[c] += o.y[c], yy[c] += o.yy[c], xy[c] += o.xy[c];
}

Analyzer::Analyzer(AnalyzeConfig config) : config_(std::move(config)) {
  const size_t words = config_.sha256 ? 4 : 2;
  const bool sampling = config_.sample < 1;
  threshold_ = sampling ? uint64_t(config_.sample * 18446744073709551616.0) : UINT64_MAX;
  for (size_t s : config_.chunk_sizes) {
    chunkings.emplace_back();
    chunkings.back().fixed = s;
  }
  if (config_.cdc) chunkings.emplace_back();
  for (auto& c : chunkings) {
    c.index = std::make_unique<ChunkIndex>(words, sampling);
    if (config_.per_chunk && config_.per_chunk_budget) {
      c.budgeted = std::make_unique<PerChunkSample>();
      c.budgeted->threshold.store(threshold_);
    }
  }
}

void PerChunkSample::add(const Item& item, uint64_t budget) {
  std::lock_guard<std::mutex> lock(mutex);
  uint64_t t = threshold.load(std::memory_order_relaxed);
  if (t != UINT64_MAX && item.key0 >= t) return;
  items.push_back(item);
  bytes += item.bytes;
  // At least kMinItems stay: an interval from a handful of large chunks would say little.
  constexpr size_t kMinItems = 256;
  while (bytes > budget && items.size() > kMinItems) {
    t = t == UINT64_MAX ? uint64_t(1) << 63 : t / 2;
    items.erase(std::remove_if(items.begin(), items.end(), [t](const Item& i) { return i.key0 >= t; }), items.end());
    bytes = 0;
    for (const Item& i : items) bytes += i.bytes;
    threshold.store(t, std::memory_order_relaxed);
  }
}

double Analyzer::settle_per_chunk(ChunkingState& c) {
  if (!c.budgeted) return config_.sample;  // every kept distinct chunk
  PerChunkSample& s = *c.budgeted;
  std::lock_guard<std::mutex> lock(s.mutex);
  c.moments = RatioMoments();
  for (int k = 0; k < kAnalyzeCodecs; ++k) c.compressed[k] = 0;
  size_t sizes[kAnalyzeCodecs];
  for (const auto& i : s.items) {
    for (int k = 0; k < kAnalyzeCodecs; ++k) c.compressed[k] += sizes[k] = i.compressed[k];
    c.moments.add(double(i.bytes), sizes);
  }
  const uint64_t t = s.threshold.load(std::memory_order_relaxed);
  return t == UINT64_MAX ? 1 : double(t) / 18446744073709551616.0;
}

void Analyzer::append(const uint8_t* data, size_t n) {
  // Room for a whole batch and the read that crosses its end, reserved once: growing the vector by
  // doubling would copy and fault in fresh pages on the main thread again and again.
  if (incoming_.capacity() < incoming_.size() + n)
    incoming_.reserve(std::max(config_.batch_bytes + (size_t(4) << 20), incoming_.size() + n));
  incoming_.insert(incoming_.end(), data, data + n);
}

void Analyzer::fail(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.empty()) error_ = what;
}

void Analyzer::chunks(ChunkingState& c, const std::vector<size_t>& bounds, size_t from, size_t to) {
  const bool sampling = config_.sample < 1;
  uint64_t count = 0, zero = 0, unique = 0, unique_bytes = 0;
  size_t sizes[kAnalyzeCodecs] = {};
  uint64_t compressed[kAnalyzeCodecs] = {};
  RatioMoments moments;
  uint64_t key[4];
  for (size_t i = from; i < to; ++i) {
    const uint8_t* p = buf_.data() + bounds[i];
    const size_t n = bounds[i + 1] - bounds[i];
    ++count;
    if (all_zero(p, n)) ++zero;
    fingerprint(config_.sha256, p, n, key);
    if (sampling && key[0] >= threshold_) continue;
    if (!c.index->insert(key)) continue;
    ++unique;
    unique_bytes += n;
    if (!config_.per_chunk) continue;
    if (c.budgeted) {
      const uint64_t t = c.budgeted->threshold.load(std::memory_order_relaxed);
      if (t != UINT64_MAX && key[0] >= t) continue;
      PerChunkSample::Item item{key[0], n, {}};
      for (int k = 0; k < config_.codecs; ++k) item.compressed[k] = uint32_t(chunk_compressed_size(k, p, n));
      c.budgeted->add(item, config_.per_chunk_budget);
      continue;
    }
    for (int k = 0; k < config_.codecs; ++k) compressed[k] += sizes[k] = chunk_compressed_size(k, p, n);
    moments.add(double(n), sizes);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  c.chunks += count;
  c.zero += zero;
  c.unique_chunks += unique;
  c.unique_bytes += unique_bytes;
  for (int k = 0; k < kAnalyzeCodecs; ++k) c.compressed[k] += compressed[k];
  c.moments.merge(moments);
}

void Analyzer::plan_round1(std::vector<Task>& tasks, bool final) {
  const uint64_t end = buf_base_ + buf_.size();
  // The CDC scan first: the second round waits on it.
  if (config_.cdc) {
    ChunkingState& c = chunkings.back();
    tasks.push_back([this, &c, final, end] {
      FastCdc cdc(config_.cdc_params);
      cdc_bounds_.clear();
      size_t at = size_t(c.pos - buf_base_);
      const size_t stop = size_t(end - buf_base_);
      cdc_bounds_.push_back(at);
      while (at < stop) {
        size_t len = cdc.next_cut(buf_.data() + at, stop - at);
        if (len == 0) {
          if (!final) break;
          len = stop - at;
        }
        at += len;
        cdc_bounds_.push_back(at);
      }
      c.pos = buf_base_ + at;
    });
  }
  // Whole-stream segments, one task per segment and codec.
  const size_t seg = config_.segment_bytes;
  while (config_.whole && seg_pos_ < end && (end - seg_pos_ >= seg || final)) {
    const size_t n = size_t(std::min<uint64_t>(seg, end - seg_pos_));
    const size_t at = size_t(seg_pos_ - buf_base_);
    const uint64_t id[2] = {inputs, segment_index_++};
    seg_pos_ += n;
    if (config_.sample < 1 && XXH3_64bits(id, sizeof id) >= threshold_) continue;
    auto sizes = std::make_shared<std::vector<size_t>>(kAnalyzeCodecs, 0);
    auto left = std::make_shared<std::atomic<int>>(config_.codecs);
    for (int k = 0; k < config_.codecs; ++k) {
      tasks.push_back([this, k, at, n, sizes, left] {
        (*sizes)[k] = segment_compressed_size(k, buf_.data(), at, buf_.data() + at, n);
        if (left->fetch_sub(1) != 1) return;
        std::lock_guard<std::mutex> lock(mutex_);
        for (int j = 0; j < kAnalyzeCodecs; ++j) whole_compressed[j] += (*sizes)[j];
        segments.add(double(n), sizes->data());
      });
    }
  }
  // Fixed-size chunkings, in pieces of about kPieceBytes.
  for (auto& c : chunkings) {
    if (!c.fixed) continue;
    const size_t s = c.fixed;
    auto bounds = std::make_shared<std::vector<size_t>>();
    size_t at = size_t(c.pos - buf_base_);
    const size_t stop = size_t(end - buf_base_);
    bounds->push_back(at);
    for (; stop - at >= s; at += s) bounds->push_back(at + s);
    if (final && at < stop) bounds->push_back(at = stop);
    c.pos = buf_base_ + at;
    const size_t count = bounds->size() - 1;
    const size_t per = std::max<size_t>(1, kPieceBytes / s);
    for (size_t from = 0; from < count; from += per) {
      const size_t to = std::min(count, from + per);
      tasks.push_back([this, &c, bounds, from, to] { chunks(c, *bounds, from, to); });
    }
  }
}

void Analyzer::plan_round2(std::vector<Task>& tasks) {
  if (!config_.cdc || cdc_bounds_.size() < 2) return;
  ChunkingState& c = chunkings.back();
  const size_t count = cdc_bounds_.size() - 1;
  for (size_t from = 0; from < count; from += kCdcPieceChunks) {
    const size_t to = std::min(count, from + kCdcPieceChunks);
    tasks.push_back([this, &c, from, to] { chunks(c, cdc_bounds_, from, to); });
  }
}

void Analyzer::run_round(std::shared_ptr<WorkerPool> pool, std::shared_ptr<std::vector<Task>> tasks, std::function<void()> next) {
  pool->submit(
      tasks->size(),
      [this, tasks](size_t i) {
        try {
          (*tasks)[i]();
        } catch (const std::exception& e) {
          fail(e.what());
        }
      },
      std::move(next));
}

void Analyzer::finish_batch(bool final) {
  if (final) {
    ++inputs;
    if (config_.sample >= 1 && config_.whole && config_.codecs > 2)
      whole_compressed[2] += 18;  // the gzip member's header and trailer
    buf_.clear();
    buf_base_ = seg_pos_ = segment_index_ = 0;
    for (auto& c : chunkings) c.pos = 0;
    return;
  }
  // Keep what the next batch needs: unfinished chunks, the unfinished segment and its history.
  uint64_t keep = config_.whole ? seg_pos_ - std::min<uint64_t>(seg_pos_, kZstdHistory) : UINT64_MAX;
  for (auto& c : chunkings) keep = std::min(keep, c.pos);
  keep = std::min(std::max(keep, buf_base_), buf_base_ + buf_.size());
  buf_.erase(buf_.begin(), buf_.begin() + ptrdiff_t(keep - buf_base_));
  buf_base_ = keep;
}

void Analyzer::process(std::shared_ptr<WorkerPool> pool, bool final, const uint8_t* data, size_t n,
                       std::function<void(std::string)> done) {
  // The main thread only swaps buffers: joining the batch to the bytes kept from the last one (a copy of
  // 16 MiB, which took up to 160 ms with the workers busy) and planning happen on a worker, so the event
  // loop never waits on them. `taken_` was emptied by the batch before (process() is one call at a time).
  bytes += incoming_.size() + n;
  std::swap(incoming_, taken_);
  pool->submit(
      1, [this, pool, final, data, n, done](size_t) { start_batch(pool, final, data, n, done); }, [] {});
}

void Analyzer::start_batch(std::shared_ptr<WorkerPool> pool, bool final, const uint8_t* data, size_t n,
                           std::function<void(std::string)> done) {
  // Joined in pieces by every worker: copying 16 MiB on one would leave the others idle meanwhile.
  const size_t old = buf_.size();
  size_t t = taken_.size();
  try {
    buf_.resize(old + t + n);  // bytes left uninitialized: the copies below write them all
  } catch (const std::exception& e) {
    fail(e.what());
    t = n = 0;
  }
  const size_t total = t + n;
  uint8_t* to = buf_.data() + old;
  const uint8_t* from = taken_.data();
  pool->submit((total + kPieceBytes - 1) / kPieceBytes,
               [to, from, t, data, total](size_t i) {
                 // Piece i of the concatenation of taken_ ([0, t)) and data ([t, total)).
                 const size_t a = i * kPieceBytes, b = std::min(total, a + kPieceBytes);
                 if (a < t) std::memcpy(to + a, from + a, std::min(b, t) - a);
                 if (b > t) std::memcpy(to + std::max(a, t), data + (std::max(a, t) - t), b - std::max(a, t));
               },
               [this, pool, final, done] {
                 taken_.clear();
                 rounds(pool, final, done);
               });
}

void Analyzer::rounds(std::shared_ptr<WorkerPool> pool, bool final, std::function<void(std::string)> done) {
  auto round1 = std::make_shared<std::vector<Task>>();
  try {
    plan_round1(*round1, final);
  } catch (const std::exception& e) {
    fail(e.what());
    round1->clear();
  }
  run_round(pool, round1, [this, pool, final, done] {
    auto round2 = std::make_shared<std::vector<Task>>();
    bool failed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      failed = !error_.empty();
    }
    if (!failed) plan_round2(*round2);
    run_round(pool, round2, [this, final, done] {
      finish_batch(final);
      std::string error;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        error.swap(error_);
      }
      done(error);
    });
  });
}

}  // namespace dgen
