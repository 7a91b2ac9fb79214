// N-API glue of the native analyzer (cpp/analyze.h): an `Analyzer` class whose process() runs a batch on
// the worker pool and calls back on the main thread through a thread-safe function, so the event loop
// never waits on analysis; and fastCdcCuts() for the tests that hold the native FastCDC to the TypeScript
// reference.
#include "addon_analyze.h"

#include <lz4.h>
#include <xxhash.h>

#include <string>

#include "analyze.h"

namespace dgen {

namespace {

struct AnalyzeEnv {
  Napi::ThreadSafeFunction done;
  size_t pending = 0;
  std::shared_ptr<WorkerPool> (*pool)();
  Napi::FunctionReference constructor;
};

struct Completion {
  AnalyzeEnv* ae;
  Napi::ObjectReference self;  // keeps the analyzer alive while its batch runs
  Napi::FunctionReference callback;
  Napi::ObjectReference data;  // keeps the caller's batch alive while the workers read it
  std::string error;
  bool* busy;
};

size_t size_field(Napi::Object o, const char* name) {
  const double v = o.Get(name).ToNumber().DoubleValue();
  if (!(v >= 1 && v <= 9007199254740991.0))
    throw Napi::RangeError::New(o.Env(), std::string(name) + " must be a whole number >= 1");
  return size_t(v);
}

CdcParams cdc_params(Napi::Object o) {
  CdcParams p{size_field(o, "min"), size_field(o, "avg"), size_field(o, "max")};
  if (!(p.min >= 64 && p.avg >= p.min && p.max >= p.avg && (p.avg & (p.avg - 1)) == 0))
    throw Napi::RangeError::New(o.Env(), "CDC sizes must satisfy 64 <= min <= avg <= max with avg a power of two");
  return p;
}

class NativeAnalyzer : public Napi::ObjectWrap<NativeAnalyzer> {
 public:
  NativeAnalyzer(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeAnalyzer>(info), ae_(static_cast<AnalyzeEnv*>(info.Data())) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    auto o = info[0].As<Napi::Object>();
    AnalyzeConfig config;
    auto sizes = o.Get("chunkSizes").As<Napi::Array>();
    for (uint32_t i = 0; i < sizes.Length(); ++i) {
      const double v = sizes.Get(i).ToNumber().DoubleValue();
      if (!(v >= 1 && v <= double(1u << 30))) throw Napi::RangeError::New(env, "chunk sizes must be 1 byte to 1 GiB");
      config.chunk_sizes.push_back(size_t(v));
    }
    Napi::Value cdc = o.Get("cdc");
    config.cdc = cdc.IsObject();
    if (config.cdc) config.cdc_params = cdc_params(cdc.As<Napi::Object>());
    config.per_chunk = o.Get("perChunk").ToBoolean();
    config.sha256 = o.Get("hash").ToString().Utf8Value() == "sha256";
    const double sample = o.Get("sample").ToNumber().DoubleValue();
    if (!(sample > 0 && sample <= 1)) throw Napi::RangeError::New(env, "sample must be in (0, 1]");
    config.sample = sample;
    if (o.Has("segmentBytes")) config.segment_bytes = size_field(o, "segmentBytes");
    // Optional (the defaults are the old behaviour: every codec, whole streams, every distinct chunk).
    if (o.Has("whole")) config.whole = o.Get("whole").ToBoolean();
    if (o.Has("codecs")) {
      const double k = o.Get("codecs").ToNumber().DoubleValue();
      if (!(k >= 1 && k <= kAnalyzeCodecs))
        throw Napi::RangeError::New(env, "codecs must be 1 to " + std::to_string(kAnalyzeCodecs));
      config.codecs = int(k);
    }
    if (o.Has("perChunkBudget")) {
      const double b = o.Get("perChunkBudget").ToNumber().DoubleValue();
      if (!(b >= 0 && b <= 9007199254740991.0)) throw Napi::RangeError::New(env, "perChunkBudget must be a whole number >= 0");
      config.per_chunk_budget = uint64_t(b);
    }
    analyzer_ = std::make_unique<Analyzer>(config);
  }

  static Napi::Function Define(Napi::Env env, AnalyzeEnv* ae) {
    return DefineClass(env, "Analyzer",
                       {InstanceMethod("append", &NativeAnalyzer::Append), InstanceMethod("process", &NativeAnalyzer::Process),
                        InstanceMethod("report", &NativeAnalyzer::Report)},
                       ae);
  }

