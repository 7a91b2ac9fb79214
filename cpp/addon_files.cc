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

// An object's `segments` and `crc32Fields` (see WriteFiles), checked against its stream's size: one parser
// for the files writeFiles writes and the files verifyFiles checks against them.
void ToSegments(Napi::Env env, const Napi::Object& item, uint64_t stream_size, std::vector<FileSegment>& segments_out,
                std::vector<Crc32Field>& fields_out) {
  const Napi::Value list = item.Get("segments");
  if (list.IsUndefined()) return;
  if (!list.IsArray()) throw Napi::TypeError::New(env, "segments must be an array");
  const auto segments = list.As<Napi::Array>();
  for (uint32_t k = 0; k < segments.Length(); ++k) {
    if (!segments.Get(k).IsObject()) throw Napi::TypeError::New(env, "segments must hold objects");
    const auto seg = segments.Get(k).As<Napi::Object>();
    FileSegment out;
    const Napi::Value bytes = seg.Get("bytes");
    if (bytes.IsTypedArray() && bytes.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      const auto array = bytes.As<Napi::Uint8Array>();
      out.bytes.assign(array.Data(), array.Data() + array.ByteLength());
      out.length = array.ByteLength();
    } else if (bytes.IsUndefined()) {
      out.generated = true;
      out.offset = ToU64(seg.Get("offset"), "offset");
      out.length = ToU64(seg.Get("length"), "length");
      if (out.offset > stream_size || out.length > stream_size - out.offset)
        throw Napi::RangeError::New(env, "a generated segment must lie within the object's size");
    } else {
      throw Napi::TypeError::New(env, "a segment's bytes must be a Uint8Array");
    }
    segments_out.push_back(std::move(out));
  }
  const Napi::Value fields = item.Get("crc32Fields");
  if (fields.IsUndefined()) return;
  if (!fields.IsArray()) throw Napi::TypeError::New(env, "crc32Fields must be an array");
  const auto array = fields.As<Napi::Array>();
  const size_t count = segments_out.size();
  for (uint32_t k = 0; k < array.Length(); ++k) {
    if (!array.Get(k).IsObject()) throw Napi::TypeError::New(env, "crc32Fields must hold objects");
    const auto f = array.Get(k).As<Napi::Object>();
    Crc32Field field;
    field.first = size_t(ToU64(f.Get("first"), "first"));
    field.end = size_t(ToU64(f.Get("end"), "end"));
    if (field.first > field.end || field.end > count) throw Napi::RangeError::New(env, "a CRC-32 field's segments must exist");
    if (!f.Get("at").IsArray()) throw Napi::TypeError::New(env, "a CRC-32 field's at must be an array");
    const auto at = f.Get("at").As<Napi::Array>();
    for (uint32_t j = 0; j + 1 < at.Length(); j += 2)
      field.at.emplace_back(size_t(ToU64(at.Get(j), "at")), size_t(ToU64(at.Get(j + 1), "at")));
    fields_out.push_back(std::move(field));
  }
  // A patched segment is literal, holds the 4 bytes and lies outside every field's range (its CRC-32 is
  // taken before it is patched).
  for (const Crc32Field& f : fields_out) {
    for (const auto& [segment, offset] : f.at) {
      if (segment >= count || segments_out[segment].generated || offset > segments_out[segment].bytes.size() ||
          segments_out[segment].bytes.size() - offset < 4)
        throw Napi::RangeError::New(env, "a CRC-32 field must go into 4 bytes of a literal segment");
      for (const Crc32Field& g : fields_out)
        if (segment >= g.first && segment < g.end)
          throw Napi::RangeError::New(env, "a CRC-32 field cannot go into a segment a CRC-32 field covers");
    }
  }
}

// A writeFiles() batch in progress.
struct AsyncFileWrite {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<WorkerPool> pool;
  Napi::ObjectReference cancel;
  std::vector<FileResult> results;
};

// writeFiles(common, objects, options): writes whole objects to local files on the pool (see
// file_writer.h). common: { seed, unitBytes, dedupRatio, compressRatio, datasetUnits?, kernel? };
// objects: [{ objectId, size, unitOffset?, path, partialPath, segments?, crc32Fields? }] where segments
// (the file, in order) are { bytes: Uint8Array } or { offset, length } (a range of the object's stream of
// `size` bytes) and crc32Fields are { first, end, at: [segment, offset, ...] } (see Crc32Field); options: { chunkBytes, direct,
// fsync, cancel? } where cancel is a Uint8Array whose first byte the caller sets to stop the batch. Resolves with one {
// bytesWritten, crc32c, errno, syscall, cleanupErrno, latencyMs, crc32: [one per crc32Fields entry] } per object, in order.
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
    FileObject object{std::make_shared<const Layout>(ToLayoutParams(common, item)),
                      item.Get("partialPath").As<Napi::String>().Utf8Value(),
                      item.Get("path").As<Napi::String>().Utf8Value(),
                      {},
                      {}};
    ToSegments(env, item, object.layout->size(), object.segments, object.crc32_fields);
    if (options.direct && !object.segments.empty())
      throw Napi::RangeError::New(env, "segments cannot be written with direct I/O (their offsets are not aligned)");
    objects.push_back(std::move(object));
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
        auto crc32 = Napi::Array::New(env, r.crc32.size());
        for (size_t k = 0; k < r.crc32.size(); ++k) crc32.Set(uint32_t(k), double(r.crc32[k]));
        item.Set("crc32", crc32);
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
// file_verifier.h). common as for writeFiles; objects: [{ objectId, size, unitOffset?, path, segments?,
// crc32Fields? }] (segments and crc32Fields as for writeFiles: the file is then the segments, `size` the
// object's stream); options: { chunkBytes, cancel? }. Resolves with one { status, offset, actualSize,
// errno, syscall, crc32c } per object, status being 'ok', 'mismatch', 'missing', 'size' or 'error', crc32c
// the expected file's CRC-32C for an object with segments found ok or mismatched (else 0).
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
    VerifyObject object{
        std::make_shared<const Layout>(ToLayoutParams(common, item)), item.Get("path").As<Napi::String>().Utf8Value(), {}, {}};
    ToSegments(env, item, object.layout->size(), object.segments, object.crc32_fields);
    objects.push_back(std::move(object));
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
        item.Set("crc32c", double(r.crc32c));
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
