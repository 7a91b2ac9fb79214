#include "crc32c.h"

#include <zlib.h>

#include <climits>

#ifdef DGEN_HAVE_ISAL
#include <isa-l/crc.h>
#endif

namespace dgen {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// a(x) b(x) mod P(x), reflected (bit 31 holds x^0).
uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// x^(2^k) mod P for k in [0, 32).
struct PowerTable {
  uint32_t x2n[32];
  PowerTable() {
    uint32_t p = 1u << 30;  // x^1
    x2n[0] = p;
    for (int k = 1; k < 32; ++k) x2n[k] = p = multmodp(p, p);
  }
};
const PowerTable kPowers;

// x^(8 n) mod P.
uint32_t x8nmodp(uint64_t n) {
  uint32_t p = 1u << 31;  // x^0
  for (unsigned k = 3; n != 0; n >>= 1, ++k)
    if (n & 1) p = multmodp(kPowers.x2n[k & 31], p);
  return p;
}

#ifndef DGEN_HAVE_ISAL
// Slicing-by-8 tables (Kounavis and Berry, "A Systematic Approach to Building High Performance
// Software-Based CRC Generators", ISCC 2005).
struct SliceTables {
  uint32_t t[8][256];
  SliceTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
};
const SliceTables kSlices;

uint32_t table_update(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  const auto& t = kSlices.t;
  for (; n >= 8; p += 8, n -= 8) {
    const uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^
        t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}
#endif

}  // namespace

uint32_t crc32c_update(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef DGEN_HAVE_ISAL
  // ISA-L takes and returns the register without the initial and final inversion, and an int length.
  uint32_t c = ~crc;
  while (n > 0) {
    const int step = n > size_t(INT_MAX) ? (INT_MAX & ~63) : int(n);
    c = crc32_iscsi(const_cast<unsigned char*>(p), step, c);
    p += step, n -= size_t(step);
  }
  return ~c;
#else
  return table_update(crc, p, n);
#endif
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) { return multmodp(x8nmodp(len_b), crc_a) ^ crc_b; }

const char* crc32c_implementation() {
#ifdef DGEN_HAVE_ISAL
  return "isa-l";
#else
  return "table";
#endif
}

uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef DGEN_HAVE_ISAL
  return crc32_gzip_refl(crc, p, n);
#else
  return uint32_t(crc32_z(crc, p, z_size_t(n)));
#endif
}

}  // namespace dgen
