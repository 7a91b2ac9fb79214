// The native `dgen analyze` engine: fixed-size and FastCDC chunking, the chunk index, per-chunk and
// whole-stream compression, all on the worker pool. Bytes arrive in any buffer sizes through append();
// process() consumes them in batches. Results never depend on how the input was split: chunks, stream
// segments and the CDC scan are all placed by offset within the input, and the bytes a batch cannot
// finish (a partial chunk, a partial segment, the history the next segment compresses against) stay in
// the analyzer's own buffer for the next batch.
//
// Work of a batch, in two rounds on the pool: (1) the fixed chunkings' chunks in pieces of ~1 MiB
// (fingerprint, all-zero test, index insert, and for a new chunk its compressed size per codec), the
// whole-stream segments (one task per segment and codec) and the CDC scan of the batch; (2) the CDC
// chunks found, in pieces. Which worker inserts a fingerprint first does not matter: a chunk's
// compressed size depends only on its bytes.
//
// --sample RATE keeps, per chunking, only fingerprints whose word 0 is below RATE * 2^64 ("sampling by
// fingerprint": every copy of a chunk is kept or dropped together), counts each kept fingerprint's
// copies, compresses only kept new chunks, and compresses a whole-stream segment only if a hash of its
// (input, index) is below RATE * 2^64. The report holds the sums and sums of squares the estimators
// and their intervals need (lib/analyze/sample.ts).
//
// Per-chunk compression with a budget (the default; lib/analyze/options.ts says why): each chunking
// compresses only distinct chunks whose word 0 is below its own threshold, which starts at the --sample
// threshold and halves whenever the sampled chunks' bytes exceed the budget, dropping those above the
// new threshold (Flajolet's adaptive sampling, "On adaptive sampling", Computing 43, 1990; Gibbons,
// "Distinct sampling for highly-accurate answers to distinct values queries", VLDB 2001). The result is
// the set of distinct chunks below the final threshold, whatever the order of arrival: a uniform
// Bernoulli sample by fingerprint, exact (rate 1) when the distinct bytes fit the budget.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "analyze_codecs.h"
#include "analyze_fastcdc.h"
#include "analyze_index.h"
#include "pool.h"

namespace dgen {

// An allocator whose resize() leaves new elements uninitialized (a batch's bytes are copied over them at
// once: zeroing 16 MiB first would cost as much as the copy).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

struct AnalyzeConfig {
  std::vector<size_t> chunk_sizes;
  bool cdc = true;
  CdcParams cdc_params;
  bool per_chunk = true;
  bool whole = true;              // whole-stream compression of each input
  int codecs = kAnalyzeCodecs;    // codecs measured: [0, codecs) of kAnalyzeCodecNames
  uint64_t per_chunk_budget = 0;  // bytes of sampled distinct chunks per chunking; 0 = no limit
  bool sha256 = false;
  double sample = 1;                       // fraction of fingerprints and segments measured; 1 = everything
  size_t segment_bytes = size_t(4) << 20;  // whole-stream segment (lz4's CLI block size)
  size_t batch_bytes = size_t(16) << 20;
};

// Sums over a set of (x = bytes, y[c] = compressed bytes per codec) items: for ratio estimators.
struct RatioMoments {
  double n = 0, x = 0, xx = 0;
  double y[kAnalyzeCodecs] = {}, yy[kAnalyzeCodecs] = {}, xy[kAnalyzeCodecs] = {};
  void add(double bytes, const size_t* compressed);
  void merge(const RatioMoments& o);
};

// The chunks a chunking compresses under a budget: those whose word 0 is below `threshold`.
struct PerChunkSample {
  struct Item {
    uint64_t key0;
    uint64_t bytes;
    uint32_t compressed[kAnalyzeCodecs];
  };
  std::atomic<uint64_t> threshold{UINT64_MAX};
  std::mutex mutex;
  std::vector<Item> items;
  uint64_t bytes = 0;
  // Adds a measured chunk unless the threshold fell below it meanwhile; halves the threshold while the
  // items' bytes exceed `budget`.
  void add(const Item& item, uint64_t budget);
};

struct ChunkingState {
  size_t fixed = 0;  // chunk size, or 0 for CDC
  std::unique_ptr<ChunkIndex> index;
  uint64_t chunks = 0, zero = 0;
  uint64_t unique_bytes = 0;   // of distinct chunks (of kept ones when sampling)
  uint64_t unique_chunks = 0;  // kept distinct chunks
  uint64_t compressed[kAnalyzeCodecs] = {};
  RatioMoments moments;                      // over distinct chunks measured per chunk
  std::unique_ptr<PerChunkSample> budgeted;  // with a per-chunk budget: the sampled chunks
  uint64_t pos = 0;                          // input offset of the next chunk's first byte
};

class Analyzer {
 public:
  explicit Analyzer(AnalyzeConfig config);
  const AnalyzeConfig& config() const { return config_; }
  // Main thread: copies the next bytes of the current input in.
  void append(const uint8_t* data, size_t n);
  size_t pending() const { return incoming_.size(); }
  // Main thread: processes the bytes appended so far, then the `n` bytes at `data` (which must stay
  // unchanged until done), on `pool` (at the end of an input if `final`), then calls done(error) on a
  // worker (empty error on success). One call at a time; returns at once (the main thread swaps two
  // buffers, a worker does the rest).
  void process(std::shared_ptr<WorkerPool> pool, bool final, const uint8_t* data, size_t n,
               std::function<void(std::string)> done);

