#include "codecs.h"

#include <zlib.h>
#include <zstd.h>

#include <stdexcept>
#include <string>
#include <vector>

#ifdef DGEN_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif
#ifdef DGEN_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

namespace dgen {

namespace {

// Where a block's output goes: the caller's buffer when it holds `bound` bytes, else fresh memory.
struct Output {
  uint8_t* dst;
  size_t capacity;
};

CompressedBlock allocate(size_t bound, Output to) {
  CompressedBlock out;
  if (to.dst != nullptr && to.capacity >= bound) {
    out.data = to.dst;
  } else {
    out.owned.reset(new uint8_t[bound]);  // not value-initialized: the codec writes what is read
    out.data = out.owned.get();
  }
  return out;
}

// zstd: one compression context per thread, reset for every block (reuse keeps its tables allocated).
struct ZstdContext {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~ZstdContext() { ZSTD_freeCCtx(cctx); }
};

CompressedBlock zstd_block(int level, const uint8_t* in, size_t n, Output to) {
  thread_local ZstdContext ctx;
  if (ctx.cctx == nullptr) throw std::runtime_error("ZSTD_createCCtx failed");
  ZSTD_CCtx_reset(ctx.cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(ctx.cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx.cctx, ZSTD_c_checksumFlag, 1);  // as the zstd CLI writes by default
  CompressedBlock out = allocate(ZSTD_compressBound(n), to);
  const size_t r = ZSTD_compress2(ctx.cctx, out.data, ZSTD_compressBound(n), in, n);
  if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
  out.size = r;
  return out;
}

CompressedBlock zlib_block(int level, const uint8_t* in, size_t n, Output to) {
  z_stream s{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  const size_t bound = deflateBound(&s, uLong(n));
  CompressedBlock out = allocate(bound, to);
  s.next_in = const_cast<Bytef*>(in);
  s.avail_in = uInt(n);
  s.next_out = out.data;
  s.avail_out = uInt(bound);
  const int r = deflate(&s, Z_FINISH);
  out.size = bound - s.avail_out;
  deflateEnd(&s);
  if (r != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  return out;
}

#ifdef DGEN_HAVE_LIBDEFLATE
// libdeflate: one compressor per thread and level (each holds its level's match finder).
struct LibdeflateContexts {
  libdeflate_compressor* c[13] = {};
  ~LibdeflateContexts() {
    for (auto* p : c) libdeflate_free_compressor(p);
  }
};

CompressedBlock libdeflate_block(int level, const uint8_t* in, size_t n, Output to) {
  thread_local LibdeflateContexts ctx;
  libdeflate_compressor*& c = ctx.c[level];
  if (c == nullptr && (c = libdeflate_alloc_compressor(level)) == nullptr)
    throw std::runtime_error("libdeflate_alloc_compressor failed");
  const size_t bound = libdeflate_gzip_compress_bound(c, n);
  CompressedBlock out = allocate(bound, to);
  out.size = libdeflate_gzip_compress(c, in, n, out.data, bound);
  if (out.size == 0) throw std::runtime_error("libdeflate: output larger than its own bound");
  return out;
}
#endif

#ifdef DGEN_HAVE_ISAL
// ISA-L igzip, stateless (the whole block in one call), with each level's hash buffer kept per thread.
CompressedBlock isal_block(int level, const uint8_t* in, size_t n, Output to) {
  static constexpr uint32_t kLevelBuf[4] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
  thread_local std::vector<uint8_t> level_buf[4];
  std::vector<uint8_t>& buf = level_buf[level];
  if (buf.size() < kLevelBuf[level]) buf.resize(kLevelBuf[level]);
  // Stored blocks bound the output: 5 bytes per 64 KiB block, the gzip header and trailer, and slack.
  const size_t bound = n + (n / 65535 + 1) * 5 + 1024;
  CompressedBlock out = allocate(bound, to);
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = uint32_t(level);
  s.level_buf = buf.data();
  s.level_buf_size = uint32_t(buf.size());
  s.gzip_flag = IGZIP_GZIP;
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = const_cast<uint8_t*>(in);
  s.avail_in = uint32_t(n);
  s.next_out = out.data;
  s.avail_out = uint32_t(bound);
  const int r = isal_deflate_stateless(&s);
  if (r == STATELESS_OVERFLOW) return zlib_block(level, in, n, to);  // cannot happen with the bound above
  if (r != COMP_OK) throw std::runtime_error("isa-l: isal_deflate_stateless failed (" + std::to_string(r) + ")");
  out.size = s.total_out;
  return out;
}
#endif

}  // namespace

bool parse_codec_library(const std::string& name, CodecLibrary& out) {
  if (name == "libzstd") return out = CodecLibrary::Zstd, true;
  if (name == "zlib") return out = CodecLibrary::Zlib, true;
#ifdef DGEN_HAVE_ISAL
  if (name == "isa-l") return out = CodecLibrary::Isal, true;
#endif
#ifdef DGEN_HAVE_LIBDEFLATE
  if (name == "libdeflate") return out = CodecLibrary::Libdeflate, true;
#endif
  return false;
}

std::string gzip_libraries() {
  std::string names;
#ifdef DGEN_HAVE_ISAL
  names += "isa-l,";
#endif
#ifdef DGEN_HAVE_LIBDEFLATE
  names += "libdeflate,";
#endif
  return names + "zlib";
}

int codec_max_level(CodecLibrary library) {
  switch (library) {
    case CodecLibrary::Zstd: return ZSTD_maxCLevel();
    case CodecLibrary::Isal: return 3;
    case CodecLibrary::Libdeflate: return 12;
    case CodecLibrary::Zlib: return 9;
  }
  return 0;
}

CompressedBlock compress_block(CodecLibrary library, int level, const uint8_t* in, size_t n, uint8_t* dst, size_t capacity) {
  const Output to{dst, capacity};
  if (level < 1 || level > codec_max_level(library)) throw std::runtime_error("compression level out of range");
  switch (library) {
    case CodecLibrary::Zstd: return zstd_block(level, in, n, to);
#ifdef DGEN_HAVE_ISAL
    case CodecLibrary::Isal: return isal_block(level, in, n, to);
#endif
#ifdef DGEN_HAVE_LIBDEFLATE
    case CodecLibrary::Libdeflate: return libdeflate_block(level, in, n, to);
#endif
    default: return zlib_block(level, in, n, to);
  }
}

struct ZstdDecoder::Impl {
  ZSTD_DCtx* dctx = nullptr;
  bool frame_done = true;
};

ZstdDecoder::ZstdDecoder() : impl_(new Impl) {
  impl_->dctx = ZSTD_createDCtx();
  if (impl_->dctx == nullptr) {
    delete impl_;
    throw std::runtime_error("ZSTD_createDCtx failed");
  }
  ZSTD_DCtx_setParameter(impl_->dctx, ZSTD_d_windowLogMax, kZstdWindowLogMax);
}

ZstdDecoder::~ZstdDecoder() {
  ZSTD_freeDCtx(impl_->dctx);
  delete impl_;
}

ZstdDecoder::Step ZstdDecoder::step(const uint8_t* in, size_t n, uint8_t* out, size_t capacity) {
  Step s;
  ZSTD_inBuffer input{in, n, 0};
  ZSTD_outBuffer output{out, capacity, 0};
  // Loop while progress is possible: one call stops at the end of a frame, and the next frame may follow.
  while (output.pos < output.size) {
    const size_t in_before = input.pos, out_before = output.pos;
    const size_t r = ZSTD_decompressStream(impl_->dctx, &output, &input);
    if (ZSTD_isError(r)) {
      s.error = ZSTD_getErrorName(r);
      break;
    }
    // r == 0: a frame ended here and everything it holds is flushed; otherwise a frame is open.
    if (input.pos != in_before || r == 0) impl_->frame_done = r == 0;
    if (input.pos == input.size && (r == 0 || output.pos < output.size)) break;  // all read, all flushed
    if (input.pos == in_before && output.pos == out_before) break;               // no progress (needs more input)
  }
  s.consumed = input.pos;
  s.produced = output.pos;
  s.frame_done = impl_->frame_done;
  return s;
}

}  // namespace dgen
