// N-API glue of the local-file data plane: writeFiles() writes whole objects to files (cpp/file_writer.h)
// and verifyFiles() checks files against regeneration (cpp/file_verifier.h), both on the worker pool.
#include "addon_files.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "addon_args.h"
#include "addon_pool.h"
#include "file_verifier.h"
#include "file_writer.h"
#include "layout.h"
#include "limits.h"

namespace dgen {

namespace {

// A writeFiles() batch in progress.
struct AsyncFileWrite {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<WorkerPool> pool;
  Napi::ObjectReference cancel;
  std::vector<FileResult> results;
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
  const KernelInfo* kernel = ToKernel(common);
  FileWriteOptions options;
  options.chunk = size_t(ToU64(o.Get("chunkBytes"), "chunkBytes"));
  options.direct = o.Get("direct").ToBoolean();
  options.fsync = o.Get("fsync").ToBoolean();
  const size_t align = options.direct ? kDirectAlign : kSector;
  if (options.chunk == 0 || options.chunk % align != 0 || options.chunk > kMaxChunk)
    throw Napi::RangeError::New(env, options.direct ? "chunkBytes must be a multiple of 4096 up to 256 MiB with direct I/O"
                                                    : "chunkBytes must be a multiple of 512 up to 256 MiB");
  std::vector<FileObject> objects;
  objects.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, "objects must hold objects");
    const auto item = list.Get(i).As<Napi::Object>();
    if (!item.Get("path").IsString() || !item.Get("partialPath").IsString())
      throw Napi::TypeError::New(env, "every object needs a path and a partialPath");
    objects.push_back(FileObject{std::make_shared<const Layout>(ToLayoutParams(common, item)),
                                 item.Get("partialPath").As<Napi::String>().Utf8Value(),
                                 item.Get("path").As<Napi::String>().Utf8Value()});
  }
  Napi::ObjectReference cancel_ref;
  options.cancel = ToCancelFlag(o.Get("cancel"), cancel_ref);
  auto pool = Pool();
  auto* job = new AsyncFileWrite{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
  Napi::Promise promise = job->deferred.Promise();
  Napi::ThreadSafeFunction done = BeginPending(env);
  write_files(std::move(objects), *kernel, *pool, options, [job, done](std::vector<FileResult> results) mutable {
    job->results = std::move(results);
    done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFileWrite* j) {
      auto arr = Napi::Array::New(env, j->results.size());
      for (size_t i = 0; i < j->results.size(); ++i) {
        const FileResult& r = j->results[i];
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
  std::shared_ptr<WorkerPool> pool;
  Napi::ObjectReference cancel;
  std::vector<VerifyResult> results;
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
  const KernelInfo* kernel = ToKernel(common);
  const uint64_t chunk = ToU64(o.Get("chunkBytes"), "chunkBytes");
  if (chunk == 0 || chunk % kSector != 0 || chunk > kMaxChunk)
    throw Napi::RangeError::New(env, "chunkBytes must be a multiple of 512 up to 256 MiB");
  std::vector<VerifyObject> objects;
  objects.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, "objects must hold objects");
    const auto item = list.Get(i).As<Napi::Object>();
    if (!item.Get("path").IsString()) throw Napi::TypeError::New(env, "every object needs a path");
    objects.push_back(VerifyObject{std::make_shared<const Layout>(ToLayoutParams(common, item)),
                                   item.Get("path").As<Napi::String>().Utf8Value()});
  }
  Napi::ObjectReference cancel_ref;
  const uint8_t* cancel = ToCancelFlag(o.Get("cancel"), cancel_ref);
  auto pool = Pool();
  auto* job = new AsyncFileVerify{Napi::Promise::Deferred::New(env), pool, std::move(cancel_ref), {}};
  Napi::Promise promise = job->deferred.Promise();
  Napi::ThreadSafeFunction done = BeginPending(env);
  verify_files(std::move(objects), *kernel, *pool, size_t(chunk), cancel, [job, done](std::vector<VerifyResult> results) mutable {
    job->results = std::move(results);
    done.BlockingCall(job, [](Napi::Env env, Napi::Function, AsyncFileVerify* j) {
      static const char* const kStatus[] = {"ok", "mismatch", "missing", "size", "error"};
      auto arr = Napi::Array::New(env, j->results.size());
      for (size_t i = 0; i < j->results.size(); ++i) {
        const VerifyResult& r = j->results[i];
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

}  // namespace

void RegisterFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("writeFiles", Napi::Function::New(env, WriteFiles, "writeFiles"));
  exports.Set("verifyFiles", Napi::Function::New(env, VerifyFiles, "verifyFiles"));
}

}  // namespace dgen