  // With a per-chunk budget: folds the sampled chunks into `compressed` and `moments` (call between
  // batches, before reading them) and returns the fraction of distinct chunks compressed.
  double settle_per_chunk(ChunkingState& c);

  uint64_t bytes = 0, inputs = 0;
  std::vector<ChunkingState> chunkings;  // fixed sizes in order, then CDC
  uint64_t whole_compressed[kAnalyzeCodecs] = {};
  RatioMoments segments;  // over measured whole-stream segments

 private:
  using Task = std::function<void()>;
  void run_round(std::shared_ptr<WorkerPool> pool, std::shared_ptr<std::vector<Task>> tasks, std::function<void()> next);
  // On a worker: joins `taken_` and then `data` to the kept bytes, then runs the batch's two rounds.
  void start_batch(std::shared_ptr<WorkerPool> pool, bool final, const uint8_t* data, size_t n,
                   std::function<void(std::string)> done);
  // Plans and runs the batch's two rounds, then finishes it and calls done.
  void rounds(std::shared_ptr<WorkerPool> pool, bool final, std::function<void(std::string)> done);
  void plan_round1(std::vector<Task>& tasks, bool final);
  void plan_round2(std::vector<Task>& tasks);
  void finish_batch(bool final);
  // Fingerprints, counts and measures the chunks [starts[i], starts[i+1]) of the buffer.
  void chunks(ChunkingState& c, const std::vector<size_t>& bounds, size_t from, size_t to);
  void fail(const std::string& what);

  AnalyzeConfig config_;
  uint64_t threshold_;             // fingerprints with word 0 below this are kept
  std::vector<uint8_t> incoming_;  // filled by append() on the main thread
  std::vector<uint8_t> taken_;     // the batch process() took, until a worker joins it to buf_
  std::vector<uint8_t, UninitializedAllocator<uint8_t>> buf_;
  uint64_t buf_base_ = 0;  // input offset of buf_[0]
  uint64_t seg_pos_ = 0;   // input offset of the next whole-stream segment
  uint64_t segment_index_ = 0;
  std::vector<size_t> cdc_bounds_;  // buffer offsets: chunk starts then the last chunk's end
  std::mutex mutex_;                // merges of per-task sums; error_
  std::string error_;
};

}  // namespace dgen
