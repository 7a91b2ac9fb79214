// Argument conversion for the N-API glue: JavaScript values to the generator's C++ types. Parameters
// arrive validated by lib/params.ts; these checks only keep a wrong call from the JavaScript side from
// touching memory it should not.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"
#include "layout.h"

namespace dgen {

// A non-negative safe integer (Number) or a BigInt that fits in 64 bits; RangeError/TypeError naming
// `name` otherwise.
uint64_t ToU64(const Napi::Value& v, const char* name);

// An optional thread count (`threads`): 0 when undefined (as many as the pool has workers), at most
// kMaxThreads; RangeError above.
int ToThreads(const Napi::Value& v);

// The layout parameters of one object: the run's common ones from `common` (seed, unitBytes, dedupRatio,
// compressRatio, datasetUnits) and the object's own from `object` (objectId, size, unitOffset); one object
// may serve as both. RangeError where unitBytes is not a multiple of kSector up to kMaxDedupUnit or a ratio is
// below 1. The compression ratio has no upper bound here: the layout's ratio for a named codec
// (lib/ratio-codec.ts) goes past the public limit of 64 (MAX_COMPRESS_RATIO in lib/params.ts).
LayoutParams ToLayoutParams(const Napi::Object& common, const Napi::Object& object);

// The fill kernel named by `o.kernel` ("auto" when absent); RangeError where this CPU lacks it. Points
// into a static table.
const KernelInfo* ToKernel(const Napi::Object& o);

// The bytes of a Buffer, TypedArray or DataView.
struct Target {
  uint8_t* data;
  size_t length;
};
Target ToTarget(const Napi::Value& v);

// An optional cancel flag: a TypedArray whose first byte the caller sets to stop a run, read by the
// workers; `ref` keeps its memory alive until the run is over. Null when `v` is undefined.
const uint8_t* ToCancelFlag(const Napi::Value& v, Napi::ObjectReference& ref);

}  // namespace dgen
