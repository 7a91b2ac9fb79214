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
  ];
  for (const [bad, parameter, kind] of cases) {
    const target = fresh();
    await t.rejects(putObjects({ target, count: 2, size: 4096, ...bad } as PutOptions), { constructor: kind, code: 'ERR_DGEN_INVALID_OPTION', parameter }, `${JSON.stringify(bad)}`);
    t.notOk(existsSync(target), `${parameter}: nothing created`);
  }
  await t.rejects(putObjects(null as never), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'options' });
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
    t.same(names.filter((f) => f.endsWith('.dgen-partial')), [], 'no .dgen-partial file');
    t.notOk(names.includes('dgen-manifest.json'), 'no manifest for a run that was rejected');
    t.ok(names.filter((f) => f.startsWith('obj-')).length < 64, 'the run stopped');
  });
}
