// N-API glue of the process-wide worker pool (cpp/pool.h): its state, configurePool() and poolInfo(), and
// the per-environment thread-safe function that carries completions of pool work back to the main thread.
#pragma once
#include <napi.h>

#include <memory>

#include "pool.h"

namespace dgen {

// The process-wide worker pool: created on first use from the topology (DGEN_THREADS overrides the thread
// count), replaced by configurePool().
std::shared_ptr<WorkerPool> Pool();

// Work handed to the pool holds the event loop open until its completion has run on the main thread:
// BeginPending returns the thread-safe function to call back through; EndPending (on the main thread,
// in the callback) lets go.
Napi::ThreadSafeFunction BeginPending(Napi::Env env);
void EndPending(Napi::Env env);

// Sets up the environment's completion state (call first) and adds configurePool and poolInfo.
void RegisterPool(Napi::Env env, Napi::Object exports);

}  // namespace dgen
