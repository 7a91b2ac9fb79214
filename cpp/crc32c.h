// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF: the
// checksum of iSCSI, ext4, S3's CRC32C and Azure's content CRC), and the combination of two CRCs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dgen {

// CRC-32C of `crc`'s message followed by [p, p + n): crc32c_update(0, p, n) is the CRC of [p, p + n).
// Intel ISA-L's crc32_iscsi (PCLMULQDQ folding, libisal-dev) where the build found it, else a
// table-driven fallback (slicing by 8).
uint32_t crc32c_update(uint32_t crc, const uint8_t* p, size_t n);

// CRC-32C of A followed by B, from crc_a = CRC(A), crc_b = CRC(B) and len_b = |B| bytes, in O(log len_b):
// CRC(A B) = CRC(A) x^(8 len_b) + CRC(B) mod P, the multiplication by x^(8 len_b) done by squaring
// (the method of zlib's crc32_combine, Mark Adler, applied to the Castagnoli polynomial).
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

// CRC-32 (the ISO-HDLC / zlib / ZIP / gzip checksum, reflected polynomial 0xEDB88320) of `crc`'s message
// followed by [p, p + n), chained like zlib's crc32(): ISA-L's crc32_gzip_refl (PCLMULQDQ folding) where the
// build found it, else zlib's crc32_z. Two CRC-32s combine with zlib's crc32_combine64.
uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t n);

// Which implementation crc32c_update uses: "isa-l" or "table".
const char* crc32c_implementation();

}  // namespace dgen
