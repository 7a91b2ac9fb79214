// compressBlock(library, level, pieces, callback[, output]): compresses one block, the concatenation of
// `pieces` (an array of Buffers), on the worker pool and calls callback(error, result) on the main thread.
// The pieces' memory is referenced until the callback runs (the caller's `bytesReleased` accounting
// depends on that); nothing else outlives the job. The main thread copies nothing: a worker gathers
// several pieces into its own buffer. With `output` (a Buffer the caller reuses), the worker compresses
// into it when it holds the library's worst-case bound and `result` is the compressed length; otherwise
// `result` is a new external Buffer of the worker's memory. Reusing output memory matters because every
// fresh Buffer counts as V8 external memory, and each 64 MiB or so of it starts a full garbage collection
// on the main thread (measured: 3-6 mark-compacts of 10-170 ms per 256 MiB compressed at c = 2).
#include "addon_codecs.h"

#include <zstd.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "codecs.h"

namespace dgen {

namespace {

// Blocks submitted and not yet completed on the main thread, over all environments (codecStats()).
std::atomic<int64_t> g_jobs{0};

// Per environment: one thread-safe function carries every completion back to the main thread; it holds
// the event loop open only while blocks are pending.
struct CodecEnv {
  Napi::ThreadSafeFunction done;
  size_t pending = 0;
  std::shared_ptr<WorkerPool> (*pool)();
};

struct Piece {
  const uint8_t* data;
  size_t length;
};

struct BlockJob {
  CodecEnv* codec_env;
  Napi::ObjectReference input;  // the array of pieces: keeps the caller's memory alive while a worker reads it
  Napi::FunctionReference callback;
  CodecLibrary library;
  int level;
  std::vector<Piece> pieces;
  Napi::ObjectReference output_ref;  // the caller's output Buffer, alive while a worker writes it
  uint8_t* output_data;
  size_t output_capacity;
  std::shared_ptr<WorkerPool> pool;  // alive while the job runs, even if configurePool() replaces it
  CompressedBlock output;
  std::string error;
};

// One piece is compressed where it lies; several are gathered into this worker's buffer first (a copy
// that costs little next to compression, and keeps it off the main thread).
CompressedBlock compress_pieces(const BlockJob& job) {
  const CodecLibrary library = job.library;
  const int level = job.level;
  const std::vector<Piece>& pieces = job.pieces;
  if (pieces.size() == 1)
    return compress_block(library, level, pieces[0].data, pieces[0].length, job.output_data, job.output_capacity);
  thread_local std::vector<uint8_t> gathered;
  gathered.clear();
  for (const Piece& p : pieces) gathered.insert(gathered.end(), p.data, p.data + p.length);
  static const uint8_t kNothing = 0;  // a valid pointer for an empty block
  return compress_block(library, level, gathered.empty() ? &kNothing : gathered.data(), gathered.size(), job.output_data,
                        job.output_capacity);
}

void Complete(Napi::Env env, BlockJob* job) {
  g_jobs.fetch_sub(1);
  CodecEnv* ce = job->codec_env;
  if (--ce->pending == 0) ce->done.Unref(env);
  Napi::Value err = env.Null(), out = env.Undefined();
  if (!job->error.empty()) {
    err = Napi::Error::New(env, job->error).Value();
  } else if (!job->output.owned) {
    out = Napi::Number::New(env, double(job->output.size));  // written into the caller's buffer
  } else {
    out = Napi::Buffer<uint8_t>::NewOrCopy(env, job->output.owned.release(), job->output.size,
                                           [](Napi::Env, uint8_t* p) { delete[] p; });
  }
  Napi::FunctionReference callback = std::move(job->callback);
  job->input.Reset();
  job->output_ref.Reset();
  delete job;  // the input is released before the callback, which may count it as such
  try {
    callback.Value().Call({err, out});
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // an exception in the callback becomes an uncaught exception
  }
}

Napi::Value CompressBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* ce = static_cast<CodecEnv*>(info.Data());
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "library must be a string");
  CodecLibrary library;
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!parse_codec_library(name, library))
    throw Napi::RangeError::New(env, "compression library '" + name + "' is not in this build");
  const int level = info[1].ToNumber().Int32Value();
  if (level < 1 || level > codec_max_level(library)) throw Napi::RangeError::New(env, "level out of range for " + name);
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "pieces must be an array of Buffers");
  if (!info[3].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  Napi::ObjectReference output_ref;
  uint8_t* output_data = nullptr;
  size_t output_capacity = 0;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    if (!info[4].IsTypedArray()) throw Napi::TypeError::New(env, "output must be a Buffer");
    auto ta = info[4].As<Napi::TypedArray>();
    output_data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    output_capacity = ta.ByteLength();
    output_ref = Napi::Persistent(info[4].As<Napi::Object>());
  }
  auto array = info[2].As<Napi::Array>();
  std::vector<Piece> pieces;
  size_t total = 0;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "pieces must be an array of Buffers");
    auto ta = v.As<Napi::TypedArray>();
    pieces.push_back({static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength()});
    total += ta.ByteLength();
  }
  if (total > (size_t(1) << 30)) throw Napi::RangeError::New(env, "a block must not exceed 1 GiB");
  auto pool = ce->pool();
  auto* job = new BlockJob{ce,
                           Napi::Persistent(array.As<Napi::Object>()),
                           Napi::Persistent(info[3].As<Napi::Function>()),
                           library,
                           level,
                           std::move(pieces),
                           std::move(output_ref),
                           output_data,
                           output_capacity,
                           pool,
                           {},
                           {}};
  if (ce->pending++ == 0) ce->done.Ref(env);
  g_jobs.fetch_add(1);
  Napi::ThreadSafeFunction done = ce->done;
  pool->submit(
      1,
      [job](size_t) {
        try {
          job->output = compress_pieces(*job);
        } catch (const std::exception& e) {
          job->error = e.what();
        }
      },
      [job, done]() mutable { done.BlockingCall(job, [](Napi::Env env, Napi::Function, BlockJob* j) { Complete(env, j); }); });
  return env.Undefined();
}

