// The library boundary of putObjects: every option is type-checked before anything is created, with
// ERR_DGEN_INVALID_OPTION naming it; a progress callback that throws rejects the put and leaves nothing
// partial (and does not kill the process).
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putObjects, type PutOptions } from '../../lib/index.js';

const root = await mkdtemp(join(tmpdir(), 'dgen-put-options-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `run-${n++}`);

t.test('bad option types and values are refused before anything is created', async (t) => {
  const cases: [Partial<Record<keyof PutOptions, unknown>>, string, typeof TypeError | typeof RangeError][] = [
    [{ signal: 'x' }, 'signal', TypeError],
    [{ signal: {} }, 'signal', TypeError],
    [{ retryBaseMs: -5 }, 'retryBaseMs', RangeError],
    [{ retryBaseMs: '5' }, 'retryBaseMs', TypeError],
    [{ retryBaseMs: Infinity }, 'retryBaseMs', RangeError],
    [{ failFast: 'yes' }, 'failFast', TypeError],
    [{ fsync: 'no' }, 'fsync', TypeError],
    [{ nativeWrites: 1 }, 'nativeWrites', TypeError],
    [{ overwrite: 'true' }, 'overwrite', TypeError],
    [{ resume: 1 }, 'resume', TypeError],
    [{ onProgress: 5 }, 'onProgress', TypeError],
    [{ manifest: 7 }, 'manifest', TypeError],
    [{ concurrency: 5000 }, 'concurrency', RangeError],
    [{ concurrency: 0 }, 'concurrency', RangeError],
    [{ attempts: 1.5 }, 'attempts', RangeError],
    [{ attempts: 0 }, 'attempts', RangeError],
    [{ retryBaseMs: 0.5 }, 'retryBaseMs', RangeError],
    [{ count: 'many' }, 'count', RangeError],
    [{ highWaterMark: 0 }, 'highWaterMark', RangeError],
    [{ contentType: 5 }, 'contentType', TypeError],
    // Backend options are checked by their backend whatever the target (a local one here).
    [{ partSize: 5 }, 'partSize', RangeError],
    [{ partConcurrency: 0 }, 'partConcurrency', RangeError],
    [{ checksumAlgorithm: 'md5' }, 'checksumAlgorithm', RangeError],
    [{ endpoint: 'ftp://x' }, 'endpoint', RangeError],
    [{ region: '' }, 'region', TypeError],
    [{ forcePathStyle: 'yes' }, 'forcePathStyle', TypeError],
    [{ maxAttempts: 0 }, 'maxAttempts', RangeError],
    [{ client: {} }, 'client', TypeError],
    [{ blockSize: 'x' }, 'blockSize', RangeError],
    [{ blockConcurrency: 0 }, 'blockConcurrency', RangeError],
    [{ connectionString: 7 }, 'connectionString', TypeError],
    [{ serviceClient: {} }, 'serviceClient', TypeError],
    [{ pipeline: 5 }, 'pipeline', TypeError],
    [{ dedupratio: 2 }, 'dedupratio', TypeError],
  ];
  for (const [bad, parameter, kind] of cases) {
    const target = fresh();
    await t.rejects(
      putObjects({ target, count: 2, size: 4096, ...bad } as PutOptions),
      { constructor: kind, code: 'ERR_DGEN_INVALID_OPTION', parameter },
      `${JSON.stringify(bad)}`,
    );
    t.notOk(existsSync(target), `${parameter}: nothing created`);
  }
  await t.rejects(putObjects(null as never), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'options' });
  await t.rejects(
    putObjects({ target: fresh(), dedupratio: 2 } as never),
    { message: /no option "dedupratio": did you mean dedupRatio\?/ },
    'an unknown key names the one meant',
  );
  await t.rejects(putObjects({ target: fresh(), retryBaseMs: -5 }), {
    message: 'retryBaseMs must be a whole number ms >= 0; got -5',
  });
  await t.rejects(putObjects({ target: fresh(), failFast: 'yes' as never }), {
    message: 'failFast must be true or false; got "yes"',
  });
});

t.test('az:// without a connection string (or a client) is refused before anything is created, on both planes', async (t) => {
  const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
  delete process.env.AZURE_STORAGE_CONNECTION_STRING;
  t.teardown(() => {
    if (saved !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
  });
  for (const nativeWrites of [true, false]) {
    const manifest = join(fresh(), 'm.json');
    let progressed = 0;
    await t.rejects(
      putObjects({ target: 'az://container/run', count: 3, size: 4096, nativeWrites, manifest, onProgress: () => progressed++ }),
      {
        constructor: TypeError,
        code: 'ERR_DGEN_INVALID_OPTION',
        parameter: 'connectionString',
        message: /^connectionString must be given, or AZURE_STORAGE_CONNECTION_STRING set/,
      },
    );
    t.equal(progressed, 0, 'no object was tried (none became a failure of the manifest)');
    t.notOk(existsSync(manifest), 'no manifest stored');
  }
  // A local target whose manifest goes to Azure: refused before the target directory exists.
  const target = fresh();
  await t.rejects(putObjects({ target, count: 1, size: 4096, manifest: 'az://container/m.json' }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'connectionString',
  });
  t.notOk(existsSync(target), 'nothing created');
});

for (const [plane, extra] of [
  ['native', {}],
  ['stream', { nativeWrites: false }],
  ['stream, compressed', { compression: 'zstd' }],
] as const) {
  t.test(`${plane}: an onProgress that throws rejects the put, nothing partial remains`, async (t) => {
    const target = fresh();
    const boom = new Error('progress callback failed');
    let calls = 0;
    await t.rejects(
      putObjects({
        target,
        count: 64,
        size: 8 * 1024 * 1024,
        chunkSize: 1024 * 1024,
        ...extra,
        onProgress: () => {
          if (++calls === 3) throw boom;
        },
      } as PutOptions),
      boom,
    );
    const names = readdirSync(target);
    t.same(
      names.filter((f) => f.endsWith('.dgen-partial')),
      [],
      'no .dgen-partial file',
    );
    t.notOk(names.includes('dgen-manifest.json'), 'no manifest for a run that was rejected');
    t.ok(names.filter((f) => f.startsWith('obj-')).length < 64, 'the run stopped');
  });
}
