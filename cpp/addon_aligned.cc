// N-API glue of aligned allocation: Buffers whose memory starts at a chosen alignment, for O_DIRECT.
#include "addon_aligned.h"

#include <cstdint>
#include <cstdlib>

#include "addon_args.h"

namespace dgen {

namespace {

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

}  // namespace

void RegisterAligned(Napi::Env env, Napi::Object exports) {
  exports.Set("allocAligned", Napi::Function::New(env, AllocAligned, "allocAligned"));
}

}  // namespace dgen
