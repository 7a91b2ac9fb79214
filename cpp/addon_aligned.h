// N-API glue: registered by addon.cc's Init (see addon_aligned.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds allocAligned to `exports`.
void RegisterAligned(Napi::Env env, Napi::Object exports);

}  // namespace dgen
