// N-API glue: the only file that knows about JavaScript. Parameters arrive validated by lib/params.ts;
// the checks here only keep a wrong call from the JavaScript side from touching memory it should not.
#include <napi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "addon_analyze.h"
#include "addon_codecs.h"
#include "buffers.h"
#include "crc32c.h"
#include "fd_writer.h"
#include "file_verifier.h"
#include "file_writer.h"
#include "fill.h"
#include "kernels.h"
#include "layout.h"
#include "pool.h"
#include "topology.h"

namespace {

using dgen::Layout;
using dgen::LayoutParams;

uint64_t ToU64(const Napi::Value& v, const char* name) {
  if (v.IsBigInt()) {
    bool lossless = false;
    const uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(v.Env(), std::string(name) + " does not fit in 64 bits");
    return x;
  }
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d)))
      throw Napi::RangeError::New(v.Env(), std::string(name) + " must be a non-negative safe integer");
    return static_cast<uint64_t>(d);
  }
  throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a number or bigint");
}

// The layout parameters of one object: the run's common ones from `common` (seed, unitBytes, dedupRatio,
// compressRatio, datasetUnits) and the object's own from `object` (objectId, size, unitOffset); one object
// may serve as both.
LayoutParams ToLayoutParams(const Napi::Object& common, const Napi::Object& object) {
  Napi::Env env = common.Env();
  LayoutParams p{};
  p.seed = ToU64(common.Get("seed"), "seed");
  p.object_id = ToU64(object.Get("objectId"), "objectId");
  p.size = ToU64(object.Get("size"), "size");
  p.unit_bytes = ToU64(common.Get("unitBytes"), "unitBytes");
  auto optional = [](const Napi::Object& o, const char* name) { return o.Get(name).IsUndefined() ? 0 : ToU64(o.Get(name), name); };
  p.dataset_units = optional(common, "datasetUnits");
  p.unit_offset = optional(object, "unitOffset");
  p.dedup_ratio = common.Get("dedupRatio").ToNumber().DoubleValue();
  p.compress_ratio = common.Get("compressRatio").ToNumber().DoubleValue();
  if (p.unit_bytes == 0 || p.unit_bytes % dgen::kSector != 0)
    throw Napi::RangeError::New(env, "unitBytes must be a positive multiple of 512");
  const uint64_t units = (p.size + p.unit_bytes - 1) / p.unit_bytes;
  if (p.dataset_units != 0 && (p.unit_offset > p.dataset_units || units > p.dataset_units - p.unit_offset))
    throw Napi::RangeError::New(env, "unitOffset + units must not exceed datasetUnits");
  if (!(p.dedup_ratio >= 1) || !(p.compress_ratio >= 1))
    throw Napi::RangeError::New(env, "dedupRatio and compressRatio must be >= 1");
  return p;
}

const dgen::KernelInfo* ToKernel(const Napi::Object& o) {
  const std::string name = o.Get("kernel").IsString() ? o.Get("kernel").As<Napi::String>().Utf8Value() : std::string("auto");
  const dgen::KernelInfo* kernel = dgen::find_kernel(name.c_str());
  if (kernel == nullptr) throw Napi::RangeError::New(o.Env(), "kernel '" + name + "' is not available on this CPU");
  return kernel;
}

struct Target {
  uint8_t* data;
  size_t length;
};

Target ToTarget(const Napi::Value& v) {
  if (!v.IsTypedArray() && !v.IsDataView())
    throw Napi::TypeError::New(v.Env(), "target must be a Buffer, TypedArray or DataView");
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    return {static_cast<uint8_t*>(dv.Data()), dv.ByteLength()};
  }
  auto ta = v.As<Napi::TypedArray>();
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
  return {base + ta.ByteOffset(), ta.ByteLength()};
}

// An optional cancel flag: a TypedArray whose first byte the caller sets to stop a run, read by the
// workers; `ref` keeps its memory alive until the run is over. Null when `v` is undefined.
const uint8_t* ToCancelFlag(const Napi::Value& v, Napi::ObjectReference& ref) {
  if (v.IsUndefined()) return nullptr;
  const Target flag = ToTarget(v);
  if (flag.length < 1) throw Napi::RangeError::New(v.Env(), "cancel must hold at least one byte");
  ref = Napi::Persistent(v.As<Napi::Object>());
  return flag.data;
}

