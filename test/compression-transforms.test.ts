// Compression transforms: round trips, counters, levels, names; and file sinks that compress inside.
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import {
  COMPRESSION_EXTENSIONS,
  createCompressor,
  createDecompressor,
  createGenerator,
  DataSource,
  FileSink,
  formatCrc32c,
  parseCompression,
  zstdImplementation,
} from '../lib/index.js';
import { hasTool, near } from './fixtures/helpers.js';
import { execFileSync } from 'node:child_process';

function collect(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      into.push(chunk);
      cb();
    },
  });
}

t.test('compress then decompress gives the bytes back; counters and ratio are right', async (t) => {
  t.comment(`zstd from ${zstdImplementation} on Node ${process.version}`);
  const size = 8 * 1024 * 1024 + 99;
  const expected = createGenerator({ size, compressRatio: 4, seed: 1 }).generateSync();
  for (const algorithm of ['zstd', 'gzip'] as const) {
    const packed: Buffer[] = [];
    const compressor = createCompressor(algorithm);
    await pipeline(new DataSource({ size, compressRatio: 4, seed: 1, chunkSize: 1 << 20 }), compressor, collect(packed));
    const compressed = Buffer.concat(packed);
    t.equal(compressor.bytesIn, size);
    t.equal(compressor.bytesOut, compressed.length);
    t.ok(near(compressor.ratio, 4, 0.06), `${algorithm}: ratio ${compressor.ratio.toFixed(3)} for c = 4`);
    const plain: Buffer[] = [];
    const decompressor = createDecompressor(algorithm);
    await pipeline(
      async function* () {
        for (let i = 0; i < compressed.length; i += 100_000) yield compressed.subarray(i, i + 100_000);
      },
      decompressor,
      collect(plain),
    );
    t.ok(Buffer.concat(plain).equals(expected), `${algorithm}: round trip`);
    t.equal(decompressor.bytesOut, size);
    t.ok(near(decompressor.ratio, compressor.ratio, 1e-9), 'the decompressor reports the same ratio');
  }
  // gzip output is standard gzip; zstd output is a standard zstd frame.
  const gz: Buffer[] = [];
  await pipeline(new DataSource({ size: 100_000, seed: 2 }), createCompressor('gzip:9'), collect(gz));
  t.ok(
    zlib.gunzipSync(Buffer.concat(gz)).equals(createGenerator({ size: 100_000, seed: 2 }).generateSync()),
    'node:zlib gunzip reads it',
  );
  if (hasTool('zstd')) {
    const zs: Buffer[] = [];
    await pipeline(new DataSource({ size: 100_000, seed: 2 }), createCompressor('zstd', { level: 19 }), collect(zs));
    const out = execFileSync('zstd', ['-d', '-c'], { input: Buffer.concat(zs) });
    t.ok(out.equals(createGenerator({ size: 100_000, seed: 2 }).generateSync()), 'the zstd command-line tool reads it');
  }
});

t.test('levels, names and errors', async (t) => {
  t.same(parseCompression(undefined), { algorithm: 'none', level: 0 });
  t.same(parseCompression('zstd'), { algorithm: 'zstd', level: 3 });
  t.same(parseCompression('gzip'), { algorithm: 'gzip', level: 6 });
  t.same(parseCompression('zstd:19'), { algorithm: 'zstd', level: 19 });
  t.same(parseCompression({ algorithm: 'gzip', level: 1 }), { algorithm: 'gzip', level: 1 });
  t.same(COMPRESSION_EXTENSIONS, { none: '', zstd: '.zst', gzip: '.gz' });
  t.throws(() => parseCompression('brotli'), { name: 'RangeError', code: 'ERR_DGEN_INVALID_COMPRESSION' });
  t.throws(() => parseCompression('zstd:30'), { code: 'ERR_DGEN_INVALID_COMPRESSION', parameter: 'compressionLevel' });
  t.throws(() => parseCompression('gzip:0.5'), { code: 'ERR_DGEN_INVALID_COMPRESSION' });
  t.throws(() => parseCompression(42), { name: 'TypeError', code: 'ERR_DGEN_INVALID_COMPRESSION' });
  t.throws(() => createCompressor('none' as never), { code: 'ERR_DGEN_INVALID_COMPRESSION' });
  t.throws(() => new FileSink('/tmp/x', { compression: 'lzma' }), { code: 'ERR_DGEN_INVALID_COMPRESSION' });
  t.equal(createCompressor('zstd:7').spec.level, 7, 'the level reaches the codec');
  t.equal(createCompressor('gzip', { level: 2 }).spec.level, 2);
});

t.test('corrupt input fails the decompressor with an error', async (t) => {
  await t.rejects(
    pipeline(
      async function* () {
        yield Buffer.from('definitely not zstd');
      },
      createDecompressor('zstd'),
      collect([]),
    ),
  );
  await t.rejects(
    pipeline(
      async function* () {
        yield Buffer.from('definitely not gzip');
      },
      createDecompressor('gzip'),
      collect([]),
    ),
  );
});

t.test('a file sink with compression: CRC-32C of the uncompressed bytes, counters of both', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dgen-zsink-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const algorithm of ['zstd', 'gzip']) {
    const path = join(dir, `o.bin${COMPRESSION_EXTENSIONS[algorithm as 'zstd']}`);
    const sink = new FileSink(path, { compression: algorithm });
    const size = 5 * 1024 * 1024;
    await pipeline(new DataSource({ size, compressRatio: 3, seed: 4 }), sink);
    const result = await sink.result();
    const stored = await readFile(path);
    const expected = createGenerator({ size, compressRatio: 3, seed: 4 }).generateSync();
    t.equal(result.compressedSize, stored.length);
    t.equal(sink.compressedBytes, stored.length);
    t.equal(sink.bytesWritten, size);
    t.ok(near(sink.compressionRatio, 3, 0.06), `${algorithm}: ${sink.compressionRatio.toFixed(3)}`);
    t.equal(result.crc32c, formatCrc32c(crc32c(expected)));
    const plain: Buffer[] = [];
    await pipeline(
      async function* () {
        yield stored;
      },
      createDecompressor(algorithm),
      collect(plain),
    );
    t.ok(Buffer.concat(plain).equals(expected), `${algorithm}: the stored file decompresses to the data`);
  }
});
