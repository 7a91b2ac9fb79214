#include "addon_args.h"

#include <string>

#include "limits.h"

namespace dgen {

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

int ToThreads(const Napi::Value& v) {
  if (v.IsUndefined()) return 0;
  const uint64_t n = ToU64(v, "threads");
  if (n > kMaxThreads) throw Napi::RangeError::New(v.Env(), "threads must be at most " + std::to_string(kMaxThreads));
  return int(n);
}

LayoutParams ToLayoutParams(const Napi::Object& common, const Napi::Object& object) {
  Napi::Env env = common.Env();
  LayoutParams p{};
  p.seed = ToU64(common.Get("seed"), "seed");
  p.object_id = ToU64(object.Get("objectId"), "objectId");
  p.size = ToU64(object.Get("size"), "size");
  p.unit_bytes = ToU64(common.Get("unitBytes"), "unitBytes");
  auto optional = [](const Napi::Object& o, const char* name) {
    return o.Get(name).IsUndefined() ? 0 : ToU64(o.Get(name), name);
  };
  p.dataset_units = optional(common, "datasetUnits");
  p.unit_offset = optional(object, "unitOffset");
  p.dedup_ratio = common.Get("dedupRatio").ToNumber().DoubleValue();
  p.compress_ratio = common.Get("compressRatio").ToNumber().DoubleValue();
  if (p.unit_bytes == 0 || p.unit_bytes % kSector != 0 || p.unit_bytes > kMaxDedupUnit)
    throw Napi::RangeError::New(env, "unitBytes must be a positive multiple of 512 up to 1 GiB");
  const uint64_t units = (p.size + p.unit_bytes - 1) / p.unit_bytes;
  if (p.dataset_units != 0 && (p.unit_offset > p.dataset_units || units > p.dataset_units - p.unit_offset))
    throw Napi::RangeError::New(env, "unitOffset + units must not exceed datasetUnits");
  if (!(p.dedup_ratio >= 1) || !(p.compress_ratio >= 1))
    throw Napi::RangeError::New(env, "dedupRatio and compressRatio must be >= 1");
  return p;
}

const KernelInfo* ToKernel(const Napi::Object& o) {
  const std::string name = o.Get("kernel").IsString() ? o.Get("kernel").As<Napi::String>().Utf8Value() : std::string("auto");
  const KernelInfo* kernel = find_kernel(name.c_str());
  if (kernel == nullptr) throw Napi::RangeError::New(o.Env(), "kernel '" + name + "' is not available on this CPU");
  return kernel;
}

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

const uint8_t* ToCancelFlag(const Napi::Value& v, Napi::ObjectReference& ref) {
  if (v.IsUndefined()) return nullptr;
  const Target flag = ToTarget(v);
  if (flag.length < 1) throw Napi::RangeError::New(v.Env(), "cancel must hold at least one byte");
  ref = Napi::Persistent(v.As<Napi::Object>());
  return flag.data;
}

}  // namespace dgen
