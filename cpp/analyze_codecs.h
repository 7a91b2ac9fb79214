// Compressed sizes and fingerprints for `dgen analyze`, computed on any worker thread (each keeps its own
// codec contexts). Only sizes are wanted, so output goes to a per-thread scratch buffer and is dropped.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dgen {

// The codecs analyze measures, in report order: zstd-1, zstd-3, gzip-6, lz4.
constexpr int kAnalyzeCodecs = 4;
extern const char* const kAnalyzeCodecNames[kAnalyzeCodecs];

// A chunk compressed alone, as a storage system stores it: a zstd frame (libzstd), raw deflate at level 6
// (libdeflate when the build has it, else zlib: the gzip wrapper is not compression), an lz4 block plus
// the 4-byte size prefix lz4-napi writes (liblz4).
size_t chunk_compressed_size(int codec, const uint8_t* data, size_t n);

// One segment of a whole stream, compressed with the `history` bytes before it (the end of the previous
// segments of the same input) as its window: zstd with the history as a prefix (ZSTD_CCtx_refPrefix, as a
// zstd -T0 job overlaps the one before), raw deflate at level 6 (libdeflate, independent
// segments; zlib without it, with the last 32 KiB as its dictionary as pigz does), lz4 as an independent frame (lz4's CLI
// compresses 4 MiB blocks independently).
size_t segment_compressed_size(int codec, const uint8_t* history, size_t history_bytes, const uint8_t* data, size_t n);

// A fingerprint in 2 words (XXH3-128, libxxhash) or 4 (SHA-256, OpenSSL libcrypto); word 0 is the hash's
// most significant 64 bits.
void fingerprint(bool sha256, const uint8_t* data, size_t n, uint64_t* out);

}  // namespace dgen
