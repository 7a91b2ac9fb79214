// N-API glue of the block compressors (cpp/codecs.h): registered by addon.cc's Init.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "pool.h"

namespace dgen {

// Adds compressBlock, codecStats and codecLibraries to `exports`; `pool` returns the process-wide worker
// pool the blocks are compressed on.
void RegisterCodecs(Napi::Env env, Napi::Object exports, std::shared_ptr<WorkerPool> (*pool)());

}  // namespace dgen
