// Files laid out as segments by the native local writer (lib/local-writer.ts, cpp/file_writer.cc): literal
// bytes and ranges of the object's stream in any order land at their offsets; CRC-32 fields (checked with
// @node-rs/crc32) are patched into literal segments; many files per batch, any chunk size and thread count;
// an abort leaves nothing behind.
import t from 'tap';
import { crc32, crc32c } from '@node-rs/crc32';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureWorkers, createGenerator } from '../lib/index.js';
import { writeLocalObjects } from '../lib/local-writer.js';
import { parseDataOptions } from '../lib/params.js';

const MiB = 1024 * 1024;
const data = parseDataOptions({ seed: 5, dedupRatio: 2, compressRatio: 2 });

t.test('segments land in order, CRC-32 fields are patched, for any chunk size and thread count', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-seg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.teardown(() => configureWorkers());
  const size = 9 * MiB + 123;
  const streams = [0, 1, 2].map((objectId) => createGenerator({ ...data, size, objectId }).generateSync());
  // Ranges out of stream order, a literal between them, an empty range, and a trailer for two CRC-32s.
  const layout = (s: Buffer) => ({
    parts: [Buffer.from('HEAD'), s.subarray(5 * MiB, size), Buffer.from('mid'), s.subarray(0, 5 * MiB), s.subarray(7, 7)],
    segments: [
      Buffer.from('HEAD'),
      { offset: 5 * MiB, length: size - 5 * MiB },
      Buffer.from('mid'),
      { offset: 0, length: 5 * MiB },
      { offset: 7, length: 0 },
      Buffer.alloc(12),
    ],
  });
  for (const threads of [1, 2, 3]) {
    configureWorkers({ threads });
    for (const chunkSize of [512, 1 * MiB + 512, 4 * MiB]) {
      const objects = streams.map((s, objectId) => ({
        objectId,
        size,
        path: join(dir, `f${objectId}`),
        segments: layout(Buffer.from(s)).segments,
        crc32Fields: [
          { first: 0, end: 2, at: [[5, 0]] as [number, number][] },
          {
            first: 1,
            end: 5,
            at: [
              [5, 4],
              [5, 8],
            ] as [number, number][],
          },
        ],
      }));
      const results = await writeLocalObjects(data, objects, { chunkSize });
      for (const [i, r] of results.entries()) {
        const { parts } = layout(Buffer.from(streams[i]!));
        const a = crc32(Buffer.concat(parts.slice(0, 2)));
        const b = crc32(Buffer.concat(parts.slice(1, 5)));
        const trailer = Buffer.alloc(12);
        trailer.writeUInt32LE(a, 0);
        trailer.writeUInt32LE(b, 4);
        trailer.writeUInt32LE(b, 8);
        const expected = Buffer.concat([...parts, trailer]);
        const got = readFileSync(join(dir, `f${i}`));
        t.ok(r.ok && got.equals(expected), `threads ${threads}, chunk ${chunkSize}, file ${i}: bytes`);
        if (!r.ok) continue;
        t.same(r.crc32, [a, b], 'CRC-32 of each field');
        t.equal(r.size, expected.length);
        t.equal(r.crc32c, crc32c(expected).toString(16).padStart(8, '0'), 'CRC-32C of the file');
      }
    }
  }
});

t.test('an abort before the batch starts leaves nothing; only literal segments work too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-seg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const reason = new Error('stop');
  const [r] = await writeLocalObjects(
    data,
    [{ objectId: 0, size: 8 * MiB, path: join(dir, 'a'), segments: [{ offset: 0, length: 8 * MiB }] }],
    { signal: AbortSignal.abort(reason) },
  );
  t.equal(r!.ok ? undefined : r!.error, reason, 'the signal reason');
  t.same(readdirSync(dir), [], 'nothing written');
  const [l] = await writeLocalObjects(data, [
    {
      objectId: 0,
      size: 0,
      path: join(dir, 'b'),
      segments: [Buffer.from('abc'), Buffer.alloc(4)],
      crc32Fields: [{ first: 0, end: 1, at: [[1, 0]] }],
    },
  ]);
  const expected = Buffer.concat([Buffer.from('abc'), Buffer.alloc(4)]);
  expected.writeUInt32LE(crc32(Buffer.from('abc')), 3);
  t.ok(l!.ok, 'committed');
  t.same(readFileSync(join(dir, 'b')), expected, 'literal bytes with the CRC-32 patched in');
});
