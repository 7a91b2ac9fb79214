// Unknown option keys are a TypeError naming the key, with the option it most likely meant.
import t from 'tap';
import { createGenerator, createWebStream, DataSource, putObjects } from '../lib/index.js';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suggestKey } from '../lib/option-keys.js';

t.test('an unknown key is an error, with a hint where one is close', async (t) => {
  const cases: [string, () => unknown, string, string | undefined][] = [
    ['DataSource dedup', () => new DataSource({ size: 4096, dedup: 2 } as never), 'dedup', 'dedupRatio'],
    ['DataSource chunksize', () => new DataSource({ size: 4096, chunksize: '1MiB' } as never), 'chunksize', 'chunkSize'],
    [
      'createWebStream highWatermark',
      () => createWebStream({ size: 4096, highWatermark: 2 } as never),
      'highWatermark',
      'highWaterMark',
    ],
    [
      'createGenerator compresRatio',
      () => createGenerator({ size: 4096, compresRatio: 3 } as never),
      'compresRatio',
      'compressRatio',
    ],
    [
      'createGenerator chunkSize (a stream option)',
      () => createGenerator({ size: 4096, chunkSize: 4096 } as never),
      'chunkSize',
      undefined,
    ],
    ['DataSource bananas', () => new DataSource({ size: 4096, bananas: 1 } as never), 'bananas', undefined],
  ];
  for (const [name, make, parameter, hint] of cases) {
    t.throws(make, { name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION', parameter }, name);
    try {
      make();
    } catch (err) {
      const message = (err as Error).message;
      t.match(message, new RegExp(`no option "${parameter}"`), `${name}: ${message}`);
      if (hint) t.match(message, new RegExp(`did you mean ${hint}\\?$`), `${name} suggests ${hint}`);
      else t.notMatch(message, /did you mean/, `${name}: no far-fetched hint`);
    }
  }
});

t.test('every documented key is accepted, also when undefined', async (t) => {
  const source = new DataSource({
    size: 4096,
    dedupRatio: 1,
    compressRatio: 2,
    ratioCodec: 'zstd-1',
    dedupUnit: 4096,
    seed: 1,
    objectId: 0,
    threads: 1,
    kernel: 'auto',
    chunkSize: 4096,
    highWaterMark: 8192,
    queueDepth: 1,
    recycle: false,
    signal: undefined,
    rate: undefined,
  });
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c as Buffer);
  t.equal(Buffer.concat(chunks).length, 4096);
  t.doesNotThrow(() => createGenerator({ size: 1, datasetUnits: undefined, unitOffset: undefined }));
  const reader = createWebStream({ size: 512, queueDepth: 2 }).getReader();
  t.equal((await reader.read()).value?.byteLength, 512);
});

t.test('suggestKey', async (t) => {
  const known = ['dedupRatio', 'compressRatio', 'dedupUnit', 'size', 'seed'];
  t.equal(suggestKey('DEDUPRATIO', known), 'dedupRatio', 'case');
  t.equal(suggestKey('compress', known), 'compressRatio', 'prefix');
  t.equal(suggestKey('dedup', known), 'dedupRatio', 'the CLI name (--dedup)');
  t.equal(suggestKey('dedupe', known), undefined, 'two keys share the prefix: no guess');
  t.equal(suggestKey('sead', known), 'seed', 'edit distance 1');
  t.equal(suggestKey('xyzzy', known), undefined, 'nothing close');
});

t.test('putObjects: an unknown key is refused before anything is created', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'dgen-keys-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const target = join(root, 'run');
  await t.rejects(putObjects({ target, count: 1, size: 4096, dedup: 2 } as never), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'dedup',
    message: /did you mean dedupRatio\?/,
  });
  await t.rejects(putObjects({ target, count: 1, size: 4096, partsize: '8MiB' } as never), {
    parameter: 'partsize',
    message: /did you mean partSize\?/,
  });
  t.same(await readdir(root), [], 'nothing created');
  const r = await putObjects({
    target,
    count: 1,
    size: 4096,
    dedupRatio: 1,
    compression: undefined,
    partSize: undefined,
    connectionString: undefined,
  });
  t.equal(r.committed, 1, 'documented keys, also undefined ones, are accepted');
});
