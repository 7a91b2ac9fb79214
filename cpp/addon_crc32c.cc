// N-API glue of CRC-32C (cpp/crc32c.h): crc32c(), crc32cCombine() and which implementation this build uses.
#include "addon_crc32c.h"

#include <cstdint>

#include "addon_args.h"
#include "crc32c.h"

namespace dgen {

namespace {

// crc32c(data, crc = 0): the CRC-32C of `crc`'s message followed by data (see crc32c.h).
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  const Target t = ToTarget(info[0]);
  const uint64_t init = info[1].IsUndefined() ? 0 : ToU64(info[1], "crc");
  if (init > 0xffffffffu) throw Napi::RangeError::New(info.Env(), "crc must be a 32-bit unsigned integer");
  return Napi::Number::New(info.Env(), double(crc32c_update(uint32_t(init), t.data, t.length)));
}

// crc32cCombine(crcA, crcB, lengthB): the CRC-32C of A followed by B.
Napi::Value Crc32cCombine(const Napi::CallbackInfo& info) {
  const uint64_t a = ToU64(info[0], "crcA"), b = ToU64(info[1], "crcB"), len = ToU64(info[2], "lengthB");
  if (a > 0xffffffffu || b > 0xffffffffu) throw Napi::RangeError::New(info.Env(), "CRCs must be 32-bit unsigned integers");
  return Napi::Number::New(info.Env(), double(crc32c_combine(uint32_t(a), uint32_t(b), len)));
}

}  // namespace

void RegisterCrc32c(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("crc32cCombine", Napi::Function::New(env, Crc32cCombine, "crc32cCombine"));
  exports.Set("crc32cImplementation", Napi::String::New(env, crc32c_implementation()));
}

}  // namespace dgen