// Fills of at least this many bytes are split across the worker pool.
constexpr size_t kParallelMin = 1 << 20;
// Largest chunk a worker writes at once (MAX_CHUNK_SIZE in lib/params.ts is lower).
constexpr uint64_t kMaxChunk = uint64_t(1) << 30;
// Smallest piece a worker gets.
constexpr size_t kMinPiece = 256 << 10;

// The process-wide worker pool: created on first use from the topology (DGEN_THREADS overrides the
// thread count), replaced by configurePool().
struct PoolConfig {
  int threads = 0;
  dgen::NumaMode mode = dgen::NumaMode::Auto;
  std::vector<int> nodes;
};
std::mutex g_pool_mutex;
std::shared_ptr<dgen::WorkerPool> g_pool;
PoolConfig g_pool_config;
std::string g_topology_source;

std::shared_ptr<dgen::WorkerPool> Pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) {
    if (g_pool_config.threads == 0) {
      const char* env = std::getenv("DGEN_THREADS");
      if (env && std::atoi(env) > 0) g_pool_config.threads = std::atoi(env);
    }
    const dgen::Topology topo = dgen::load_topology("");
    g_topology_source = topo.source;
    g_pool = std::make_shared<dgen::WorkerPool>(dgen::plan_workers(topo, g_pool_config.threads, g_pool_config.mode, g_pool_config.nodes));
  }
  return g_pool;
}

// Chunk memory for streams, recycled through Buffer finalizers; the streams set how much it keeps.
dgen::BufferPool g_buffers(0);

// A fill in progress on the pool; completed on the main thread through the environment's thread-safe
// function.
struct AsyncFill {
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference target;  // keeps the caller's memory alive until the work is done
  size_t length;
  std::shared_ptr<const Layout> layout;  // the Generator may be collected while work runs
  std::shared_ptr<dgen::WorkerPool> pool;  // keeps the pool alive if configurePool() replaces it meanwhile
};

// Per-environment state: one long-lived thread-safe function carries every completion back to the main
// thread (creating one per fill cost about 0.4 ms of main-thread time). It holds the event loop open
// only while fills are pending.
struct AddonData {
  Napi::ThreadSafeFunction done;
  size_t pending = 0;
};

// Work handed to the pool holds the event loop open until its completion has run on the main thread.
Napi::ThreadSafeFunction BeginPending(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data->pending++ == 0) data->done.Ref(env);
  return data->done;
}
void EndPending(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (--data->pending == 0) data->done.Unref(env);
}

// A writeToFd() run in progress.
struct AsyncFdWrite {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<dgen::WorkerPool> pool;
  Napi::ObjectReference cancel;  // keeps the cancel flag's memory alive while the workers read it
  dgen::FdWriteResult result;
};

