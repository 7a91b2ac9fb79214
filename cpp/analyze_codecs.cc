#include "analyze_codecs.h"

#include <lz4.h>
#include <lz4frame.h>
#include <openssl/sha.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>
#ifdef DGEN_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace dgen {

const char* const kAnalyzeCodecNames[kAnalyzeCodecs] = {"zstd-1", "zstd-3", "gzip-6", "lz4"};

namespace {

uint8_t* scratch(size_t n) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

struct ThreadCodecs {
  // Chunks and segments each have their own context: one switching between 4 KiB chunks and 4 MiB
  // segments with a prefix would resize its tables at every switch.
  ZSTD_CCtx* zstd = ZSTD_createCCtx();
  ZSTD_CCtx* zstd_segments = ZSTD_createCCtx();
  z_stream deflate_stream{};
  bool deflate_ready = false;
#ifdef DGEN_HAVE_LIBDEFLATE
  libdeflate_compressor* libdeflate = libdeflate_alloc_compressor(6);
#endif
  ThreadCodecs() {
    if (!zstd || !zstd_segments) throw std::runtime_error("ZSTD_createCCtx failed");
  }
  ~ThreadCodecs() {
    ZSTD_freeCCtx(zstd);
    ZSTD_freeCCtx(zstd_segments);
    if (deflate_ready) deflateEnd(&deflate_stream);
#ifdef DGEN_HAVE_LIBDEFLATE
    libdeflate_free_compressor(libdeflate);
#endif
  }
  z_stream& deflater() {
    if (!deflate_ready) {
      if (deflateInit2(&deflate_stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
      deflate_ready = true;
    } else {
      deflateReset(&deflate_stream);
    }
    return deflate_stream;
  }
};

ThreadCodecs& codecs() {
  thread_local ThreadCodecs c;
  return c;
}

size_t zstd_size(int level, const uint8_t* prefix, size_t prefix_bytes, const uint8_t* data, size_t n) {
  ZSTD_CCtx* cctx = prefix ? codecs().zstd_segments : codecs().zstd;
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (prefix_bytes) ZSTD_CCtx_refPrefix(cctx, prefix, prefix_bytes);
  const size_t bound = ZSTD_compressBound(n);
  const size_t r = ZSTD_compress2(cctx, scratch(bound), bound, data, n);
  if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
  return r;
}

[[maybe_unused]] size_t deflate_size(const uint8_t* dict, size_t dict_bytes, const uint8_t* data, size_t n) {
  z_stream& z = codecs().deflater();
  if (dict_bytes) deflateSetDictionary(&z, dict, uInt(dict_bytes));
  const size_t bound = deflateBound(&z, uLong(n));
  z.next_in = const_cast<uint8_t*>(data);
  z.avail_in = uInt(n);
  z.next_out = scratch(bound);
  z.avail_out = uInt(bound);
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return z.total_out;
}

}  // namespace

size_t chunk_compressed_size(int codec, const uint8_t* data, size_t n) {
  switch (codec) {
    case 0: return zstd_size(1, nullptr, 0, data, n);
    case 1: return zstd_size(3, nullptr, 0, data, n);
    case 2: {
#ifdef DGEN_HAVE_LIBDEFLATE
      const size_t bound = libdeflate_deflate_compress_bound(codecs().libdeflate, n);
      const size_t r = libdeflate_deflate_compress(codecs().libdeflate, data, n, scratch(bound), bound);
      if (r == 0) throw std::runtime_error("libdeflate failed");
      return r;
#else
      return deflate_size(nullptr, 0, data, n);
#endif
    }
    default: {
      const int bound = LZ4_compressBound(int(n));
      const int r = LZ4_compress_default(reinterpret_cast<const char*>(data), reinterpret_cast<char*>(scratch(size_t(bound))),
                                         int(n), bound);
      if (r <= 0 && n > 0) throw std::runtime_error("lz4 failed");
      return size_t(r) + 4;
    }
  }
}

size_t segment_compressed_size(int codec, const uint8_t* history, size_t history_bytes, const uint8_t* data, size_t n) {
  switch (codec) {
    case 0:
    case 1: {
      const size_t keep = std::min<size_t>(history_bytes, 512 * 1024);
      return zstd_size(codec == 0 ? 1 : 3, history + history_bytes - keep, keep, data, n);
    }
    case 2: {
#ifdef DGEN_HAVE_LIBDEFLATE
      // libdeflate has no preset dictionary; it is 3-4x zlib's speed at level 6, and a 4 MiB segment
      // without the 32 KiB before it loses well under 1 % (measured: README, analyze).
      (void)history;
      (void)history_bytes;
      return chunk_compressed_size(2, data, n);
#else
      const size_t keep = std::min<size_t>(history_bytes, 32 * 1024);
      return deflate_size(history + history_bytes - keep, keep, data, n);
#endif
    }
    default: {
      const size_t bound = LZ4F_compressFrameBound(n, nullptr);
      const size_t r = LZ4F_compressFrame(scratch(bound), bound, data, n, nullptr);
      if (LZ4F_isError(r)) throw std::runtime_error(std::string("lz4: ") + LZ4F_getErrorName(r));
      return r;
    }
  }
}

void fingerprint(bool sha256, const uint8_t* data, size_t n, uint64_t* out) {
  if (!sha256) {
    const XXH128_hash_t h = XXH3_128bits(data, n);
    out[0] = h.high64;
    out[1] = h.low64;
    return;
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(data, n, digest);
  for (int w = 0; w < 4; ++w) {
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v = (v << 8) | digest[w * 8 + b];
    out[w] = v;
  }
}

}  // namespace dgen