// codecStats(): blocks (and decompression steps) in flight (submitted, not yet called back), for tests that check nothing is
// left.
Napi::Value CodecStats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("blocksInFlight", double(g_jobs.load()));
  return o;
}

// ---- zstd decompression ----
// zstdDecoder(): a decoder (an External; the libzstd context is freed when it is collected, or at once by
// zstdDecoderFree). zstdDecompress(decoder, input, output, callback): one step of ZstdDecoder::step on the
// worker pool, reading `input` and writing `output` (both Buffers, referenced until the callback), then
// callback(error, consumed, produced, frameDone) on the main thread. error is a string (libzstd's message)
// when the input is not valid zstd. A decoder takes one step at a time (the caller waits for the callback).
// Why the pool: a step over a 4 MiB chunk takes milliseconds, which on the main thread is event-loop delay.

struct DecoderHolder {
  std::unique_ptr<ZstdDecoder> decoder = std::make_unique<ZstdDecoder>();
  bool busy = false;
  bool freed = false;  // zstdDecoderFree while a step ran: the step's completion frees it
};

struct DecodeJob {
  CodecEnv* codec_env;
  DecoderHolder* holder;
  Napi::ObjectReference decoder_ref, input_ref, output_ref;
  Napi::FunctionReference callback;
  const uint8_t* in;
  size_t n;
  uint8_t* out;
  size_t capacity;
  std::shared_ptr<WorkerPool> pool;
  ZstdDecoder::Step result;
  std::string error;
};