// new Generator({ seed, objectId, size, unitBytes, dedupRatio, compressRatio, kernel })
class Generator : public Napi::ObjectWrap<Generator> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Generator",
                       {InstanceMethod<&Generator::FillSync>("fillSync"),
                        InstanceMethod<&Generator::FillAsync>("fill"),
                        InstanceMethod<&Generator::WriteToFd>("writeToFd"),
                        InstanceMethod<&Generator::UniqueOf>("uniqueOf"),
                        InstanceAccessor<&Generator::Units>("units"),
                        InstanceAccessor<&Generator::UniqueUnits>("uniqueUnits"),
                        InstanceAccessor<&Generator::RandomBytesPerSector>("randomBytesPerSector"),
                        InstanceAccessor<&Generator::Kernel>("kernel"),
                        InstanceAccessor<&Generator::Threads>("threads")});
  }

  explicit Generator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Generator>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Generator expects an options object");
    auto o = info[0].As<Napi::Object>();
    const LayoutParams p = ToLayoutParams(o, o);
    threads_ = o.Get("threads").IsUndefined() ? 0 : int(ToU64(o.Get("threads"), "threads"));
    kernel_ = ToKernel(o);
    layout_ = std::make_shared<const Layout>(p);
  }

 private:
  // Checks that [offset, offset + target length) lies inside the object.
  std::pair<Target, uint64_t> Range(const Napi::CallbackInfo& info) {
    Target t = ToTarget(info[0]);
    const uint64_t offset = ToU64(info[1], "offset");
    CheckRange(info.Env(), offset, t.length);
    return {t, offset};
  }

  void CheckRange(Napi::Env env, uint64_t offset, uint64_t length) const {
    if (offset > layout_->size() || length > layout_->size() - offset)
      throw Napi::RangeError::New(env, "range ends past the end of the object");
  }

  // How many pieces a large fill is cut into: the generator's thread count, else one per pool worker.
  size_t Parts(const dgen::WorkerPool& pool) const { return threads_ > 0 ? size_t(threads_) : pool.size(); }

  Napi::Value FillSync(const Napi::CallbackInfo& info) {
    auto [t, offset] = Range(info);
    if (t.length < kParallelMin || threads_ == 1) {
      dgen::fill(*layout_, t.data, offset, t.length, *kernel_);
    } else {
      auto pool = Pool();
      const auto pieces = dgen::split_range(t.length, Parts(*pool), kMinPiece, dgen::kSector);
      const Layout& layout = *layout_;
      const dgen::KernelInfo& kernel = *kernel_;
      pool->run(pieces.size(), [&](size_t i) { dgen::fill(layout, t.data + pieces[i].offset, offset + pieces[i].offset, pieces[i].length, kernel); });
    }
    return Napi::Number::New(info.Env(), double(t.length));
  }

  // Fills on the worker pool (never on libuv's); the promise resolves on the main thread.
  Napi::Value FillAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto [t, offset] = Range(info);
    auto pool = Pool();
    auto* job = new AsyncFill{Napi::Promise::Deferred::New(env), Napi::Persistent(info[0].As<Napi::Object>()), t.length, layout_, pool};
    Napi::Promise promise = job->deferred.Promise();
    Napi::ThreadSafeFunction done = BeginPending(env);
    const size_t parts = threads_ == 1 ? 1 : Parts(*pool);
    auto pieces = std::make_shared<std::vector<dgen::Piece>>(dgen::split_range(t.length, parts, kMinPiece, dgen::kSector));
    const dgen::KernelInfo* kernel = kernel_;  // points into a static table
    uint8_t* bytes = t.data;
    pool->submit(
        pieces->size(),
        [job, pieces, bytes, offset, kernel](size_t i) {
          const dgen::Piece& p = (*pieces)[i];
          dgen::fill(*job->layout, bytes + p.offset, offset + p.offset, p.length, *kernel);
        },
        [job, done]() mutable {
          done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFill* j) {
            j->deferred.Resolve(Napi::Number::New(env, double(j->length)));
            delete j;
            EndPending(env);
          });
        });
    return promise;
  }

  // writeToFd(fd, offset, length, chunkBytes, cancel?): writes the object's bytes [offset, offset + length)
  // to the descriptor in order, generated and written by the pool's workers (see fd_writer.h). `cancel` is
  // an optional Uint8Array whose first byte the caller sets to 1 to stop the run (errno ECANCELED).
  // Resolves with { bytesWritten, errno } (errno 0 when all was written); the caller keeps fd open until
  // then.
  Napi::Value WriteToFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t fd = ToU64(info[0], "fd");
    const uint64_t offset = ToU64(info[1], "offset"), length = ToU64(info[2], "length");
    const uint64_t chunk = ToU64(info[3], "chunkBytes");
    if (fd > uint64_t(INT32_MAX)) throw Napi::RangeError::New(env, "fd out of range");
    CheckRange(env, offset, length);
    if (chunk == 0 || chunk % dgen::kSector != 0 || chunk > kMaxChunk)
      throw Napi::RangeError::New(env, "chunkBytes must be a multiple of 512 up to 1 GiB");
    Napi::ObjectReference cancel_ref;
    const uint8_t* cancel = ToCancelFlag(info[4], cancel_ref);
    auto pool = Pool();
    auto* job = new AsyncFdWrite{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
    Napi::Promise promise = job->deferred.Promise();
    Napi::ThreadSafeFunction done = BeginPending(env);
    dgen::write_to_fd(layout_, *kernel_, *pool, size_t(threads_), int(fd), offset, length, size_t(chunk), cancel, [job, done](dgen::FdWriteResult r) mutable {
      job->result = r;
      done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFdWrite* j) {
        auto o = Napi::Object::New(env);
        o.Set("bytesWritten", double(j->result.written));
        o.Set("errno", j->result.error);
        j->deferred.Resolve(o);
        delete j;
        EndPending(env);
      });
    });
    return promise;
  }

  Napi::Value UniqueOf(const Napi::CallbackInfo& info) {
    const uint64_t unit = ToU64(info[0], "unit");
    if (unit >= layout_->units()) throw Napi::RangeError::New(info.Env(), "unit index out of range");
    return Napi::Number::New(info.Env(), double(layout_->unique_of(unit)));
  }

  Napi::Value Units(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(layout_->units())); }
  Napi::Value UniqueUnits(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(layout_->unique_units()));
  }
  Napi::Value RandomBytesPerSector(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(layout_->random_fp()) / 4294967296.0);
  }
  Napi::Value Kernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernel_->name); }
  Napi::Value Threads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), threads_ > 0 ? threads_ : double(Pool()->size()));
  }

  std::shared_ptr<const Layout> layout_;
  const dgen::KernelInfo* kernel_ = nullptr;
  int threads_ = 0;  // pieces per large fill; 0: as many as the pool has workers
};

