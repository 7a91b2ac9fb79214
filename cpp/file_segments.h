// A file laid out by segments, as write_files writes it and verify_files checks it (a formatted file such as
// an NPZ archive): literal bytes and generated ranges of an object's stream, the generated ranges cut into
// pieces for the workers, and the CRCs of the file combined from the pieces' and patched into CRC-32 fields.
// Pure functions: no I/O, no N-API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dgen {

// One piece of a file laid out by segments: literal bytes, or the generated range [offset, offset + length)
// of the object's stream (its layout).
struct FileSegment {
  bool generated = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::vector<uint8_t> bytes;  // literal
};

// A CRC-32 (zlib's, the ZIP checksum) of segments [first, end), written little-endian into literal
// segments at each (segment, byte offset) of `at` once known: how a ZIP's data descriptor and central
// directory get the CRC of a member whose data is generated, in one pass. The patched segments lie
// outside every field's range (checked when the batch is made).
struct Crc32Field {
  size_t first = 0;
  size_t end = 0;
  std::vector<std::pair<size_t, size_t>> at;
};

// A generated range as the file holds it: at `file_offset`, bytes [stream_offset, stream_offset + length)
// of the layout's stream, pieces [first_piece, first_piece + piece_count(length, chunk)).
struct GeneratedRange {
  size_t segment;  // index in the segments (0 for a file without segments)
  uint64_t file_offset;
  uint64_t stream_offset;
  uint64_t length;
  uint64_t first_piece;
};

// Pieces of `chunk` bytes (the last one shorter) that `length` bytes are cut into.
inline uint64_t piece_count(uint64_t length, size_t chunk) { return (length + chunk - 1) / chunk; }

// Appends the generated segments of nonzero length to `ranges`, in file order, their pieces numbered from
// 0 on; returns how many pieces they have in all.
uint64_t cut_into_pieces(const std::vector<FileSegment>& segments, size_t chunk, std::vector<GeneratedRange>& ranges);

// The range of `ranges` (not empty, in file order) that holds piece `piece`.
const GeneratedRange& range_of_piece(const std::vector<GeneratedRange>& ranges, uint64_t piece);

// The CRCs of a generated range, combined in order from its pieces'.
struct RangeCrcs {
  uint32_t crc32c = 0;
  uint32_t crc32 = 0;  // 0 when `piece_crc32` is empty (no CRC-32 field needs it)
};
RangeCrcs combine_pieces(const GeneratedRange& range, size_t chunk, const std::vector<uint32_t>& piece_crc32c,
                         const std::vector<uint32_t>& piece_crc32);

// The CRCs of a file laid out by segments, once the CRCs of its generated pieces are known (by piece
// index; `piece_crc32` empty when no field needs CRC-32s): each field's CRC-32, combined (crc32_combine64)
// from its segments' CRC-32s and written little-endian into the literal segments at the field's places,
// then the CRC-32C of the whole file with those patched bytes.
struct FileCrcs {
  uint32_t crc32c = 0;
  std::vector<uint32_t> fields;  // one CRC-32 per field, in order (none without fields)
};
FileCrcs patch_crc32_fields(std::vector<FileSegment>& segments, const std::vector<Crc32Field>& fields,
                            const std::vector<GeneratedRange>& ranges, size_t chunk, const std::vector<uint32_t>& piece_crc32c,
                            const std::vector<uint32_t>& piece_crc32);

}  // namespace dgen
