// FastCDC cut points (Xia et al., USENIX ATC 2016), the native twin of lib/analyze/fastcdc.ts, which stays
// the reference this one is tested against (test/analyze-native.test.ts): the same Gear table (SplitMix64
// from 0, top 32 bits), cut-point skipping to `min`, normalized chunking level 2, forced cut at `max`.
// A cut depends only on the bytes since the previous cut (the fingerprint restarts at `min`), so a caller
// can rescan a pending chunk from its start instead of carrying the rolling state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dgen {

struct CdcParams {
  size_t min = 2048, avg = 8192, max = 65536;
};

class FastCdc {
 public:
  explicit FastCdc(CdcParams p);
  const CdcParams& params() const { return p_; }
  // Streaming: cut offsets in [data, data + n) (each a chunk's exclusive end), given everything pushed
  // since the last end(). Appends to `cuts`.
  void push(const uint8_t* data, size_t n, std::vector<size_t>& cuts);
  // Ends the stream; true if bytes after the last cut form a last chunk. Resets the state.
  bool end();
  // Length of the chunk starting at `data`, or 0 if it does not end within the n bytes given (it goes on
  // past them, or they are the input's last bytes).
  size_t next_cut(const uint8_t* data, size_t n) const;

 private:
  CdcParams p_;
  uint32_t mask_small_, mask_large_;
  size_t len_ = 0;
  uint32_t fp_ = 0;
};

}  // namespace dgen
