// Block compression for the streaming compressors: one block of input in, one complete zstd frame or gzip
// member out. A stream compressed this way is a sequence of frames (members) that `zstd -d`, `gunzip`,
// `pigz -d` and node:zlib read as one stream (RFC 1952 2.2: a gzip file is a series of members; the zstd
// format likewise decodes concatenated frames). Blocks are independent, so the worker pool compresses them
// in parallel, as pigz does, and the caller concatenates the outputs in order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dgen {

// The libraries a block can be compressed with. Which ones exist depends on the build (see CMakeLists.txt).
enum class CodecLibrary { Zstd, Isal, Libdeflate, Zlib };

// A compressed block: `size` bytes at `data`, which is either the caller's buffer or `owned`.
struct CompressedBlock {
  std::unique_ptr<uint8_t[]> owned;  // set when the output did not fit the caller's buffer (or none was given)
  uint8_t* data = nullptr;
  size_t size = 0;
};

// Parses "libzstd", "isa-l", "libdeflate" or "zlib"; false for a name this build does not have.
bool parse_codec_library(const std::string& name, CodecLibrary& out);
// The gzip libraries this build has, fastest first, comma-separated (e.g. "isa-l,libdeflate,zlib").
std::string gzip_libraries();
// Highest level `library` takes (zstd: ZSTD_maxCLevel(); ISA-L: 3; libdeflate: 12; zlib: 9); lowest is 1.
int codec_max_level(CodecLibrary library);

// Compresses [in, in + n) at `level` into one complete frame (zstd, with its content checksum) or gzip
// member (every other library). The output goes to [dst, dst + capacity) when that holds the library's
// worst-case bound for n bytes (so the caller can reuse output memory), else to memory the block owns.
// Runs on any thread; each thread keeps its own codec state. Throws std::runtime_error if the library
// fails (out of memory).
CompressedBlock compress_block(CodecLibrary library, int level, const uint8_t* in, size_t n, uint8_t* dst = nullptr,
                               size_t capacity = 0);

// Streaming zstd decompression (libzstd's ZSTD_decompressStream) of a series of frames, as `zstd -d` reads
// them: concatenated frames (what the block compressor writes, or `cat a.zst b.zst`) and skippable frames.
// Memory is bounded by the frame's window (at most 2^kZstdWindowLogMax bytes, the zstd CLI's default
// limit) plus the caller's buffers. One step at a time on any thread, but never two at once.
class ZstdDecoder {
 public:
  // The largest window accepted (128 MiB, the zstd CLI's default --memory limit): a frame asking for more
  // is an error rather than a large allocation.
  static constexpr int kZstdWindowLogMax = 27;
  ZstdDecoder();
  ~ZstdDecoder();
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  struct Step {
    size_t consumed = 0;     // input bytes read
    size_t produced = 0;     // output bytes written
    bool frame_done = true;  // the input read so far ends at a frame boundary (no frame is half read)
    std::string error;       // set when the input is not valid zstd (libzstd's message)
  };
  // Decompresses from [in, in + n) into [out, out + capacity) until the input is used up or the output is
  // full (then call again with the rest of the input: data may be pending inside the decoder even when
  // all input was read, which a further step with no input flushes).
  Step step(const uint8_t* in, size_t n, uint8_t* out, size_t capacity);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace dgen
