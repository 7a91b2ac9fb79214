// N-API glue: registered by addon.cc's Init (see addon_generator.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds the Generator class and kernels to `exports`.
void RegisterGenerator(Napi::Env env, Napi::Object exports);

}  // namespace dgen
