// N-API glue: registered by addon.cc's Init (see addon_crc32c.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds crc32c, crc32cCombine and crc32cImplementation to `exports`.
void RegisterCrc32c(Napi::Env env, Napi::Object exports);

}  // namespace dgen