Napi::Value Kernels(const Napi::CallbackInfo& info) {
  dgen::KernelInfo k[4];
  const int n = dgen::available_kernels(k, 4);
  auto arr = Napi::Array::New(info.Env(), n);
  for (int i = 0; i < n; ++i) arr.Set(uint32_t(i), Napi::String::New(info.Env(), k[i].name));
  return arr;
}

// allocAligned(size, alignment): a Buffer whose memory starts at a multiple of `alignment` (a power of two
// >= 8), for O_DIRECT writes. Freed by its finalizer when the Buffer is collected.
Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  const uint64_t size = ToU64(info[0], "size");
  const uint64_t alignment = ToU64(info[1], "alignment");
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0)
    throw Napi::RangeError::New(info.Env(), "alignment must be a power of two >= 8");
  void* data = nullptr;
  if (posix_memalign(&data, size_t(alignment), size_t(size == 0 ? alignment : size)) != 0)
    throw Napi::Error::New(info.Env(), "allocAligned: out of memory");
  return Napi::Buffer<uint8_t>::New(info.Env(), static_cast<uint8_t*>(data), size_t(size),
                                    [](Napi::Env, uint8_t* p) { std::free(p); });
}

dgen::NumaMode ParseNuma(const Napi::Value& v, std::vector<int>& nodes) {
  if (v.IsUndefined() || (v.IsString() && v.As<Napi::String>().Utf8Value() == "auto")) return dgen::NumaMode::Auto;
  if (v.IsString() && v.As<Napi::String>().Utf8Value() == "off") return dgen::NumaMode::Off;
  if (v.IsObject() && v.As<Napi::Object>().Get("nodes").IsArray()) {
    auto arr = v.As<Napi::Object>().Get("nodes").As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) nodes.push_back(int(ToU64(arr.Get(i), "nodes[i]")));
    return dgen::NumaMode::Nodes;
  }
  throw Napi::TypeError::New(v.Env(), "numa must be 'auto', 'off' or { nodes: [...] }");
}

Napi::Object TopologyToJs(Napi::Env env, const dgen::Topology& t) {
  auto o = Napi::Object::New(env);
  o.Set("source", t.source);
  o.Set("packages", t.packages);
  o.Set("numaNodes", t.nodes);
  auto cores = Napi::Array::New(env, t.cores.size());
  for (size_t i = 0; i < t.cores.size(); ++i) {
    auto c = Napi::Object::New(env);
    c.Set("package", t.cores[i].package);
    c.Set("node", t.cores[i].node);
    auto pus = Napi::Array::New(env, t.cores[i].pus.size());
    for (size_t k = 0; k < t.cores[i].pus.size(); ++k) pus.Set(uint32_t(k), t.cores[i].pus[k]);
    c.Set("pus", pus);
    cores.Set(uint32_t(i), c);
  }
  o.Set("cores", cores);
  return o;
}

Napi::Array PlanToJs(Napi::Env env, const std::vector<dgen::WorkerPlan>& plan) {
  auto arr = Napi::Array::New(env, plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    auto w = Napi::Object::New(env);
    w.Set("pu", plan[i].pu);
    w.Set("node", plan[i].node);
    arr.Set(uint32_t(i), w);
  }
  return arr;
}