void CompleteDecode(Napi::Env env, DecodeJob* job) {
  g_jobs.fetch_sub(1);
  CodecEnv* ce = job->codec_env;
  if (--ce->pending == 0) ce->done.Unref(env);
  DecoderHolder* h = job->holder;
  h->busy = false;
  if (h->freed) h->decoder.reset();
  const ZstdDecoder::Step r = job->result;
  Napi::Value err = env.Null();
  if (!job->error.empty())
    err = Napi::Error::New(env, job->error).Value();
  else if (!r.error.empty())
    err = Napi::String::New(env, r.error);
  Napi::FunctionReference callback = std::move(job->callback);
  delete job;  // drops the references to the decoder and both Buffers
  try {
    callback.Value().Call({err, Napi::Number::New(env, double(r.consumed)), Napi::Number::New(env, double(r.produced)),
                           Napi::Boolean::New(env, r.frame_done)});
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
}

Napi::Value ZstdDecoderNew(const Napi::CallbackInfo& info) {
  try {
    auto* h = new DecoderHolder;
    return Napi::External<DecoderHolder>::New(info.Env(), h, [](Napi::Env, DecoderHolder* p) { delete p; });
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

DecoderHolder* HolderOf(const Napi::Env& env, const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(env, "decoder must come from zstdDecoder()");
  return v.As<Napi::External<DecoderHolder>>().Data();
}

Napi::Value ZstdDecoderFree(const Napi::CallbackInfo& info) {
  DecoderHolder* h = HolderOf(info.Env(), info[0]);
  if (h->busy)
    h->freed = true;
  else
    h->decoder.reset();
  return info.Env().Undefined();
}

Napi::Value ZstdDecompress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* ce = static_cast<CodecEnv*>(info.Data());
  DecoderHolder* h = HolderOf(env, info[0]);
  if (!h->decoder) throw Napi::Error::New(env, "the decoder was freed");
  if (h->busy) throw Napi::Error::New(env, "the decoder is busy with another step");
  if (!info[1].IsTypedArray() || !info[2].IsTypedArray()) throw Napi::TypeError::New(env, "input and output must be Buffers");
  if (!info[3].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  auto in = info[1].As<Napi::TypedArray>();
  auto out = info[2].As<Napi::TypedArray>();
  auto pool = ce->pool();
  auto* job = new DecodeJob{ce,
                            h,
                            Napi::Persistent(info[0].As<Napi::Object>()),
                            Napi::Persistent(info[1].As<Napi::Object>()),
                            Napi::Persistent(info[2].As<Napi::Object>()),
                            Napi::Persistent(info[3].As<Napi::Function>()),
                            static_cast<const uint8_t*>(in.ArrayBuffer().Data()) + in.ByteOffset(),
                            in.ByteLength(),
                            static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset(),
                            out.ByteLength(),
                            pool,
                            {},
                            {}};
  h->busy = true;
  if (ce->pending++ == 0) ce->done.Ref(env);
  g_jobs.fetch_add(1);
  Napi::ThreadSafeFunction done = ce->done;
  pool->submit(
      1,
      [job](size_t) {
        try {
          job->result = job->holder->decoder->step(job->in, job->n, job->out, job->capacity);
        } catch (const std::exception& e) {
          job->error = e.what();
        }
      },
      [job, done]() mutable {
        done.BlockingCall(job, [](Napi::Env env, Napi::Function, DecodeJob* j) { CompleteDecode(env, j); });
      });
  return env.Undefined();
}

}  // namespace

void RegisterCodecs(Napi::Env env, Napi::Object exports, std::shared_ptr<WorkerPool> (*pool)()) {
  auto* ce = new CodecEnv{
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "dgen.codec", 0, 1), 0,
      pool};
  ce->done.Unref(env);
  env.AddCleanupHook([ce]() { delete ce; });
  exports.Set("compressBlock", Napi::Function::New(env, CompressBlock, "compressBlock", ce));
  exports.Set("codecStats", Napi::Function::New(env, CodecStats, "codecStats"));
  exports.Set("zstdDecoder", Napi::Function::New(env, ZstdDecoderNew, "zstdDecoder"));
  exports.Set("zstdDecoderFree", Napi::Function::New(env, ZstdDecoderFree, "zstdDecoderFree"));
  exports.Set("zstdDecompress", Napi::Function::New(env, ZstdDecompress, "zstdDecompress", ce));
  auto libs = Napi::Object::New(env);
  libs.Set("zstd", std::string("libzstd ") + ZSTD_versionString());
  libs.Set("gzip", gzip_libraries());
  exports.Set("codecLibraries", libs);
}

}  // namespace dgen
