// N-API glue: the only file that knows about JavaScript. Parameters arrive validated by lib/params.ts;
// the checks here only keep a wrong call from the JavaScript side from touching memory it should not.
#include <napi.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "fill.h"
#include "kernels.h"
#include "layout.h"

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

class FillWorker : public Napi::AsyncWorker {
 public:
  FillWorker(Napi::Env env, std::shared_ptr<const Layout> layout, dgen::RowKernel kernel, Napi::Object target,
             Target t, uint64_t offset)
      : Napi::AsyncWorker(env, "dgen.fill"),
        deferred_(Napi::Promise::Deferred::New(env)),
        layout_(std::move(layout)),
        kernel_(kernel),
        target_ref_(Napi::Persistent(target)),
        t_(t),
        offset_(offset) {}

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { dgen::fill(*layout_, t_.data, offset_, t_.length, kernel_); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), double(t_.length))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const Layout> layout_;  // shared: the Generator may be collected while work runs
  dgen::RowKernel kernel_;
  Napi::ObjectReference target_ref_;  // keeps the caller's memory alive until the work is done
  Target t_;
  uint64_t offset_;
};

// new Generator({ seed, objectId, size, unitBytes, dedupRatio, compressRatio, kernel })
class Generator : public Napi::ObjectWrap<Generator> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Generator",
                       {InstanceMethod<&Generator::FillSync>("fillSync"),
                        InstanceMethod<&Generator::FillAsync>("fill"),
                        InstanceMethod<&Generator::UniqueOf>("uniqueOf"),
                        InstanceAccessor<&Generator::Units>("units"),
                        InstanceAccessor<&Generator::UniqueUnits>("uniqueUnits"),
                        InstanceAccessor<&Generator::RandomBytesPerSector>("randomBytesPerSector"),
                        InstanceAccessor<&Generator::Kernel>("kernel")});
  }

  explicit Generator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Generator>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Generator expects an options object");
    auto o = info[0].As<Napi::Object>();
    LayoutParams p{};
    p.seed = ToU64(o.Get("seed"), "seed");
    p.object_id = ToU64(o.Get("objectId"), "objectId");
    p.size = ToU64(o.Get("size"), "size");
    p.unit_bytes = ToU64(o.Get("unitBytes"), "unitBytes");
    auto optional = [&](const char* name) { return o.Get(name).IsUndefined() ? 0 : ToU64(o.Get(name), name); };
    p.dataset_units = optional("datasetUnits");
    p.unit_offset = optional("unitOffset");
    p.dedup_ratio = o.Get("dedupRatio").ToNumber().DoubleValue();
    p.compress_ratio = o.Get("compressRatio").ToNumber().DoubleValue();
    if (p.unit_bytes == 0 || p.unit_bytes % dgen::kSector != 0)
      throw Napi::RangeError::New(env, "unitBytes must be a positive multiple of 512");
    const uint64_t units = (p.size + p.unit_bytes - 1) / p.unit_bytes;
    if (p.dataset_units != 0 && (p.unit_offset > p.dataset_units || units > p.dataset_units - p.unit_offset))
      throw Napi::RangeError::New(env, "unitOffset + units must not exceed datasetUnits");
    if (!(p.dedup_ratio >= 1) || !(p.compress_ratio >= 1))
      throw Napi::RangeError::New(env, "dedupRatio and compressRatio must be >= 1");
    std::string kernel = o.Has("kernel") && o.Get("kernel").IsString() ? o.Get("kernel").As<Napi::String>().Utf8Value()
                                                                        : std::string("auto");
    kernel_ = dgen::find_kernel(kernel.c_str());
    if (kernel_ == nullptr) throw Napi::RangeError::New(env, "kernel '" + kernel + "' is not available on this CPU");
    layout_ = std::make_shared<const Layout>(p);
  }

 private:
  // Checks that [offset, offset + target length) lies inside the object.
  std::pair<Target, uint64_t> Range(const Napi::CallbackInfo& info) {
    Target t = ToTarget(info[0]);
    const uint64_t offset = ToU64(info[1], "offset");
    if (offset > layout_->size() || t.length > layout_->size() - offset)
      throw Napi::RangeError::New(info.Env(), "range ends past the end of the object");
    return {t, offset};
  }

  Napi::Value FillSync(const Napi::CallbackInfo& info) {
    auto [t, offset] = Range(info);
    dgen::fill(*layout_, t.data, offset, t.length, kernel_->fn);
    return Napi::Number::New(info.Env(), double(t.length));
  }

  Napi::Value FillAsync(const Napi::CallbackInfo& info) {
    auto [t, offset] = Range(info);
    auto* w = new FillWorker(info.Env(), layout_, kernel_->fn, info[0].As<Napi::Object>(), t, offset);
    auto promise = w->Promise();
    w->Queue();
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

  std::shared_ptr<const Layout> layout_;
  const dgen::KernelInfo* kernel_ = nullptr;
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("allocAligned", Napi::Function::New(env, AllocAligned, "allocAligned"));
  exports.Set("Generator", Generator::Init(env));
  exports.Set("kernels", Napi::Function::New(env, Kernels, "kernels"));
  return exports;
}

}  // namespace

NODE_API_MODULE(dgen, Init)