std::string SyntheticOption(const Napi::Value& v) {
  if (!v.IsObject()) return "";
  auto s = v.As<Napi::Object>().Get("synthetic");
  return s.IsString() ? s.As<Napi::String>().Utf8Value() : "";
}

// topology({ synthetic? })
Napi::Value Topology(const Napi::CallbackInfo& info) {
  try {
    return TopologyToJs(info.Env(), dgen::load_topology(SyntheticOption(info[0])));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

// planWorkers({ synthetic?, threads?, numa? }): where workers would go.
Napi::Value PlanWorkers(const Napi::CallbackInfo& info) {
  auto o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
  std::vector<int> nodes;
  const dgen::NumaMode mode = ParseNuma(o.Get("numa"), nodes);
  const int threads = o.Get("threads").IsUndefined() ? 0 : int(ToU64(o.Get("threads"), "threads"));
  try {
    return PlanToJs(info.Env(), dgen::plan_workers(dgen::load_topology(SyntheticOption(o)), threads, mode, nodes));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

// configurePool({ threads?, numa? }): replaces the worker pool (fills in flight keep the old one).
Napi::Value ConfigurePool(const Napi::CallbackInfo& info) {
  auto o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
  PoolConfig config;
  config.mode = ParseNuma(o.Get("numa"), config.nodes);
  config.threads = o.Get("threads").IsUndefined() ? 0 : int(ToU64(o.Get("threads"), "threads"));
  const dgen::Topology topo = dgen::load_topology("");
  std::vector<dgen::WorkerPlan> plan;
  try {
    plan = dgen::plan_workers(topo, config.threads, config.mode, config.nodes);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
  std::shared_ptr<dgen::WorkerPool> old;
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    g_pool_config = config;
    old = std::move(g_pool);
    g_pool = std::make_shared<dgen::WorkerPool>(std::move(plan));
    g_topology_source = topo.source;
  }
  return info.Env().Undefined();  // `old` joins its threads once the last fill using it lets go
}

// poolInfo(): the current pool's plan and whether each worker is bound.
Napi::Value PoolInfo(const Napi::CallbackInfo& info) {
  auto pool = Pool();
  auto o = Napi::Object::New(info.Env());
  o.Set("threads", double(pool->size()));
  o.Set("workers", PlanToJs(info.Env(), pool->plan()));
  auto bound = pool->bound();
  auto b = Napi::Array::New(info.Env(), bound.size());
  for (size_t i = 0; i < bound.size(); ++i) b.Set(uint32_t(i), bool(bound[i]));
  o.Set("bound", b);
  o.Set("hwloc", dgen::have_hwloc());
  o.Set("topologySource", g_topology_source);
  return o;
}

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
// after, a scavenge every 24 MiB and no full collection.
static void LetV8CollectYoungChunks(Napi::Env env) { Napi::ArrayBuffer::New(env, 1); }

// allocChunk(size): a Buffer on recycled memory (huge pages from 2 MiB on: buffers.h); its memory goes back
// to the pool when the Buffer is collected, and not before.
Napi::Value AllocChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = size_t(ToU64(info[0], "size"));
  uint8_t* block = g_buffers.take(size);
  try {
    LetV8CollectYoungChunks(env);
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
  uint8_t* block = dgen::map_huge_chunk(size);
  if (block == nullptr) throw Napi::Error::New(env, "allocHugeChunk: mmap failed");
  try {
    LetV8CollectYoungChunks(env);  // as for allocChunk: dead chunks unmapped at scavenges
    return Napi::Buffer<uint8_t>::New(env, block, size, [size](Napi::Env, uint8_t* p) { dgen::unmap_huge_chunk(p, size); });
  } catch (...) {
    dgen::unmap_huge_chunk(block, size);
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

// A writeFiles() batch in progress.
struct AsyncFileWrite {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<dgen::WorkerPool> pool;
  Napi::ObjectReference cancel;
  std::vector<dgen::FileResult> results;
};

// writeFiles(common, objects, options): writes whole objects to local files on the pool (see
// file_writer.h). common: { seed, unitBytes, dedupRatio, compressRatio, datasetUnits?, kernel? };
// objects: [{ objectId, size, unitOffset?, path, partialPath }]; options: { chunkBytes, direct, fsync,
// cancel? } where cancel is a Uint8Array whose first byte the caller sets to stop the batch. Resolves
// with one { bytesWritten, crc32c, errno, syscall, cleanupErrno } per object, in order.
Napi::Value WriteFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "writeFiles(common, objects, options)");
  const auto common = info[0].As<Napi::Object>();
  const auto list = info[1].As<Napi::Array>();
  const auto o = info[2].As<Napi::Object>();
  const dgen::KernelInfo* kernel = ToKernel(common);
  dgen::FileWriteOptions options;
  options.chunk = size_t(ToU64(o.Get("chunkBytes"), "chunkBytes"));
  options.direct = o.Get("direct").ToBoolean();
  options.fsync = o.Get("fsync").ToBoolean();
  const size_t align = options.direct ? 4096 : dgen::kSector;
  if (options.chunk == 0 || options.chunk % align != 0 || options.chunk > kMaxChunk)
    throw Napi::RangeError::New(env, options.direct ? "chunkBytes must be a multiple of 4096 up to 1 GiB with direct I/O"
                                                    : "chunkBytes must be a multiple of 512 up to 1 GiB");
  std::vector<dgen::FileObject> objects;
  objects.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, "objects must hold objects");
    const auto item = list.Get(i).As<Napi::Object>();
    if (!item.Get("path").IsString() || !item.Get("partialPath").IsString())
      throw Napi::TypeError::New(env, "every object needs a path and a partialPath");
    objects.push_back(dgen::FileObject{std::make_shared<const Layout>(ToLayoutParams(common, item)),
                                       item.Get("partialPath").As<Napi::String>().Utf8Value(),
                                       item.Get("path").As<Napi::String>().Utf8Value()});
  }
  Napi::ObjectReference cancel_ref;
  options.cancel = ToCancelFlag(o.Get("cancel"), cancel_ref);
  auto pool = Pool();
  auto* job = new AsyncFileWrite{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
  Napi::Promise promise = job->deferred.Promise();
  Napi::ThreadSafeFunction done = BeginPending(env);
  dgen::write_files(std::move(objects), *kernel, *pool, options, [job, done](std::vector<dgen::FileResult> results) mutable {
    job->results = std::move(results);
    done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFileWrite* j) {
      auto arr = Napi::Array::New(env, j->results.size());
      for (size_t i = 0; i < j->results.size(); ++i) {
        const dgen::FileResult& r = j->results[i];
        auto item = Napi::Object::New(env);
        item.Set("bytesWritten", double(r.written));
        item.Set("crc32c", double(r.crc32c));
        item.Set("errno", r.error);
        item.Set("syscall", r.syscall);
        item.Set("cleanupErrno", r.cleanup_error);
        item.Set("latencyMs", double(r.latency_ns) / 1e6);
        arr.Set(uint32_t(i), item);
      }
      j->deferred.Resolve(arr);
      delete j;
      EndPending(env);
    });
  });
  return promise;
}

// A verifyFiles() batch in progress.
struct AsyncFileVerify {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<dgen::WorkerPool> pool;
  Napi::ObjectReference cancel;
  std::vector<dgen::VerifyResult> results;
};

// verifyFiles(common, objects, options): checks local files against regeneration on the pool (see
// file_verifier.h). common as for writeFiles; objects: [{ objectId, size, unitOffset?, path }]; options:
// { chunkBytes, cancel? }. Resolves with one { status, offset, actualSize, errno, syscall } per object,
// status being 'ok', 'mismatch', 'missing', 'size' or 'error'.
Napi::Value VerifyFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "verifyFiles(common, objects, options)");
  const auto common = info[0].As<Napi::Object>();
  const auto list = info[1].As<Napi::Array>();
  const auto o = info[2].As<Napi::Object>();
  const dgen::KernelInfo* kernel = ToKernel(common);
  const uint64_t chunk = ToU64(o.Get("chunkBytes"), "chunkBytes");
  if (chunk == 0 || chunk % dgen::kSector != 0 || chunk > kMaxChunk)
    throw Napi::RangeError::New(env, "chunkBytes must be a multiple of 512 up to 1 GiB");
  std::vector<dgen::VerifyObject> objects;
  objects.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, "objects must hold objects");
    const auto item = list.Get(i).As<Napi::Object>();
    if (!item.Get("path").IsString()) throw Napi::TypeError::New(env, "every object needs a path");
    objects.push_back(dgen::VerifyObject{std::make_shared<const Layout>(ToLayoutParams(common, item)), item.Get("path").As<Napi::String>().Utf8Value()});
  }
  Napi::ObjectReference cancel_ref;
  const uint8_t* cancel = ToCancelFlag(o.Get("cancel"), cancel_ref);
  auto pool = Pool();
  auto* job = new AsyncFileVerify{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
  Napi::Promise promise = job->deferred.Promise();
  Napi::ThreadSafeFunction done = BeginPending(env);
  dgen::verify_files(std::move(objects), *kernel, *pool, size_t(chunk), cancel, [job, done](std::vector<dgen::VerifyResult> results) mutable {
    job->results = std::move(results);
    done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFileVerify* j) {
      static const char* const kStatus[] = {"ok", "mismatch", "missing", "size", "error"};
      auto arr = Napi::Array::New(env, j->results.size());
      for (size_t i = 0; i < j->results.size(); ++i) {
        const dgen::VerifyResult& r = j->results[i];
        auto item = Napi::Object::New(env);
        item.Set("status", kStatus[int(r.status)]);
        item.Set("offset", double(r.offset));
        item.Set("actualSize", double(r.actual_size));
        item.Set("errno", r.error);
        item.Set("syscall", r.syscall);
        arr.Set(uint32_t(i), item);
      }
      j->deferred.Resolve(arr);
      delete j;
      EndPending(env);
    });
  });
  return promise;
}

