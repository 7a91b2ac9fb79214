// What the TypeScript side must agree with the addon on, exported so it reads them rather than keeping
// copies: the limits of cpp/limits.h (lib/limits.ts) and the SplitMix64 mixer of cpp/mix.h
// (lib/splitmix64.ts is pinned to it by test/native-limits.test.ts).
#include "addon_limits.h"

#include <cstdint>

#include "addon_args.h"
#include "limits.h"
#include "mix.h"

namespace dgen {

namespace {

// mix64(z: bigint): bigint, SplitMix64's output function.
Napi::Value Mix64(const Napi::CallbackInfo& info) {
  if (!info[0].IsBigInt()) throw Napi::TypeError::New(info.Env(), "mix64 expects a bigint");
  return Napi::BigInt::New(info.Env(), mix64(ToU64(info[0], "z")));
}

}  // namespace

void RegisterLimits(Napi::Env env, Napi::Object exports) {
  auto limits = Napi::Object::New(env);
  limits.Set("sector", double(kSector));
  limits.Set("maxChunkBytes", double(kMaxChunk));
  limits.Set("maxDedupUnit", double(kMaxDedupUnit));
  limits.Set("maxThreads", double(kMaxThreads));
  limits.Set("directAlignment", double(kDirectAlign));
  limits.Set("hugeChunkMin", double(kHugeChunkMin));
  limits.Set("parallelFillMin", double(kParallelMin));
  limits.Set("minPieceBytes", double(kMinPiece));
  limits.Freeze();
  exports.Set("limits", limits);
  exports.Set("mix64", Napi::Function::New(env, Mix64, "mix64"));
}

}  // namespace dgen
