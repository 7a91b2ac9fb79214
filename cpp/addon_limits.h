// N-API glue: registered by addon.cc's Init (see addon_limits.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds `limits` (cpp/limits.h) and mix64 (cpp/mix.h) to `exports`: what the TypeScript side must agree on.
void RegisterLimits(Napi::Env env, Napi::Object exports);

}  // namespace dgen
