#include "file_segments.h"

#include <algorithm>

#include <zlib.h>

#include "crc32c.h"

namespace dgen {

uint64_t cut_into_pieces(const std::vector<FileSegment>& segments, size_t chunk, std::vector<GeneratedRange>& ranges) {
  uint64_t file_offset = 0, pieces = 0;
  for (size_t k = 0; k < segments.size(); ++k) {
    const FileSegment& seg = segments[k];
    if (seg.generated && seg.length > 0) {
      ranges.push_back(GeneratedRange{k, file_offset, seg.offset, seg.length, pieces});
      pieces += piece_count(seg.length, chunk);
    }
    file_offset += seg.length;
  }
  return pieces;
}

const GeneratedRange& range_of_piece(const std::vector<GeneratedRange>& ranges, uint64_t piece) {
  // The last range whose first piece is at or before it.
  return *(std::upper_bound(ranges.begin(), ranges.end(), piece,
                            [](uint64_t k, const GeneratedRange& g) { return k < g.first_piece; }) -
           1);
}

RangeCrcs combine_pieces(const GeneratedRange& range, size_t chunk, const std::vector<uint32_t>& piece_crc32c,
                         const std::vector<uint32_t>& piece_crc32) {
  const uint64_t pieces = piece_count(range.length, chunk);
  const bool ieee = !piece_crc32.empty();
  uint32_t crc = 0;
  uLong crc_ieee = 0;
  for (uint64_t k = 0; k < pieces; ++k) {
    const uint64_t len = std::min<uint64_t>(chunk, range.length - k * chunk);
    const size_t piece = size_t(range.first_piece + k);
    crc = k == 0 ? piece_crc32c[piece] : crc32c_combine(crc, piece_crc32c[piece], len);
    if (ieee) crc_ieee = k == 0 ? piece_crc32[piece] : crc32_combine64(crc_ieee, piece_crc32[piece], z_off64_t(len));
  }
  return RangeCrcs{crc, uint32_t(crc_ieee)};
}

FileCrcs patch_crc32_fields(std::vector<FileSegment>& segments, const std::vector<Crc32Field>& fields,
                            const std::vector<GeneratedRange>& ranges, size_t chunk, const std::vector<uint32_t>& piece_crc32c,
                            const std::vector<uint32_t>& piece_crc32) {
  const size_t count = segments.size();
  std::vector<uint32_t> seg_crc32c(count, 0), seg_crc32(count, 0);
  for (const GeneratedRange& g : ranges) {
    const RangeCrcs crcs = combine_pieces(g, chunk, piece_crc32c, piece_crc32);
    seg_crc32c[g.segment] = crcs.crc32c;
    seg_crc32[g.segment] = crcs.crc32;
  }
  FileCrcs out;
  if (!fields.empty()) {
    // Every literal segment's CRC-32 before any field is patched (no field covers a patched segment).
    for (size_t k = 0; k < count; ++k)
      if (!segments[k].generated) seg_crc32[k] = crc32_update(0, segments[k].bytes.data(), segments[k].bytes.size());
    out.fields.reserve(fields.size());
    for (const Crc32Field& f : fields) {
      uLong crc = 0;
      for (size_t k = f.first; k < f.end; ++k) crc = crc32_combine64(crc, seg_crc32[k], z_off64_t(segments[k].length));
      out.fields.push_back(uint32_t(crc));
      for (const auto& [segment, offset] : f.at) {
        uint8_t* p = segments[segment].bytes.data() + offset;
        for (int byte = 0; byte < 4; ++byte) p[byte] = uint8_t(crc >> (8 * byte));
      }
    }
  }
  for (size_t k = 0; k < count; ++k) {
    const FileSegment& seg = segments[k];
    if (!seg.generated) seg_crc32c[k] = crc32c_update(0, seg.bytes.data(), seg.bytes.size());
    out.crc32c = k == 0 ? seg_crc32c[0] : crc32c_combine(out.crc32c, seg_crc32c[k], seg.length);
  }
  return out;
}

}  // namespace dgen
