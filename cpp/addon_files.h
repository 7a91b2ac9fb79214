// N-API glue: registered by addon.cc's Init (see addon_files.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds writeFiles and verifyFiles to `exports`.
void RegisterFiles(Napi::Env env, Napi::Object exports);

}  // namespace dgen