 private:
  Napi::Value Append(const Napi::CallbackInfo& info) {
    // Allowed while a batch runs: appended bytes wait in their own buffer, which only this thread touches.
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "data must be a Buffer");
    auto ta = info[0].As<Napi::TypedArray>();
    analyzer_->append(static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength());
    return Napi::Number::New(info.Env(), double(analyzer_->pending()));
  }

  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_) throw Napi::Error::New(env, "process() while a batch runs");
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
    // An optional batch of bytes to process after the appended ones, read by the workers in place (the
    // caller leaves it unchanged until the callback): a file is read straight into it, with no copy on
    // the main thread.
    const uint8_t* data = nullptr;
    size_t n = 0;
    Napi::ObjectReference keep;
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      if (!info[2].IsTypedArray()) throw Napi::TypeError::New(env, "data must be a Buffer");
      auto ta = info[2].As<Napi::TypedArray>();
      data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      n = ta.ByteLength();
      keep = Napi::Persistent(ta.As<Napi::Object>());
    }
    busy_ = true;
    auto* c = new Completion{
        ae_, Napi::Persistent(Value()), Napi::Persistent(info[1].As<Napi::Function>()), std::move(keep), {}, &busy_};
    if (ae_->pending++ == 0) ae_->done.Ref(env);
    Napi::ThreadSafeFunction done = ae_->done;
    analyzer_->process(ae_->pool(), info[0].ToBoolean(), data, n, [c, done](std::string error) mutable {
      c->error = std::move(error);
      done.BlockingCall(c, [](Napi::Env env, Napi::Function, Completion* c) {
        if (--c->ae->pending == 0) c->ae->done.Unref(env);
        *c->busy = false;
        Napi::Value err = c->error.empty() ? env.Null() : Napi::Error::New(env, "dgen analyze: " + c->error).Value();
        Napi::FunctionReference callback = std::move(c->callback);
        delete c;
        try {
          callback.Value().Call({err});
        } catch (const Napi::Error& e) {
          e.ThrowAsJavaScriptException();
        }
      });
    });
    return env.Undefined();
  }

  static Napi::Object Moments(Napi::Env env, const RatioMoments& m) {
    auto o = Napi::Object::New(env);
    o.Set("n", m.n);
    o.Set("x", m.x);
    o.Set("xx", m.xx);
    auto y = Napi::Array::New(env), yy = Napi::Array::New(env), xy = Napi::Array::New(env);
    for (int k = 0; k < kAnalyzeCodecs; ++k) y.Set(k, m.y[k]), yy.Set(k, m.yy[k]), xy.Set(k, m.xy[k]);
    o.Set("y", y);
    o.Set("yy", yy);
    o.Set("xy", xy);
    return o;
  }

  Napi::Value Report(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_) throw Napi::Error::New(env, "report() while a batch runs");
    Analyzer& a = *analyzer_;
    auto r = Napi::Object::New(env);
    r.Set("bytes", double(a.bytes));
    r.Set("inputs", double(a.inputs));
    auto list = Napi::Array::New(env);
    for (size_t i = 0; i < a.chunkings.size(); ++i) {
      ChunkingState& c = a.chunkings[i];
      const double per_chunk_rate = a.settle_per_chunk(c);
      auto o = Napi::Object::New(env);
      o.Set("perChunkRate", per_chunk_rate);
      o.Set("key", c.fixed ? std::to_string(c.fixed) : std::string("cdc"));
      o.Set("chunks", double(c.chunks));
      o.Set("zero", double(c.zero));
      o.Set("uniqueChunks", double(c.unique_chunks));
      o.Set("uniqueBytes", double(c.unique_bytes));
      auto comp = Napi::Array::New(env);
      for (int k = 0; k < kAnalyzeCodecs; ++k) comp.Set(k, double(c.compressed[k]));
      o.Set("compressed", comp);
      o.Set("moments", Moments(env, c.moments));
      double sum = 0, squares = 0;
      c.index->count_moments(sum, squares);
      o.Set("countSum", sum);
      o.Set("countSquares", squares);
      o.Set("indexBytes", double(c.index->memory_bytes()));
      list.Set(uint32_t(i), o);
    }
    r.Set("chunkings", list);
    auto whole = Napi::Array::New(env);
    for (int k = 0; k < kAnalyzeCodecs; ++k) whole.Set(k, double(a.whole_compressed[k]));
    r.Set("wholeCompressed", whole);
    r.Set("segments", Moments(env, a.segments));
    return r;
  }

  AnalyzeEnv* ae_;
  std::unique_ptr<Analyzer> analyzer_;
  bool busy_ = false;
};

// fastCdcCuts({min, avg, max}, buffers): the cut offsets over the concatenation of `buffers`, fed one
// buffer at a time (as a stream), and whether bytes after the last cut remain.
Napi::Value FastCdcCuts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsArray()) throw Napi::TypeError::New(env, "fastCdcCuts(params, buffers)");
  FastCdc cdc(cdc_params(info[0].As<Napi::Object>()));
  auto buffers = info[1].As<Napi::Array>();
  std::vector<size_t> cuts, all;
  size_t base = 0;
  for (uint32_t i = 0; i < buffers.Length(); ++i) {
    auto ta = buffers.Get(i).As<Napi::TypedArray>();
    cuts.clear();
    cdc.push(static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength(), cuts);
    for (size_t c : cuts) all.push_back(base + c);
    base += ta.ByteLength();
  }
  auto out = Napi::Array::New(env, all.size());
  for (size_t i = 0; i < all.size(); ++i) out.Set(uint32_t(i), double(all[i]));
  auto r = Napi::Object::New(env);
  r.Set("cuts", out);
  r.Set("pending", cdc.end());
  return r;
}

}  // namespace

void RegisterAnalyze(Napi::Env env, Napi::Object exports, std::shared_ptr<WorkerPool> (*pool)()) {
  auto* ae = new AnalyzeEnv{
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "dgen.analyze", 0, 1),
      0,
      pool,
      {}};
  ae->done.Unref(env);
  env.AddCleanupHook([ae]() { delete ae; });
  exports.Set("Analyzer", NativeAnalyzer::Define(env, ae));
  exports.Set("fastCdcCuts", Napi::Function::New(env, FastCdcCuts, "fastCdcCuts"));
  auto libs = Napi::Object::New(env);
  libs.Set("xxhash", std::to_string(XXH_versionNumber()));
  libs.Set("lz4", LZ4_versionString());
  exports.Set("analyzeLibraries", libs);
}

}  // namespace dgen
