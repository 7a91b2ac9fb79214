// The addon's entry point: registers the functions of each domain's N-API glue. Each addon_*.cc file
// converts JavaScript values (through addon_args.h) and calls pure C++ in the file of its domain:
//   addon_pool.cc      the process-wide worker pool, configurePool(), poolInfo() (pool.h)
//   addon_topology.cc  topology(), planWorkers(), parseNuma() (topology.h)
//   addon_generator.cc the Generator class (fill(), fillSync(), writeToFd()) and kernels() (fill.h, fd_writer.h)
//   addon_files.cc     writeFiles(), verifyFiles() (file_writer.h, file_verifier.h)
//   addon_buffers.cc   the chunk buffer pool: allocChunk(), allocHugeChunk(), ... (buffers.h)
//   addon_aligned.cc   allocAligned()
//   addon_limits.cc    limits (limits.h) and mix64() (mix.h), which the TypeScript side must agree with
//   addon_crc32c.cc    crc32c(), crc32cCombine() (crc32c.h)
//   addon_codecs.cc    compressBlock(), codecStats() (codecs.h)
//   addon_analyze.cc   the native analyzer (analyze*.h)
// Parameters arrive validated by lib/params.ts; the glue's own checks only keep a wrong call from the
// JavaScript side from touching memory it should not.
#include <napi.h>

#include "addon_aligned.h"
#include "addon_analyze.h"
#include "addon_buffers.h"
#include "addon_codecs.h"
#include "addon_crc32c.h"
#include "addon_files.h"
#include "addon_generator.h"
#include "addon_limits.h"
#include "addon_pool.h"
#include "addon_topology.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  dgen::RegisterPool(env, exports);  // first: sets up the completion state the others' async work uses
  dgen::RegisterLimits(env, exports);
  dgen::RegisterTopology(env, exports);
  dgen::RegisterBuffers(env, exports);
  dgen::RegisterAligned(env, exports);
  dgen::RegisterGenerator(env, exports);
  dgen::RegisterFiles(env, exports);
  dgen::RegisterCrc32c(env, exports);
  dgen::RegisterCodecs(env, exports, dgen::Pool);
  dgen::RegisterAnalyze(env, exports, dgen::Pool);
  return exports;
}

}  // namespace

NODE_API_MODULE(dgen, Init)
