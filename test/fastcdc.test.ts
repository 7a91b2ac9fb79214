// FastCDC's Gear table is pinned: the cut points of `dgen analyze` (and of the addon's copy in
// cpp/analyze_fastcdc.cc) depend on every entry, so a change of the table changes every CDC result.
import t from 'tap';
import { createHash } from 'node:crypto';
import { GEAR } from '../lib/analyze/fastcdc.js';

t.test('GEAR: the top 32 bits of SplitMix64 from 0, entry by entry', async (t) => {
  t.equal(GEAR.length, 256);
  // Published outputs of splitmix64.c's next() from state 0 (Vigna, https://prng.di.unimi.it/splitmix64.c):
  // 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f; their top halves.
  t.same([...GEAR.subarray(0, 3)], [0xe220a839, 0x6e789e6a, 0x06c45d18]);
  t.equal(GEAR[127], 0x12d05c40);
  t.equal(GEAR[255], 0x5a5832bb);
  // The whole table, as the table built before 2026-12-02 held it (little-endian words).
  const digest = createHash('sha256')
    .update(new Uint8Array(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength))
    .digest('hex');
  t.equal(digest, '03914a412554b12d6c511c541127b67fd84c0b765a2e8dc4f2623507c8eb06f0');
});
