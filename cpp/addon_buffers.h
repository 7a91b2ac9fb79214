// N-API glue: registered by addon.cc's Init (see addon_buffers.cc).
#pragma once
#include <napi.h>

namespace dgen {

// Adds allocChunk, allocHugeChunk, setBufferPoolLimit and bufferPoolStats to `exports`.
void RegisterBuffers(Napi::Env env, Napi::Object exports);

}  // namespace dgen
