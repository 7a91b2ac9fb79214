// N-API glue of the Generator class: one object's bytes, filled on the calling thread or the worker pool
// (cpp/fill.h), or written to a descriptor by the pool (cpp/fd_writer.h); and kernels(), the fill kernels
// this CPU has.
#include "addon_generator.h"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "addon_args.h"
#include "addon_pool.h"
#include "fd_writer.h"
#include "fill.h"
#include "kernels.h"
#include "layout.h"
#include "limits.h"

namespace dgen {

namespace {

// A fill in progress on the pool; completed on the main thread through the environment's thread-safe
// function.
struct AsyncFill {
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference target;  // keeps the caller's memory alive until the work is done
  size_t length;
  std::shared_ptr<const Layout> layout;  // the Generator may be collected while work runs
  std::shared_ptr<WorkerPool> pool;      // keeps the pool alive if configurePool() replaces it meanwhile
};

// A writeToFd() run in progress.
struct AsyncFdWrite {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<WorkerPool> pool;
  Napi::ObjectReference cancel;  // keeps the cancel flag's memory alive while the workers read it
  FdWriteResult result;
};

// new Generator({ seed, objectId, size, unitBytes, dedupRatio, compressRatio, kernel })
class Generator : public Napi::ObjectWrap<Generator> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Generator",
                       {InstanceMethod<&Generator::FillSync>("fillSync"), InstanceMethod<&Generator::FillAsync>("fill"),
                        InstanceMethod<&Generator::WriteToFd>("writeToFd"), InstanceMethod<&Generator::UniqueOf>("uniqueOf"),
                        InstanceAccessor<&Generator::Units>("units"), InstanceAccessor<&Generator::UniqueUnits>("uniqueUnits"),
                        InstanceAccessor<&Generator::RandomBytesPerSector>("randomBytesPerSector"),
                        InstanceAccessor<&Generator::Kernel>("kernel"), InstanceAccessor<&Generator::Threads>("threads")});
  }

  explicit Generator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Generator>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Generator expects an options object");
    auto o = info[0].As<Napi::Object>();
    const LayoutParams p = ToLayoutParams(o, o);
    threads_ = ToThreads(o.Get("threads"));
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
  size_t Parts(const WorkerPool& pool) const { return threads_ > 0 ? size_t(threads_) : pool.size(); }

  Napi::Value FillSync(const Napi::CallbackInfo& info) {
    auto [t, offset] = Range(info);
    if (t.length < kParallelMin || threads_ == 1) {
      fill(*layout_, t.data, offset, t.length, *kernel_);
    } else {
      auto pool = Pool();
      const auto pieces = split_range(t.length, Parts(*pool), kMinPiece, kSector);
      const Layout& layout = *layout_;
      const KernelInfo& kernel = *kernel_;
      pool->run(pieces.size(),
                [&](size_t i) { fill(layout, t.data + pieces[i].offset, offset + pieces[i].offset, pieces[i].length, kernel); });
    }
    return Napi::Number::New(info.Env(), double(t.length));
  }

  // Fills on the worker pool (never on libuv's); the promise resolves on the main thread.
  Napi::Value FillAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto [t, offset] = Range(info);
    auto pool = Pool();
    auto* job =
        new AsyncFill{Napi::Promise::Deferred::New(env), Napi::Persistent(info[0].As<Napi::Object>()), t.length, layout_, pool};
    Napi::Promise promise = job->deferred.Promise();
    Napi::ThreadSafeFunction done = BeginPending(env);
    const size_t parts = threads_ == 1 ? 1 : Parts(*pool);
    auto pieces = std::make_shared<std::vector<Piece>>(split_range(t.length, parts, kMinPiece, kSector));
    const KernelInfo* kernel = kernel_;  // points into a static table
    uint8_t* bytes = t.data;
    pool->submit(
        pieces->size(),
        [job, pieces, bytes, offset, kernel](size_t i) {
          const Piece& p = (*pieces)[i];
          fill(*job->layout, bytes + p.offset, offset + p.offset, p.length, *kernel);
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
    if (chunk == 0 || chunk % kSector != 0 || chunk > kMaxChunk)
      throw Napi::RangeError::New(env, "chunkBytes must be a multiple of 512 up to 256 MiB");
    Napi::ObjectReference cancel_ref;
    const uint8_t* cancel = ToCancelFlag(info[4], cancel_ref);
    auto pool = Pool();
    auto* job = new AsyncFdWrite{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
    Napi::Promise promise = job->deferred.Promise();
    Napi::ThreadSafeFunction done = BeginPending(env);
    write_to_fd(layout_, *kernel_, *pool, size_t(threads_), int(fd), offset, length, size_t(chunk), cancel,
                [job, done](FdWriteResult r) mutable {
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
  const KernelInfo* kernel_ = nullptr;
  int threads_ = 0;  // pieces per large fill; 0: as many as the pool has workers
};

Napi::Value Kernels(const Napi::CallbackInfo& info) {
  KernelInfo k[4];
  const int n = available_kernels(k, 4);
  auto arr = Napi::Array::New(info.Env(), n);
  for (int i = 0; i < n; ++i) arr.Set(uint32_t(i), Napi::String::New(info.Env(), k[i].name));
  return arr;
}

}  // namespace

void RegisterGenerator(Napi::Env env, Napi::Object exports) {
  exports.Set("Generator", Generator::Init(env));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
}

}  // namespace dgen