// crc32c(data, crc = 0): the CRC-32C of `crc`'s message followed by data (see crc32c.h).
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  const Target t = ToTarget(info[0]);
  const uint64_t init = info[1].IsUndefined() ? 0 : ToU64(info[1], "crc");
  if (init > 0xffffffffu) throw Napi::RangeError::New(info.Env(), "crc must be a 32-bit unsigned integer");
  return Napi::Number::New(info.Env(), double(dgen::crc32c_update(uint32_t(init), t.data, t.length)));
}

// crc32cCombine(crcA, crcB, lengthB): the CRC-32C of A followed by B.
Napi::Value Crc32cCombine(const Napi::CallbackInfo& info) {
  const uint64_t a = ToU64(info[0], "crcA"), b = ToU64(info[1], "crcB"), len = ToU64(info[2], "lengthB");
  if (a > 0xffffffffu || b > 0xffffffffu) throw Napi::RangeError::New(info.Env(), "CRCs must be 32-bit unsigned integers");
  return Napi::Number::New(info.Env(), double(dgen::crc32c_combine(uint32_t(a), uint32_t(b), len)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData{Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "dgen.fill", 0, 1)};
  data->done.Unref(env);
  env.SetInstanceData<AddonData>(data);  // deleted with the environment
  exports.Set("topology", Napi::Function::New(env, Topology, "topology"));
  exports.Set("planWorkers", Napi::Function::New(env, PlanWorkers, "planWorkers"));
  exports.Set("configurePool", Napi::Function::New(env, ConfigurePool, "configurePool"));
  exports.Set("poolInfo", Napi::Function::New(env, PoolInfo, "poolInfo"));
  exports.Set("allocChunk", Napi::Function::New(env, AllocChunk, "allocChunk"));
  exports.Set("allocHugeChunk", Napi::Function::New(env, AllocHugeChunk, "allocHugeChunk"));
  exports.Set("setBufferPoolLimit", Napi::Function::New(env, SetBufferPoolLimit, "setBufferPoolLimit"));
  exports.Set("bufferPoolStats", Napi::Function::New(env, BufferPoolStats, "bufferPoolStats"));
  exports.Set("allocAligned", Napi::Function::New(env, AllocAligned, "allocAligned"));
  exports.Set("Generator", Generator::Init(env));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
  exports.Set("writeFiles", Napi::Function::New(env, WriteFiles, "writeFiles"));
  exports.Set("verifyFiles", Napi::Function::New(env, VerifyFiles, "verifyFiles"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("crc32cCombine", Napi::Function::New(env, Crc32cCombine, "crc32cCombine"));
  exports.Set("crc32cImplementation", Napi::String::New(env, dgen::crc32c_implementation()));
  dgen::RegisterCodecs(env, exports, Pool);
  dgen::RegisterAnalyze(env, exports, Pool);
  return exports;
}

}  // namespace

NODE_API_MODULE(dgen, Init)
