// N-API glue of the native analyzer: registered by addon.cc's Init.
#pragma once
#include <napi.h>

#include <memory>

#include "pool.h"

namespace dgen {

// Adds the analyzer's functions to `exports`; `pool` returns the process-wide worker pool.
void RegisterAnalyze(Napi::Env env, Napi::Object exports, std::shared_ptr<WorkerPool> (*pool)());

}  // namespace dgen
