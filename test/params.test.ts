// Every invalid option is a typed error naming the parameter, the value and what is allowed.
import t from 'tap';
import { createGenerator, parseSize, DataSource, putObjects } from '../lib/index.js';

t.test('sizes: numbers and strings with binary and SI prefixes', async (t) => {
  t.equal(parseSize('size', 4096), 4096);
  t.equal(parseSize('size', '4096'), 4096);
  t.equal(parseSize('size', '64MiB'), 64 * 1024 * 1024);
  t.equal(parseSize('size', '1GB'), 1e9);
  t.equal(parseSize('size', '1.5 KiB'), 1536);
  t.equal(parseSize('size', '4kB'), 4000);
  t.equal(parseSize('size', '0.3KB'), 300);
  t.equal(parseSize('size', '.5KiB'), 512);
  t.equal(parseSize('size', 0), 0);
  t.equal(parseSize('size', Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  // fio's and dd's one-letter suffixes are binary, in either case; two letters stay SI.
  t.equal(parseSize('size', '4k'), 4096);
  t.equal(parseSize('size', '4K'), 4096);
  t.equal(parseSize('size', '1g'), 2 ** 30);
  t.equal(parseSize('size', '2m'), 2 * 2 ** 20);
  t.equal(parseSize('size', '1t'), 2 ** 40);
  t.equal(parseSize('size', '1.5k'), 1536);
  t.equal(parseSize('size', '4kb'), 4000);
  t.equal(new DataSource({ size: '4k' }).generator.size, 4096, 'the library reads 4k as the CLI does');
  for (const bad of ['-5', '12 parsecs', '', '1.5', '0.3B', '1.0000001KiB', 1.5, -1, NaN, Infinity, 2 ** 53, '1e3']) {
    t.throws(
      () => parseSize('size', bad),
      { name: 'RangeError', code: 'ERR_DGEN_INVALID_SIZE', parameter: 'size' },
      `rejects ${String(bad)}`,
    );
  }
  t.throws(() => parseSize('size', {}), { name: 'TypeError', code: 'ERR_DGEN_INVALID_SIZE' });
});

t.test('generator options', async (t) => {
  const cases: [object, string, string, string][] = [
    [{ size: 10, dedupRatio: 0.5 }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'dedupRatio'],
    [{ size: 10, dedupRatio: NaN }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'dedupRatio'],
    [{ size: 10, dedupRatio: 'two' }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'dedupRatio'],
    [{ size: 10, dedupRatio: Infinity }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'dedupRatio'],
    [{ size: 10, compressRatio: 0.99 }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'compressRatio'],
    [{ size: 10, compressRatio: 65 }, 'RangeError', 'ERR_DGEN_INVALID_RATIO', 'compressRatio'],
    [{ size: 10, compressRatio: true }, 'TypeError', 'ERR_DGEN_INVALID_RATIO', 'compressRatio'],
    [{ size: 10, dedupUnit: 1000 }, 'RangeError', 'ERR_DGEN_INVALID_DEDUP_UNIT', 'dedupUnit'],
    [{ size: 10, dedupUnit: 0 }, 'RangeError', 'ERR_DGEN_INVALID_DEDUP_UNIT', 'dedupUnit'],
    [{ size: 10, dedupUnit: '2GiB' }, 'RangeError', 'ERR_DGEN_INVALID_DEDUP_UNIT', 'dedupUnit'],
    [{ size: 10, seed: -1 }, 'RangeError', 'ERR_DGEN_INVALID_SEED', 'seed'],
    [{ size: 10, seed: 1n << 64n }, 'RangeError', 'ERR_DGEN_INVALID_SEED', 'seed'],
    [{ size: 10, seed: 'abc' }, 'RangeError', 'ERR_DGEN_INVALID_SEED', 'seed'],
    [{ size: 10, seed: 2 ** 60 }, 'RangeError', 'ERR_DGEN_INVALID_SEED', 'seed'],
    [{ size: 10, seed: {} }, 'TypeError', 'ERR_DGEN_INVALID_SEED', 'seed'],
    [{ size: 10, objectId: -3 }, 'RangeError', 'ERR_DGEN_INVALID_OBJECT_ID', 'objectId'],
    [{ size: -1 }, 'RangeError', 'ERR_DGEN_INVALID_SIZE', 'size'],
    [{}, 'TypeError', 'ERR_DGEN_INVALID_SIZE', 'size'],
  ];
  for (const [options, name, code, parameter] of cases) {
    t.throws(
      () => createGenerator(options as never),
      { name, code, parameter },
      `${JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))} -> ${code}`,
    );
  }
  t.throws(() => createGenerator(null as never), { name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION' });
  const err = (() => {
    try {
      createGenerator({ size: 10, compressRatio: 100 });
    } catch (e) {
      return e as Error;
    }
  })();
  t.match(
    err?.message,
    /compressRatio must be a number from 1 to 64; got 100/,
    'message names parameter, allowed range and value',
  );
  t.ok(
    createGenerator({ size: 10, dedupRatio: '2.5', compressRatio: '64', seed: '0x10', dedupUnit: '1GiB' }),
    'limits are inclusive',
  );
});

t.test('bad options create nothing', async (t) => {
  t.throws(() => new DataSource({ size: 10, dedupUnit: 100 }), { code: 'ERR_DGEN_INVALID_DEDUP_UNIT' });
  const dir = `/tmp/dgen-should-not-exist-${process.pid}`;
  await t.rejects(putObjects({ target: dir, count: 0 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'count' });
  await t.rejects(putObjects({ target: dir, concurrency: 1.5 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'concurrency' });
  await t.rejects(putObjects({ target: dir, chunkSize: 100 }), { code: 'ERR_DGEN_INVALID_CHUNK_SIZE' });
  await t.rejects(putObjects({ target: dir, size: 'huge' }), { code: 'ERR_DGEN_INVALID_SIZE' });
  const { existsSync } = await import('node:fs');
  t.notOk(existsSync(dir), 'the target directory was not created');
});
